"""Secure defaults: pod and container security contexts, probes, network policies, RBAC."""

from __future__ import annotations

import ipaddress
import re
from typing import Any

import pytest
from k8s_helpers import K8S, containers, named, of_kind, pod_specs

RESTRICTED_CONTAINER = {
    "runAsNonRoot": True,
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}
# Long-running servers and their probe paths; the metrics sidecar serves no port.
HTTP_PROBES = {
    ("Deployment/api", "api"): (8000, "/healthz", "/readyz"),
    ("Deployment/inference", "inference"): (8001, "/healthz", "/readyz"),
    ("Deployment/mlflow", "mlflow"): (5000, "/health", "/health"),
}


def test_every_container_runs_restricted(docs):
    seen = 0
    for where, pod in pod_specs(docs):
        spec = pod["spec"]
        assert spec["securityContext"]["runAsNonRoot"] is True, where
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, where
        assert spec["securityContext"].get("runAsUser", 0) > 0, where
        for key in ("hostNetwork", "hostPID", "hostIPC"):
            assert not spec.get(key), where
        assert not [v for v in spec.get("volumes", []) if "hostPath" in v], where
        for c in containers(pod):
            context = c["securityContext"]
            for key, value in RESTRICTED_CONTAINER.items():
                assert context.get(key) == value, (where, c["name"], key)
            assert not context.get("privileged"), (where, c["name"])
            seen += 1
    assert seen >= 5


def test_read_only_root_has_a_writable_tmp(docs):
    for where, pod in pod_specs(docs):
        empty_dirs = {v["name"] for v in pod["spec"].get("volumes", []) if "emptyDir" in v}
        for c in containers(pod):
            tmp = [m for m in c.get("volumeMounts", []) if m["mountPath"] == "/tmp"]
            assert tmp and tmp[0]["name"] in empty_dirs, (where, c["name"])


def test_service_accounts_mount_no_token_unless_needed(docs):
    accounts = {a["metadata"]["name"]: a for a in of_kind(docs, "ServiceAccount")}
    # No pod gets a token by default; Argo's executor gets its own explicitly (test_k8s_argo).
    for name, account in accounts.items():
        assert account["automountServiceAccountToken"] is False, name
    for where, pod in pod_specs(docs):
        assert pod["spec"]["automountServiceAccountToken"] is False, where


def test_resources_requested_and_limited(docs):
    for where, pod in pod_specs(docs):
        for c in containers(pod):
            resources = c["resources"]
            for bound in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(resources[bound]), (where, c["name"], bound)


def test_probes(docs):
    pods = dict(pod_specs(docs))
    for (where, name), (port, live, ready) in HTTP_PROBES.items():
        (c,) = [c for c in containers(pods[where]) if c["name"] == name]
        ports = {p["name"]: p["containerPort"] for p in c["ports"]}
        for probe, path in (("startupProbe", live), ("livenessProbe", live),
                            ("readinessProbe", ready)):
            get = c[probe]["httpGet"]
            assert (get["path"], ports[get["port"]]) == (path, port), (where, probe)
        # Liveness never gives up faster than readiness, and startup covers a slow first start.
        live_s = c["livenessProbe"]["periodSeconds"] * c["livenessProbe"]["failureThreshold"]
        ready_s = c["readinessProbe"]["periodSeconds"] * c["readinessProbe"]["failureThreshold"]
        start_s = c["startupProbe"]["periodSeconds"] * c["startupProbe"]["failureThreshold"]
        assert live_s >= ready_s and start_s >= 120, where
    (mongodb,) = containers(pods["StatefulSet/mongodb"])
    assert {"startupProbe", "livenessProbe", "readinessProbe"} <= set(mongodb)


def test_probes_carry_a_comment_on_their_thresholds():
    for path in sorted((K8S / "base").rglob("*.yaml")):
        lines = path.read_text().splitlines()
        for i, line in enumerate(lines):
            if re.match(r"\s+(liveness|readiness|startup)Probe:", line):
                assert lines[i - 1].strip().startswith("#"), f"{path.name}:{i + 1}"


