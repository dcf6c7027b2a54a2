"""The Argo manifests (k8s/argo, rendered from workflows/) as the overlays ship them: Argo's own
schema, the overlay's image, and every account, claim, ConfigMap and Secret they name."""

from __future__ import annotations

import subprocess
from pathlib import Path

import jsonschema
import pytest
from k8s_helpers import K8S, named, tool

from workflows import argo_schema

ARGO_KINDS = {
    ("WorkflowTemplate", "detect"), ("WorkflowTemplate", "train"), ("WorkflowTemplate", "rescan"),
    ("CronWorkflow", "rescan"),
}


def _argo(docs: list[dict]) -> list[dict]:
    return [d for d in docs if d["apiVersion"].startswith("argoproj.io/")]


def _spec(doc: dict) -> dict:
    return doc["spec"]["workflowSpec"] if doc["kind"] == "CronWorkflow" else doc["spec"]


def _templates(docs: list[dict]) -> list[dict]:
    """The WorkflowTemplates: every pod the workflows run is defined in one of them."""
    return [d for d in _argo(docs) if d["kind"] == "WorkflowTemplate"]


def test_cron_workflows_only_reference_a_shipped_template(docs):
    """Under the controller's templateReferencing: Strict, a CronWorkflow with an inline
    workflowSpec would never run: its workflows reference a WorkflowTemplate, with arguments."""
    names = {d["metadata"]["name"] for d in _templates(docs)}
    crons = [d for d in _argo(docs) if d["kind"] == "CronWorkflow"]
    assert crons
    for cron in crons:
        spec = _spec(cron)
        assert set(spec) <= {"workflowTemplateRef", "arguments"}, cron["metadata"]["name"]
        assert spec["workflowTemplateRef"]["name"] in names


@pytest.fixture(scope="module")
def schema() -> dict:
    return argo_schema.load("schema")


def test_overlay_ships_the_argo_templates(docs):
    assert {(d["kind"], d["metadata"]["name"]) for d in _argo(docs)} == ARGO_KINDS


def test_argo_documents_valid_against_argo_schema(docs, schema):
    for doc in _argo(docs):
        validator = jsonschema.Draft202012Validator(
            {"definitions": schema["definitions"],
             "$ref": f"#/definitions/io.argoproj.workflow.v1alpha1.{doc['kind']}"})
        errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.path))
        assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:10])


def test_steps_run_the_overlays_image(docs):
    app = {c["image"] for c in named(docs, "Deployment", "api")["spec"]["template"]["spec"][
        "containers"]}
    for doc in _templates(docs):
        images = {t["script"]["image"] for t in _spec(doc)["templates"] if "script" in t}
        assert images == app, doc["metadata"]["name"]


def test_references_resolve(docs):
    accounts = {d["metadata"]["name"] for d in docs if d["kind"] == "ServiceAccount"}
    claims = {d["metadata"]["name"] for d in docs if d["kind"] == "PersistentVolumeClaim"}
    sources = {(d["kind"], d["metadata"]["name"]) for d in docs
               if d["kind"] in ("ConfigMap", "Secret")}
    for doc in _templates(docs):
        spec = _spec(doc)
        assert doc["metadata"]["namespace"] == "deepfake-detector"
        assert spec["serviceAccountName"] in accounts
        for volume in spec["volumes"]:
            if "persistentVolumeClaim" in volume:
                assert volume["persistentVolumeClaim"]["claimName"] in claims
        for t in spec["templates"]:
            for source in t.get("script", {}).get("envFrom", []):
                if "configMapRef" in source:
                    assert ("ConfigMap", source["configMapRef"]["name"]) in sources
                if "secretRef" in source:
                    assert ("Secret", source["secretRef"]["name"]) in sources


@pytest.mark.on_cluster
def test_cluster_accepts_the_workflow_template():
    """Server-side dry run against the CRDs of the cluster in the current kube context (Argo
    installed, namespace deepfake-detector present); changes nothing there."""
    for name in ("detect-workflowtemplate.yaml", "rescan-workflowtemplate.yaml",
                 "rescan-cronworkflow.yaml"):
        done = subprocess.run(
            [tool("kubectl"), "apply", "--dry-run=server", "-f", str(Path(K8S / "argo" / name))],
            capture_output=True, text=True, timeout=60,
        )
        assert done.returncode == 0, done.stderr
