"""Argo's own configuration: the controller's Strict template referencing (the shipped patch,
and on a live cluster) and the Argo Server acting with each client's own token
(--auth-mode=client, on a live cluster)."""

from __future__ import annotations

import json
import subprocess

import pytest
import yaml
from k8s_helpers import K8S, tool

CONTROLLER_PATCH = K8S / "argo-controller" / "workflow-controller-configmap-patch.yaml"


def _restrictions(configmap: dict) -> dict:
    return yaml.safe_load((configmap.get("data") or {}).get("workflowRestrictions") or "{}") or {}


def test_controller_patch_sets_strict_template_referencing() -> None:
    """The patch docs/deployment.md applies to Argo's controller ConfigMap: only Workflows that
    reference a WorkflowTemplate run, so the api's token cannot start a pod spec of its own."""
    patch = yaml.safe_load(CONTROLLER_PATCH.read_text())
    assert (patch["kind"], patch["metadata"]["name"], patch["metadata"]["namespace"]) == (
        "ConfigMap", "workflow-controller-configmap", "argo")
    assert _restrictions(patch)["templateReferencing"] in ("Strict", "Secure")
    guide = (K8S.parent / "docs" / "deployment.md").read_text()
    assert "k8s/argo-controller/workflow-controller-configmap-patch.yaml" in guide


@pytest.mark.on_cluster
def test_controller_runs_only_template_references() -> None:
    done = subprocess.run(
        [tool("kubectl"), "-n", "argo", "get", "configmap", "workflow-controller-configmap",
         "-o", "json"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert _restrictions(json.loads(done.stdout)).get("templateReferencing") in (
        "Strict", "Secure"), "apply k8s/argo-controller/ (docs/deployment.md, section 5)"


@pytest.mark.on_cluster
def test_argo_server_runs_in_client_auth_mode() -> None:
    """Any other mode (`server`) would run the api's requests with the server's own, wider
    ServiceAccount instead of the api's token bounded by Role detector-api."""
    done = subprocess.run(
        [tool("kubectl"), "-n", "argo", "get", "deployment", "argo-server", "-o", "json"],
        capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    (server,) = [c for c in json.loads(done.stdout)["spec"]["template"]["spec"]["containers"]
                 if c["name"] == "argo-server"]
    args = server.get("args", [])
    modes = [a.split("=", 1)[1] for a in args if a.startswith("--auth-mode=")]
    modes += [args[i + 1] for i, a in enumerate(args[:-1]) if a == "--auth-mode"]
    assert modes, "set --auth-mode=client explicitly (docs/deployment.md, section 5)"
    assert all(set(m.split(",")) <= {"client", "sso"} for m in modes), modes