# --- NetworkPolicies: a small evaluator of the rendered policies -------------------------------

def _matches(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    if selector is None:
        return True
    if not selector.get("matchLabels", {}).items() <= labels.items():
        return False
    for expression in selector.get("matchExpressions", []):
        key, operator = expression["key"], expression["operator"]
        values = expression.get("values", [])
        if not {
            "Exists": key in labels,
            "DoesNotExist": key not in labels,
            "In": labels.get(key) in values,
            "NotIn": labels.get(key) not in values,
        }[operator]:
            return False
    return True


def _peer_allows(peer: dict[str, Any], other: dict[str, Any]) -> bool:
    if "ipBlock" in peer:
        if "ip" not in other:
            return False
        address = ipaddress.ip_address(other["ip"])
        block = peer["ipBlock"]
        return address in ipaddress.ip_network(block["cidr"]) and not any(
            address in ipaddress.ip_network(e) for e in block.get("except", []))
    if "namespaceSelector" in peer:
        if not _matches(peer["namespaceSelector"],
                        {"kubernetes.io/metadata.name": other["namespace"]}):
            return False
    elif other["namespace"] != "deepfake-detector":
        return False
    return _matches(peer.get("podSelector"), other["labels"])


def _allowed(policies, pod: dict[str, Any], direction: str, other: dict[str, Any], port: int):
    """Whether the policies selecting `pod` let it talk to `other` in `direction`."""
    if pod["namespace"] != "deepfake-detector":
        return True  # not ours to police
    selecting = [p for p in policies if _matches(p["spec"]["podSelector"], pod["labels"])
                 and direction.capitalize() in p["spec"]["policyTypes"]]
    if not selecting:
        return True
    peers_key = "from" if direction == "ingress" else "to"
    for policy in selecting:
        for rule in policy["spec"].get(direction, []):
            ports = [p["port"] for p in rule.get("ports", [])]
            if ports and port not in ports:
                continue
            peers = rule.get(peers_key)
            if not peers or any(_peer_allows(peer, other) for peer in peers):
                return True
    return False


def _pod(name: str, namespace: str = "deepfake-detector", **labels: str) -> dict[str, Any]:
    found = {"namespace": namespace, "labels": {"app.kubernetes.io/name": name, **labels}}
    if namespace == "internet":
        found["ip"] = "203.0.113.7"  # any address outside the cluster (TEST-NET-3)
    return found


PODS = {
    "api": _pod("api"),
    "inference": _pod("inference"),
    "mongodb": _pod("mongodb"),
    "mlflow": _pod("mlflow"),
    "workflow": _pod("detect-step", **{"workflows.argoproj.io/workflow": "detect-x1"}),
    "ingress": _pod("ingress-nginx", namespace="ingress-nginx"),
    "argo-server": {"namespace": "argo", "labels": {"app": "argo-server"}, "external": False},
    "dns": {"namespace": "kube-system", "labels": {"k8s-app": "kube-dns"}, "external": False},
    "internet": _pod("anyone", namespace="internet"),
    "monitoring": {"namespace": "monitoring", "labels": {"app": "prometheus"}},
}
ALLOWED = {
    ("ingress", "api", 8000),
    ("api", "inference", 8001), ("api", "mongodb", 27017), ("api", "mlflow", 5000),
    ("api", "argo-server", 2746),
    ("workflow", "mongodb", 27017), ("workflow", "mlflow", 5000),
    ("inference", "mlflow", 5000), ("inference", "mongodb", 27017),
}
PORTS = {"api": 8000, "inference": 8001, "mongodb": 27017, "mlflow": 5000, "argo-server": 2746,
         "dns": 53, "ingress": 443, "internet": 443, "workflow": 8080, "monitoring": 9090}
API_METRICS_PORT = 9100
# Only the pods that look names up may ask the cluster DNS (MongoDB and MLflow resolve nothing).
DNS_CLIENTS = {"api", "inference", "workflow"}


def _flow(policies, source: str, target: str, port: int) -> bool:
    src, dst = PODS[source], PODS[target]
    return _allowed(policies, src, "egress", dst, port) and _allowed(
        policies, dst, "ingress", src, port)


def test_default_deny_ingress_and_egress(docs):
    policies = of_kind(docs, "NetworkPolicy")
    deny = named(docs, "NetworkPolicy", "default-deny")["spec"]
    assert deny["podSelector"] == {}
    assert sorted(deny["policyTypes"]) == ["Egress", "Ingress"]
    assert not deny.get("ingress") and not deny.get("egress")
    # A pod no other policy selects can do nothing at all.
    stranger = _pod("stranger")
    assert not _allowed(policies, stranger, "ingress", PODS["api"], 80)
    assert not _allowed(policies, stranger, "egress", PODS["internet"], 443)
    assert not _allowed(policies, stranger, "egress", PODS["dns"], 53)


def test_only_the_designed_flows_are_open(docs, overlay):
    policies = of_kind(docs, "NetworkPolicy")
    for source in PODS:
        for target in PODS:
            ours = {PODS[source]["namespace"], PODS[target]["namespace"]}
            if source == target or "deepfake-detector" not in ours:
                continue
            expected = (source, target, PORTS[target]) in ALLOWED or (
                target == "dns" and source in DNS_CLIENTS)
            if overlay == "dev" and (source, target) == ("internet", "api"):
                expected = True  # the dev LoadBalancer (component api-loadbalancer)
            assert _flow(policies, source, target, PORTS[target]) is expected, (source, target)
    # Nobody reaches the model server, MongoDB or MLflow on another port.
    assert not _flow(policies, "api", "mongodb", 5000)


def _ip_blocks(policy: dict[str, Any]) -> list[dict[str, Any]]:
    return [peer["ipBlock"] for rule in policy["spec"].get("egress", [])
            for peer in rule.get("to", []) if "ipBlock" in peer]


def test_no_egress_is_open_to_the_internet(docs):
    """Workflow pods reach the API server's own addresses, never 0.0.0.0/0 (nor any pod)."""
    policies = of_kind(docs, "NetworkPolicy")
    for policy in policies:
        for block in _ip_blocks(policy):
            network = ipaddress.ip_network(block["cidr"])
            assert network.prefixlen >= 12 and not network.is_global, (
                policy["metadata"]["name"], block)
    workflow = named(docs, "NetworkPolicy", "workflow")
    assert _ip_blocks(workflow), "workflow pods must reach the Kubernetes API server"
    wf = PODS["workflow"]
    for port in (443, 6443, 80):
        assert not _allowed(policies, wf, "egress", PODS["internet"], port)
    for block in _ip_blocks(workflow):
        api_server = {"namespace": "elsewhere", "labels": {},
                      "ip": str(ipaddress.ip_network(block["cidr"])[0])}
        assert _allowed(policies, wf, "egress", api_server, 443)
        assert not _allowed(policies, wf, "egress", api_server, 80)
    assert not _allowed(policies, wf, "egress", PODS["inference"], 8001)


def test_api_metrics_only_from_the_monitoring_namespace(docs):
    """/metrics has its own port, open to Prometheus in `monitoring` and nobody else, in every
    overlay (the dev LoadBalancer included)."""
    policies = of_kind(docs, "NetworkPolicy")
    (api,) = [c for c in containers(named(docs, "Deployment", "api")["spec"]["template"])
              if c["name"] == "api"]
    assert {"name": "metrics", "containerPort": API_METRICS_PORT} in api["ports"]
    assert _flow(policies, "monitoring", "api", API_METRICS_PORT)
    for source in PODS:
        if source not in ("monitoring", "api"):
            assert not _flow(policies, source, "api", API_METRICS_PORT), source


# --- RBAC ---------------------------------------------------------------------------------------

def _rules(docs, role: str) -> dict[tuple[str, str], set[str]]:
    granted: dict[tuple[str, str], set[str]] = {}
    for rule in named(docs, "Role", role)["rules"]:
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                granted.setdefault((group, resource), set()).update(rule["verbs"])
    return granted


def test_rbac_grants_what_the_design_needs_and_no_wildcards(docs):
    for role in of_kind(docs, "Role"):
        for rule in role["rules"]:
            for field in ("apiGroups", "resources", "verbs"):
                assert "*" not in rule[field], role["metadata"]["name"]
    # Exactly what each component needs: any added grant fails here.
    assert _rules(docs, "detector-api") == {
        ("argoproj.io", "workflows"): {"create", "get", "list", "watch", "patch", "update"},
        ("argoproj.io", "workflowtemplates"): {"get", "list"},
        ("argoproj.io", "cronworkflows"): {"get"},  # a rescan now: submit-from-resource
        ("", "pods"): {"get", "list", "watch", "delete"},  # retry deletes failed nodes' pods
        ("", "pods/log"): {"get"},
    }
    # Argo's emissary executor reports outputs; nothing on pods, secrets or anything else.
    assert _rules(docs, "detector-workflow") == {
        ("argoproj.io", "workflowtaskresults"): {"create", "patch"}}
    assert {r["metadata"]["name"] for r in of_kind(docs, "Role")} == {
        "detector-api", "detector-workflow"}
    assert not of_kind(docs, "ClusterRole") and not of_kind(docs, "ClusterRoleBinding")
    for binding in of_kind(docs, "RoleBinding"):
        name = binding["metadata"]["name"]
        assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                                      "name": name}
        assert binding["subjects"] == [
            {"kind": "ServiceAccount", "name": name, "namespace": "deepfake-detector"}]
        named(docs, "ServiceAccount", name)


