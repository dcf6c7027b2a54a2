"""k8s/argo/ is what the Hera code renders (snapshot), and every manifest passes Argo's schema."""

from __future__ import annotations

import jsonschema
import pytest
import yaml

from workflows import argo_schema, render

KINDS = {"detect-workflowtemplate.yaml": "WorkflowTemplate",
         "rescan-workflowtemplate.yaml": "WorkflowTemplate",
         "rescan-cronworkflow.yaml": "CronWorkflow"}


@pytest.fixture(scope="module")
def rendered() -> dict[str, str]:
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("DETECTOR_IMAGE", raising=False)
        mp.delenv("RESCAN_SCHEDULE", raising=False)
        return render.render()


@pytest.fixture(scope="module")
def schema() -> dict:
    return argo_schema.load("schema")


def test_committed_manifests_are_the_rendered_ones(rendered):
    """Fails when workflows/ changed without `make manifests` (or k8s/argo/ was hand-edited)."""
    for name, text in rendered.items():
        path = render.OUT_DIR / name
        assert path.exists(), f"{path} missing: run `make manifests`"
        assert path.read_text() == text, f"{path} is stale: run `make manifests`"
    committed = {p.name for p in render.OUT_DIR.iterdir()}
    assert committed == set(rendered), "files in k8s/argo/ that workflows/render.py does not write"


def test_every_file_says_it_is_generated(rendered):
    for text in rendered.values():
        assert text.startswith("# Generated from workflows/ by `make manifests`")


@pytest.mark.parametrize("name,kind", sorted(KINDS.items()))
def test_manifest_valid_against_argo_schema(rendered, schema, name, kind):
    doc = yaml.safe_load(rendered[name])
    assert doc["kind"] == kind and doc["apiVersion"] == "argoproj.io/v1alpha1"
    validator = jsonschema.Draft202012Validator(
        {"definitions": schema["definitions"],
         "$ref": f"#/definitions/io.argoproj.workflow.v1alpha1.{kind}"})
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)
    assert doc["metadata"]["namespace"] == "deepfake-detector"
    if kind == "CronWorkflow":  # Strict template referencing: only a reference + arguments
        assert doc["spec"]["workflowSpec"]["workflowTemplateRef"] == {"name": "rescan"}
        assert set(doc["spec"]["workflowSpec"]) == {"workflowTemplateRef", "arguments"}
        return
    spec = doc["spec"]
    assert spec["podGC"] == {"strategy": "OnPodSuccess", "deleteDelayDuration": "10m"}
    assert spec["ttlStrategy"] == {"secondsAfterCompletion": 86400,
                                   "secondsAfterSuccess": 3600, "secondsAfterFailure": 604800}
    assert spec["archiveLogs"] is True and spec["serviceAccountName"] == "detector-workflow"
    assert doc["metadata"]["namespace"] == "deepfake-detector"


def test_kustomization_lists_every_manifest(rendered):
    kustomization = yaml.safe_load(rendered["kustomization.yaml"])
    assert kustomization["kind"] == "Component"
    assert kustomization["resources"] == list(render.MANIFESTS)


def test_check_flag(tmp_path, capsys):
    assert render.main(["--check", "--out", str(tmp_path)]) == 1
    assert render.main(["--out", str(tmp_path)]) == 0
    assert render.main(["--check", "--out", str(tmp_path)]) == 0
    (tmp_path / "rescan-cronworkflow.yaml").write_text("# edited by hand\n")
    assert render.main(["--check", "--out", str(tmp_path)]) == 1
    assert "rescan-cronworkflow.yaml" in capsys.readouterr().out
