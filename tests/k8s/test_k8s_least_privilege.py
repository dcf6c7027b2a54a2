"""Least privilege in the rendered overlays: tokens, pinned images, the executor's secret."""

from __future__ import annotations

import re
from typing import Any

from k8s_helpers import containers, named, of_kind, pod_specs

ARGO_KINDS = ("WorkflowTemplate",)  # CronWorkflow rescan only references WorkflowTemplate rescan
# An exact release (1.2.3, 7.0.14, 0.1.0-dev) or a digest; never `latest`, `7`, `7.0`, `dev`.
PINNED = re.compile(r"(@sha256:[0-9a-f]{64}$)|(:\d+\.\d+\.\d+([-+.][0-9A-Za-z.-]+)?$)")


def _workflow_specs(docs: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for d in docs:
        if d["kind"] in ARGO_KINDS:
            spec = d["spec"]["workflowSpec"] if d["kind"] == "CronWorkflow" else d["spec"]
            found.append((d["metadata"]["name"], spec))
    return found


def test_no_workflow_container_mounts_a_token(docs):
    """The step containers (which decode untrusted media) hold no Kubernetes credential; only
    Argo's executor gets the narrow detector-workflow token."""
    specs = _workflow_specs(docs)
    assert {name for name, _ in specs} == {"detect", "train", "rescan"}
    for name, spec in specs:
        assert spec["automountServiceAccountToken"] is False, name
        assert spec["executor"] == {"serviceAccountName": "detector-workflow"}, name
        for template in spec["templates"]:
            body = template.get("script") or template.get("container") or {}
            mounts = [m["mountPath"] for m in body.get("volumeMounts", [])]
            assert not [m for m in mounts if "serviceaccount" in m], (name, template["name"])
    # Argo finds the executor's token in `<account>.service-account-token`.
    secret = named(docs, "Secret", "detector-workflow.service-account-token")
    assert secret["type"] == "kubernetes.io/service-account-token"
    assert secret["metadata"]["annotations"] == {
        "kubernetes.io/service-account.name": "detector-workflow"}


def test_every_image_is_pinned_to_an_exact_version_or_digest(docs):
    images = {c["image"] for _, pod in pod_specs(docs) for c in containers(pod)}
    for _, spec in _workflow_specs(docs):
        for template in spec["templates"]:
            body = template.get("script") or template.get("container")
            if body:
                images.add(body["image"])
    assert len(images) >= 2
    for image in images:
        assert PINNED.search(image), image
    config = named(docs, "ConfigMap", "detector-config")
    assert PINNED.search(config["data"]["DETECTOR_IMAGE"])


def test_no_service_account_but_the_executors_has_a_long_lived_token(docs):
    tokens = [s for s in of_kind(docs, "Secret")
              if s.get("type") == "kubernetes.io/service-account-token"]
    assert {s["metadata"]["annotations"]["kubernetes.io/service-account.name"]
            for s in tokens} <= {"detector-workflow", "detector-api"}
