"""The detect workflow renders to a manifest Argo's own schema accepts, with the expected shape."""

from __future__ import annotations

import json

import jsonschema
import pytest

from config import Faults
from workflows import argo_schema
from workflows.detect import build_detect_workflow
from workflows.pod import MEDIA_MOUNT, SCRATCH_MOUNT, STEP_RETRIES


@pytest.fixture(scope="module")
def manifest() -> dict:
    return build_detect_workflow(faults=Faults(), namespace="detector").to_dict()


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    schema = argo_schema.load("schema")
    return jsonschema.Draft202012Validator(
        {
            "definitions": schema["definitions"],
            "$ref": "#/definitions/io.argoproj.workflow.v1alpha1.Workflow",
        }
    )


def test_manifest_is_valid_against_argo_schema(manifest, validator):
    errors = sorted(validator.iter_errors(manifest), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)


def test_schema_rejects_a_broken_manifest(manifest, validator):
    broken = json.loads(json.dumps(manifest))
    broken["spec"]["templates"][0]["retryStrategy"]["limit"] = {"not": "a number"}
    broken["spec"]["parallelism"] = "eight"
    assert len(list(validator.iter_errors(broken))) >= 2


def test_workflow_shape(manifest):
    assert manifest["apiVersion"] == "argoproj.io/v1alpha1"
    assert manifest["kind"] == "Workflow"
    assert manifest["metadata"]["generateName"] == "detect-"
    assert manifest["metadata"]["namespace"] == "detector"
    spec = manifest["spec"]
    assert spec["entrypoint"] == "detect"
    assert spec["onExit"] == "exit-handler"
    assert spec["serviceAccountName"] == "detector-workflow"
    assert spec["securityContext"]["runAsUser"] == 10001
    assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert [p["name"] for p in spec["arguments"]["parameters"]] == ["job_id", "media"]
    templates = {t["name"]: t for t in spec["templates"]}
    assert set(templates) == {
        "detect", "detect-one", "exit-handler", "preprocess", "infer", "persist", "cleanup-scratch"
    }

    (fan_out,) = templates["detect"]["dag"]["tasks"]
    assert fan_out["template"] == "detect-one"
    assert fan_out["withParam"] == "{{workflow.parameters.media}}"
    args = {p["name"]: p["value"] for p in fan_out["arguments"]["parameters"]}
    assert args == {
        "job_id": "{{workflow.parameters.job_id}}",
        "media_id": "{{item.media_id}}",
        "modality": "{{item.modality}}",
        "media_path": "{{item.media_path}}",
    }

    tasks = {t["name"]: t for t in templates["detect-one"]["dag"]["tasks"]}
    assert "depends" not in tasks["preprocess"]
    assert tasks["infer"]["depends"] == "preprocess"
    assert tasks["persist"]["depends"] == "infer"
    infer_args = {p["name"]: p["value"] for p in tasks["infer"]["arguments"]["parameters"]}
    assert infer_args["features_path"] == "{{tasks.preprocess.outputs.parameters.features_path}}"

    claims = {
        v["name"]: v.get("persistentVolumeClaim", {}).get("claimName") for v in spec["volumes"]
    }
    assert claims == {"media": "detector-media", "scratch": "detector-scratch", "tmp": None,
                      "mongo-ca": None}
    ca = next(v for v in spec["volumes"] if v["name"] == "mongo-ca")
    assert ca["secret"] == {"secretName": "detector-mongo-ca"}


@pytest.mark.parametrize(
    "name,entrypoint,outputs",
    [
        ("preprocess", "steps.preprocess:preprocess", ["features_path"]),
        ("infer", "steps.infer:infer", ["result_path"]),
        ("persist", "steps.persist:persist", ["media_id"]),
        ("cleanup-scratch", "steps.scratch:cleanup_scratch", []),
    ],
)
def test_step_templates(manifest, name, entrypoint, outputs):
    t = next(t for t in manifest["spec"]["templates"] if t["name"] == name)
    script = t["script"]
    assert script["command"] == ["python"]
    assert script["args"] == ["-m", "hera.workflows.runner", "-e", entrypoint]
    assert script["source"] == "{{inputs.parameters}}"
    assert script["image"]
    env = {e["name"]: e for e in script["env"]}
    assert env["MEDIA_ROOT"]["value"] == MEDIA_MOUNT
    assert env["SCRATCH_ROOT"]["value"] == SCRATCH_MOUNT
    assert script["envFrom"] == [
        {"configMapRef": {"name": "detector-config"}}, {"secretRef": {"name": "detector-mongo"}}
    ]
    mounts = {m["name"]: m["mountPath"] for m in script["volumeMounts"]}
    assert mounts["media"] == MEDIA_MOUNT and mounts["scratch"] == SCRATCH_MOUNT
    assert {"name": "mongo-ca", "mountPath": "/etc/detector-mongo-ca", "readOnly": True} in (
        script["volumeMounts"])
    assert t["retryStrategy"]["limit"] == str(STEP_RETRIES)
    assert t["retryStrategy"]["retryPolicy"] == "Always"
    assert script["securityContext"]["readOnlyRootFilesystem"] is True
    assert script["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    got = [p["name"] for p in t.get("outputs", {}).get("parameters", [])]
    assert got == outputs


def test_import_order_does_not_change_the_image(monkeypatch):
    monkeypatch.setenv("DETECTOR_IMAGE", "registry.example/detector:test")
    manifest = build_detect_workflow(faults=Faults()).to_dict()
    images = {t["script"]["image"] for t in manifest["spec"]["templates"] if "script" in t}
    assert images == {"registry.example/detector:test"}
