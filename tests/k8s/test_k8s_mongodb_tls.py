"""TLS to MongoDB: mongod requires it, every client trusts the private CA, the cert is sound."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import yaml
from k8s_helpers import K8S, containers, named, pod_specs

CA_SECRET = "detector-mongo-ca"
CA_MOUNT = "/etc/detector-mongo-ca"
CA_FILE = f"{CA_MOUNT}/ca.pem"
NAMESPACE = "deepfake-detector"
SERVER_NAMES = {
    "mongodb-0.mongodb", f"mongodb-0.mongodb.{NAMESPACE}.svc.cluster.local",
    "mongodb", f"mongodb.{NAMESPACE}.svc.cluster.local", "localhost",
}
MONGO_SECRETS = {"detector-mongo", "detector-mongo-api", "detector-mongo-inference"}


def _option(args: list[str], flag: str) -> str | None:
    return args[args.index(flag) + 1] if flag in args else None


def test_mongod_requires_tls_with_the_mounted_certificate(docs):
    pod = named(docs, "StatefulSet", "mongodb")["spec"]["template"]["spec"]
    mongod = next(c for c in pod["containers"] if c["name"] == "mongodb")
    args = mongod.get("command", []) + mongod.get("args", [])
    assert _option(args, "--tlsMode") == "requireTLS"
    assert _option(args, "--tlsCertificateKeyFile") == "/etc/mongodb-tls/server.pem"
    assert _option(args, "--tlsCAFile") == "/etc/mongodb-tls/ca.pem"
    mounts = {m["name"]: m for m in mongod["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    tls = [n for n, v in volumes.items() if v.get("secret", {}).get("secretName") == "mongodb-tls"]
    assert len(tls) == 1
    assert mounts[tls[0]]["mountPath"] == "/etc/mongodb-tls"
    assert mounts[tls[0]].get("readOnly") is True
    # The probe that talks to mongod (mongosh) speaks TLS too.
    probe = mongod["readinessProbe"]["exec"]["command"]
    assert "--tls" in probe
    assert _option(probe, "--tlsCAFile") == "/etc/mongodb-tls/ca.pem"


def _uses_mongo(container: dict[str, Any]) -> bool:
    if any(e["name"] == "MONGO_URI" for e in container.get("env", [])):
        return True
    return any(f.get("secretRef", {}).get("name") in MONGO_SECRETS
               for f in container.get("envFrom", []))


def _clients(docs: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any], list[dict]]]:
    """(where, container, pod volumes) of every container, workloads and Argo templates."""
    found = []
    for where, pod in pod_specs(docs):
        for c in containers(pod):
            found.append((f"{where}/{c['name']}", c, pod["spec"].get("volumes", [])))
    for doc in docs:
        if doc["kind"] not in {"WorkflowTemplate", "Workflow", "CronWorkflow"}:
            continue
        spec = doc["spec"]
        spec = spec.get("workflowSpec", spec)
        for template in spec.get("templates", []):
            for key in ("script", "container"):
                if key in template:
                    found.append((f"{doc['kind']}/{doc['metadata']['name']}/{template['name']}",
                                  template[key], spec.get("volumes", [])))
    return found


def test_every_mongodb_client_mounts_the_ca(docs):
    clients = [(w, c, v) for w, c, v in _clients(docs) if _uses_mongo(c)]
    where = {w.split("/")[0] + "/" + w.split("/")[1] for w, _, _ in clients}
    assert {"Deployment/api", "Deployment/inference", "WorkflowTemplate/detect"} <= where
    for name, container, volumes in clients:
        ca = {v["name"] for v in volumes if v.get("secret", {}).get("secretName") == CA_SECRET}
        mounts = [m for m in container.get("volumeMounts", []) if m["name"] in ca]
        assert [(m["mountPath"], m.get("readOnly")) for m in mounts] == [(CA_MOUNT, True)], name


def test_make_secrets_uris_require_tls_with_the_ca(k8s_copy: Path):
    uris = sorted((k8s_copy / "secrets").glob("mongo-uri-*"))
    assert len(uris) == 3
    for path in uris:
        query = parse_qs(urlsplit(path.read_text()).query)
        assert query.get("tls") == ["true"], path.name
        assert query.get("tlsCAFile") == [CA_FILE], path.name


def test_server_certificate_is_signed_by_the_ca_for_the_service_names(k8s_copy: Path):
    secrets = k8s_copy / "secrets"
    ca, server = secrets / "mongodb-ca.pem", secrets / "mongodb-server.pem"
    assert "PRIVATE KEY" not in ca.read_text()  # the clients' file: the certificate alone
    assert "PRIVATE KEY" in server.read_text()  # mongod's: key + certificate
    subprocess.run(["openssl", "verify", "-purpose", "sslserver", "-CAfile", str(ca),
                    str(server)], check=True, capture_output=True)
    text = subprocess.run(["openssl", "x509", "-in", str(server), "-noout", "-ext",
                           "subjectAltName"], check=True, capture_output=True, text=True).stdout
    names = {n.strip().removeprefix("DNS:") for n in text.splitlines()[-1].split(",")}
    assert SERVER_NAMES <= names


def test_tls_secrets_come_from_the_certificate_files():
    component = yaml.safe_load((K8S / "secrets" / "kustomization.yaml").read_text())
    files = {g["name"]: set(g["files"]) for g in component["secretGenerator"]}
    assert files["mongodb-tls"] == {"server.pem=mongodb-server.pem", "ca.pem=mongodb-ca.pem"}
    assert files[CA_SECRET] == {"ca.pem=mongodb-ca.pem"}
