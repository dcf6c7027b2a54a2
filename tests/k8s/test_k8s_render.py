"""Each overlay builds with kubectl kustomize and every resource validates strictly, offline."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from k8s_helpers import containers, named, of_kind, pod_specs

# The oldest Kubernetes we support (autoscaling/v2 ContainerResource is GA there) and the newest
# schema kubernetes-validate ships.
KUBERNETES_VERSIONS = ("1.30.0", "1.37.0")
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "PersistentVolume"}
APP_IMAGE = "deepfake-detector"


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_document_validates_strictly(render, overlay, docs, tmp_path: Path, version: str):
    manifest = tmp_path / f"{overlay}.yaml"
    manifest.write_text(render(overlay))
    done = subprocess.run(
        [sys.executable, "-m", "kubernetes_validate", "--strict", "-k", version, str(manifest)],
        capture_output=True, text=True, timeout=300,
    )
    lines = done.stdout.splitlines()
    # Argo's kinds have no Kubernetes schema (a WARN): tests/k8s/test_k8s_argo.py validates them
    # against Argo's own schema.
    problems = [line for line in lines if not line.startswith("INFO") and not _argo_warning(line)]
    assert done.returncode == 0 and not problems, "\n".join(problems) + done.stderr
    # A kind without a schema is only a WARN: count that every other document really passed.
    argo = [d for d in docs if d["apiVersion"].startswith("argoproj.io/")]
    assert sum(" passed for resource " in line for line in lines) == len(docs) - len(argo)


def _argo_warning(line: str) -> bool:
    return line.startswith("WARN") and "with api version argoproj.io/v1alpha1" in line


def test_parts_are_all_there(docs):
    kinds = {(d["kind"], d["metadata"]["name"]) for d in docs}
    for expected in [
        ("Namespace", "deepfake-detector"),
        ("ConfigMap", "detector-config"),
        ("Deployment", "api"), ("Service", "api"), ("HorizontalPodAutoscaler", "api"),
        ("Ingress", "api"),
        ("Deployment", "inference"), ("Service", "inference"),
        ("HorizontalPodAutoscaler", "inference"),
        ("StatefulSet", "mongodb"), ("Service", "mongodb"),
        ("Deployment", "mlflow"), ("Service", "mlflow"), ("PersistentVolumeClaim", "mlflow-data"),
        ("PersistentVolumeClaim", "detector-media"), ("PersistentVolumeClaim", "detector-scratch"),
        ("ServiceAccount", "detector-api"), ("ServiceAccount", "detector-workflow"),
        ("NetworkPolicy", "default-deny"),
    ]:
        assert expected in kinds


def test_everything_lives_in_the_namespace(docs):
    for d in docs:
        if d["kind"] not in CLUSTER_SCOPED:
            assert d["metadata"].get("namespace") == "deepfake-detector", d["metadata"]["name"]
    assert not of_kind(docs, "ClusterRole") and not of_kind(docs, "ClusterRoleBinding")


def test_one_image_runs_every_part(docs, overlay):
    images = {c["image"] for _, pod in pod_specs(docs) for c in containers(pod)}
    ours = {i for i in images if APP_IMAGE in i}
    assert len(ours) == 1
    image = ours.pop()
    if overlay == "dev":
        assert image == f"{APP_IMAGE}:0.1.0-dev"
    else:
        # Pinned: a version tag or a digest, never a moving tag.
        name, _, tag = image.rpartition(":")
        assert "@sha256:" in image or (name and tag[0].isdigit()), image
    assert all(":" in i and not i.endswith(":latest") for i in images), images
    assert "mongo:7.0.14" in images
    # The workflow pods the api submits run that same image (DETECTOR_IMAGE in the ConfigMap).
    config = named(docs, "ConfigMap", "detector-config")
    assert config["data"]["DETECTOR_IMAGE"] == image


def test_commands_of_each_part(docs):
    def args(kind: str, name: str) -> dict[str, list[str]]:
        pod = named(docs, kind, name)["spec"]["template"]
        return {c["name"]: c.get("command", []) + c.get("args", []) for c in containers(pod)}

    assert args("Deployment", "api")["api"][0] == "serve-api"
    inference = args("Deployment", "inference")
    assert inference["inference"][0] == "inference-server"
    assert inference["metrics"][0] == "metrics-sidecar"
    mlflow = args("Deployment", "mlflow")["mlflow"]
    assert mlflow[:2] == ["mlflow", "server"]
    for flag, value in [
        ("--backend-store-uri", "sqlite:////mlflow/mlflow.db"),
        ("--artifacts-destination", "/mlflow/artifacts"),
        ("--host", "0.0.0.0"),
        ("--port", "5000"),
    ]:
        assert mlflow[mlflow.index(flag) + 1] == value
    assert "--serve-artifacts" in mlflow
    # MLflow 3 checks the Host header: the name clients use must be allowed.
    assert "mlflow:5000" in mlflow[mlflow.index("--allowed-hosts") + 1].split(",")
    metrics = named(docs, "Deployment", "inference")["spec"]["template"]["spec"]["containers"][1]
    env = {e["name"]: e.get("value") for e in metrics["env"]}
    assert env["METRICS_URL"] == "http://localhost:8001/metrics"


def _service_port(docs, host: str, port: int) -> dict[str, Any]:
    service = named(docs, "Service", host.split(".")[0])
    assert port in [p["port"] for p in service["spec"]["ports"]], (host, port)
    return service


def test_configmap_endpoints_point_at_services(docs):
    data = named(docs, "ConfigMap", "detector-config")["data"]
    assert data["MLFLOW_TRACKING_URI"] == "http://mlflow:5000"
    assert data["INFERENCE_URL"] == "http://inference:8001"
    assert data["ARGO_SERVER"] == "https://argo-server.argo:2746"
    assert data["ARGO_NAMESPACE"] == "deepfake-detector"
    assert data["MEDIA_ROOT"] == "/mnt/media"
    for key in ("MLFLOW_TRACKING_URI", "INFERENCE_URL"):
        url = urlsplit(data[key])
        _service_port(docs, url.hostname, url.port)


def test_mongo_uri_names_the_statefulset_pod(k8s_copy):
    from pymongo.uri_parser import parse_uri

    users = set()
    secrets = k8s_copy / "secrets"
    for component in ("api", "inference", "workflow"):
        # pymongo opens tlsCAFile: the pods' mount path, here the file it is made from.
        uri = (secrets / f"mongo-uri-{component}").read_text().replace(
            "/etc/detector-mongo-ca/ca.pem", str(secrets / "mongodb-ca.pem"))
        parsed = parse_uri(uri)
        assert parsed["nodelist"] == [("mongodb-0.mongodb", 27017)]
        assert parsed["options"]["tls"] is True
        assert parsed["username"] == (secrets / f"mongo-{component}-username").read_text()
        assert parsed["password"] == (secrets / f"mongo-{component}-password").read_text()
        assert parsed["options"]["authSource"] == "admin"
        users.add(parsed["username"])
    assert len(users) == 3


def test_references_resolve(docs):
    """Every ConfigMap, Secret, key, claim and ServiceAccount a pod names is in the overlay."""
    data = {
        (d["kind"], d["metadata"]["name"]): set(d.get("data", {}))
        for d in docs if d["kind"] in ("ConfigMap", "Secret")
    }
    claims = {d["metadata"]["name"] for d in of_kind(docs, "PersistentVolumeClaim")}
    accounts = {d["metadata"]["name"] for d in of_kind(docs, "ServiceAccount")}
    for where, pod in pod_specs(docs):
        spec = pod["spec"]
        assert spec.get("serviceAccountName") in accounts, where
        templates = {t["metadata"]["name"] for t in named_claim_templates(docs, where)}
        for volume in spec.get("volumes", []):
            if "persistentVolumeClaim" in volume:
                assert volume["persistentVolumeClaim"]["claimName"] in claims, where
            if "configMap" in volume:
                assert ("ConfigMap", volume["configMap"]["name"]) in data, where
        names = {v["name"] for v in spec.get("volumes", [])} | templates
        for c in containers(pod):
            for mount in c.get("volumeMounts", []):
                assert mount["name"] in names, (where, mount)
            for source in c.get("envFrom", []):
                for kind, ref in (("ConfigMap", "configMapRef"), ("Secret", "secretRef")):
                    if ref in source:
                        assert (kind, source[ref]["name"]) in data, where
            for env in c.get("env", []):
                for kind, ref in (("ConfigMap", "configMapKeyRef"), ("Secret", "secretKeyRef")):
                    key_ref = env.get("valueFrom", {}).get(ref)
                    if key_ref:
                        assert key_ref["key"] in data[(kind, key_ref["name"])], (where, env)


def named_claim_templates(docs, where: str) -> list[dict[str, Any]]:
    kind, name = where.split("/")
    return named(docs, kind, name)["spec"].get("volumeClaimTemplates", [])


def test_services_select_a_workload_and_its_port(docs):
    pods = [pod for _, pod in pod_specs(docs)]
    for service in of_kind(docs, "Service"):
        selector = service["spec"]["selector"]
        matching = [p for p in pods if selector.items() <= p["metadata"]["labels"].items()]
        assert matching, service["metadata"]["name"]
        port_names = {p.get("name") for c in containers(matching[0]) for p in c.get("ports", [])}
        for port in service["spec"]["ports"]:
            assert port["targetPort"] in port_names, service["metadata"]["name"]


def test_hpa_targets(docs, overlay):
    hpas = {h["metadata"]["name"]: h for h in of_kind(docs, "HorizontalPodAutoscaler")}
    assert set(hpas) == {"api", "inference"}
    for name, hpa in hpas.items():
        spec = hpa["spec"]
        target = spec["scaleTargetRef"]
        assert (target["apiVersion"], target["kind"], target["name"]) == (
            "apps/v1", "Deployment", name)
        deployment = named(docs, "Deployment", name)
        assert 1 <= spec["minReplicas"] <= spec["maxReplicas"]
        # The Deployment starts at the HPA's floor, so an apply does not fight the HPA.
        assert deployment["spec"]["replicas"] == spec["minReplicas"]
        (metric,) = spec["metrics"]
        source = metric.get("resource") or metric["containerResource"]
        assert source["name"] == "cpu"
        assert source["target"] == {"type": "Utilization", "averageUtilization": 70}
        # Utilization is a share of the requests: the scaled container must request CPU.
        pod = deployment["spec"]["template"]
        scaled = [c for c in containers(pod)
                  if metric["type"] == "Resource" or c["name"] == source.get("container")]
        assert scaled and all("cpu" in c["resources"]["requests"] for c in scaled)
        if overlay == "dev":
            assert spec["minReplicas"] == 1 and deployment["spec"]["replicas"] == 1
        else:
            assert spec["minReplicas"] >= 3 and spec["maxReplicas"] > spec["minReplicas"]
    inference = hpas["inference"]["spec"]["metrics"][0]
    assert inference["type"] == "ContainerResource"
    assert inference["containerResource"]["container"] == "inference"


def test_ingress_enforces_tls(docs):
    ingresses = of_kind(docs, "Ingress")
    assert {i["metadata"]["name"] for i in ingresses} == {"api", "api-metrics-deny"}
    for ingress in ingresses:
        annotations = ingress["metadata"]["annotations"]
        assert annotations["nginx.ingress.kubernetes.io/ssl-redirect"] == "true"
        assert annotations["nginx.ingress.kubernetes.io/force-ssl-redirect"] == "true"
        spec = ingress["spec"]
        assert spec["ingressClassName"] == "nginx"
        tls_hosts = {h for t in spec["tls"] for h in t["hosts"]}
        assert all(t["secretName"] for t in spec["tls"])
        for rule in spec["rules"]:
            assert rule["host"] in tls_hosts
            for path in rule["http"]["paths"]:
                backend = path["backend"]["service"]
                service = named(docs, "Service", backend["name"])
                assert backend["port"]["name"] in [p["name"] for p in service["spec"]["ports"]]


def test_metrics_are_not_served_through_the_ingress(docs):
    """`/metrics` (exact) goes to an Ingress that admits only 127.0.0.1: 403 from outside."""
    deny = named(docs, "Ingress", "api-metrics-deny")
    assert deny["metadata"]["annotations"][
        "nginx.ingress.kubernetes.io/whitelist-source-range"] == "127.0.0.1/32"
    (path,) = deny["spec"]["rules"][0]["http"]["paths"]
    assert (path["path"], path["pathType"]) == ("/metrics", "Exact")
    hosts = {i["spec"]["rules"][0]["host"] for i in of_kind(docs, "Ingress")}
    assert len(hosts) == 1  # the same host as Ingress api


def test_only_dev_exposes_a_plain_http_load_balancer(docs, overlay):
    types = {s["metadata"]["name"]: s["spec"].get("type", "ClusterIP")
             for s in of_kind(docs, "Service")}
    expected = "LoadBalancer" if overlay == "dev" else "ClusterIP"
    assert types.pop("api") == expected
    assert set(types.values()) <= {"ClusterIP"}


def test_volumes_for_media_scratch_and_models(docs):
    for name in ("detector-media", "detector-scratch"):
        claim = named(docs, "PersistentVolumeClaim", name)
        assert claim["spec"]["accessModes"] == ["ReadWriteMany"]
    api = named(docs, "Deployment", "api")["spec"]["template"]["spec"]
    (mount,) = [m for m in api["containers"][0]["volumeMounts"] if m["mountPath"] == "/mnt/media"]
    (volume,) = [v for v in api["volumes"] if v["name"] == mount["name"]]
    assert volume["persistentVolumeClaim"]["claimName"] == "detector-media"
    inference = named(docs, "Deployment", "inference")["spec"]["template"]["spec"]
    assert "emptyDir" in [v for v in inference["volumes"] if v["name"] == "model-cache"][0]
    mlflow = named(docs, "Deployment", "mlflow")["spec"]["template"]["spec"]
    assert mlflow["volumes"][0]["persistentVolumeClaim"]["claimName"] == "mlflow-data"
    assert named(docs, "Deployment", "mlflow")["spec"]["strategy"]["type"] == "Recreate"
    mongodb = named(docs, "StatefulSet", "mongodb")["spec"]
    assert mongodb["serviceName"] == "mongodb"
    assert named(docs, "Service", "mongodb")["spec"]["clusterIP"] == "None"
    assert mongodb["volumeClaimTemplates"][0]["metadata"]["name"] == "data"