def test_api_acts_on_argo_with_a_short_lived_projected_token(docs):
    """The api's Argo token is a projected ServiceAccount token that expires within the hour
    (the kubelet renews it; the api re-reads ARGO_TOKEN_FILE), not a legacy token Secret."""
    assert not [s for s in of_kind(docs, "Secret")
                if (s.get("metadata", {}).get("annotations") or {}).get(
                    "kubernetes.io/service-account.name") == "detector-api"]
    api = named(docs, "Deployment", "api")["spec"]["template"]["spec"]
    assert api["serviceAccountName"] == "detector-api"
    assert api["automountServiceAccountToken"] is False
    (container,) = [c for c in api["containers"] if c["name"] == "api"]
    env = {e["name"]: e for e in container["env"]}
    assert "ARGO_TOKEN" not in env
    (mount,) = [m for m in container["volumeMounts"] if m["name"] == "argo-token"]
    assert mount.get("readOnly") is True
    (volume,) = [v for v in api["volumes"] if v["name"] == "argo-token"]
    (source,) = volume["projected"]["sources"]
    token = source["serviceAccountToken"]
    assert 600 <= token["expirationSeconds"] <= 3600
    assert "audience" not in token  # the Argo Server hands it to the Kubernetes API
    assert env["ARGO_TOKEN_FILE"]["value"] == f"{mount['mountPath']}/{token['path']}"


@pytest.mark.parametrize("kind", ["Deployment", "StatefulSet"])
def test_no_secret_value_in_plain_env(docs, kind):
    for workload in of_kind(docs, kind):
        for c in containers(workload["spec"]["template"]):
            for env in c.get("env", []):
                if (re.search(r"PASSWORD|SECRET|TOKEN|MONGO_URI", env["name"])
                        and not env["name"].endswith("_FILE")):  # a path, the value in a volume
                    assert "valueFrom" in env, (workload["metadata"]["name"], env["name"])
