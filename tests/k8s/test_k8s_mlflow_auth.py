"""MLflow authentication: who holds which registry identity in the rendered overlays."""

from __future__ import annotations

import configparser
from typing import Any

from k8s_helpers import named, of_kind

SCORER, TRAINER, ADMIN = "detector-mlflow-scorer", "detector-mlflow-trainer", "mlflow-admin"


def _secret_names(containers: list[dict[str, Any]]) -> set[str]:
    return {e["valueFrom"]["secretKeyRef"]["name"] for c in containers
            for e in c.get("env", []) if "secretKeyRef" in e.get("valueFrom", {})}


def _argo_step_secrets(docs, name: str) -> set[str]:
    (doc,) = [d for d in docs if d["kind"] == "WorkflowTemplate"
              and d["metadata"]["name"] == name]
    spec = doc["spec"]["workflowSpec"] if doc["kind"] == "CronWorkflow" else doc["spec"]
    bodies = [t.get("script") or t.get("container") for t in spec["templates"]]
    return _secret_names([b for b in bodies if b])


def test_mlflow_requires_a_user_and_grants_nothing_by_default(docs):
    pod = named(docs, "Deployment", "mlflow")["spec"]["template"]["spec"]
    (mlflow,) = pod["containers"]
    args = mlflow["args"]
    assert args[args.index("--app-name") + 1] == "basic-auth"
    env = {e["name"]: e for e in mlflow["env"]}
    assert env["MLFLOW_AUTH_ADMIN_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == ADMIN
    ini = configparser.ConfigParser()
    ini.read_string(named(docs, "ConfigMap", "mlflow-auth")["data"]["basic_auth.ini"])
    assert ini["mlflow"]["default_permission"] == "NO_PERMISSIONS"
    assert "admin_password" not in ini["mlflow"]
    mount = {m["name"]: m["mountPath"] for m in mlflow["volumeMounts"]}["auth"]
    assert env["MLFLOW_AUTH_CONFIG_PATH"]["value"] == f"{mount}/basic_auth.ini"


def test_scoring_reads_and_only_training_writes(docs):
    """api, inference and the detect/rescan steps are `scorer`; only train's steps are
    `trainer`; the admin password reaches MLflow and the api's init container only."""
    for name in ("api", "inference"):
        pod = named(docs, "Deployment", name)["spec"]["template"]["spec"]
        assert SCORER in _secret_names(pod["containers"]), name
        assert not {TRAINER, ADMIN} & _secret_names(pod["containers"]), name
    assert _argo_step_secrets(docs, "detect") >= {SCORER}
    assert _argo_step_secrets(docs, "rescan") >= {SCORER}
    assert _argo_step_secrets(docs, "train") >= {TRAINER}
    for name in ("detect", "rescan"):
        assert not {TRAINER, ADMIN} & _argo_step_secrets(docs, name), name
    assert ADMIN not in _argo_step_secrets(docs, "train")
    holders = set()
    for workload in of_kind(docs, "Deployment") + of_kind(docs, "StatefulSet"):
        spec = workload["spec"]["template"]["spec"]
        for c in spec.get("initContainers", []) + spec["containers"]:
            if ADMIN in _secret_names([c]):
                holders.add((workload["metadata"]["name"], c["name"]))
    assert holders == {("mlflow", "mlflow"), ("api", "registry-bootstrap")}
