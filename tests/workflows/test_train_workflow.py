"""The train workflow: its shape, Argo's schema, and one quick run on the local engine with the
real steps and a private MLflow registry (the session's champions are never moved)."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from config import Config, Faults
from workflows import argo_schema, render
from workflows.train import ENTRYPOINT, PER_MODALITY, build_train_workflow, run_training_now


@pytest.fixture(scope="module")
def manifest() -> dict:
    return build_train_workflow(faults=Faults(), namespace="deepfake-detector", template=True
                                ).to_dict()


def test_train_dag_shape(manifest):
    assert manifest["kind"] == "WorkflowTemplate" and manifest["metadata"]["name"] == "train"
    spec = manifest["spec"]
    assert spec["entrypoint"] == ENTRYPOINT and spec["onExit"] == "exit-handler"
    params = {p["name"]: p["value"] for p in spec["arguments"]["parameters"]}
    assert json.loads(params["modalities"]) == ["image", "audio", "video", "text"]
    assert params["seed"] == "0" and params["quick"] == "false"
    assert spec["workflowMetadata"]["labels"]["detector/workflow"] == "train"
    templates = {t["name"]: t for t in spec["templates"]}
    (fan_out,) = templates[ENTRYPOINT]["dag"]["tasks"]
    assert fan_out["template"] == PER_MODALITY
    assert fan_out["withParam"] == "{{workflow.parameters.modalities}}"
    tasks = {t["name"]: t for t in templates[PER_MODALITY]["dag"]["tasks"]}
    assert set(tasks) == {"prepare", "train", "evaluate", "register", "promote"}
    assert "depends" not in tasks["prepare"]
    assert tasks["train"]["depends"] == "prepare"
    assert tasks["evaluate"]["depends"] == "train"
    assert tasks["register"]["depends"] == "evaluate"
    assert tasks["promote"]["depends"] == "register"
    args = {p["name"]: p["value"] for p in tasks["promote"]["arguments"]["parameters"]}
    assert args["version"] == "{{tasks.register.outputs.parameters.version}}"
    assert args["evaluation_path"] == "{{tasks.evaluate.outputs.parameters.evaluation_path}}"
    args = {p["name"]: p["value"] for p in tasks["train"]["arguments"]["parameters"]}
    assert args["data_path"] == "{{tasks.prepare.outputs.parameters.data_path}}"
    for name in ("prepare", "train", "evaluate", "register", "promote"):
        entry = f"steps.train:{name}"
        assert templates[name]["script"]["args"][-1] == entry
        mounts = {m["name"] for m in templates[name]["script"]["volumeMounts"]}
        assert mounts == {"media", "scratch", "tmp", "mongo-ca"}  # the CA of MongoDB's TLS
    assert "retryStrategy" not in templates["train"]
    assert int(templates["register"]["retryStrategy"]["limit"]) >= 1
    assert int(templates["promote"]["retryStrategy"]["limit"]) >= 1
    cleanup = templates["exit-handler"]["dag"]["tasks"][0]
    assert cleanup["template"] == "cleanup-scratch"
    assert build_train_workflow(faults=Faults()).to_dict()["metadata"]["generateName"] == "train-"


def test_train_manifest_valid_against_argo_schema():
    schema = argo_schema.load("schema")
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("DETECTOR_IMAGE", raising=False)
        doc = yaml.safe_load(render.render()["train-workflowtemplate.yaml"])
    assert "train-workflowtemplate.yaml" in render.MANIFESTS
    validator = jsonschema.Draft202012Validator(
        {"definitions": schema["definitions"],
         "$ref": "#/definitions/io.argoproj.workflow.v1alpha1.WorkflowTemplate"})
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)
    assert doc["spec"]["serviceAccountName"] == "detector-workflow"
    assert doc["metadata"]["namespace"] == "deepfake-detector"


def test_run_training_now_registers_and_gates(detector_env: Config, tmp_path: Path,
                                              monkeypatch):
    from mlflow import MlflowClient

    from models.registry.client import (
        MODEL_NAMES,
        champion_version,
        list_models,
        version_run_metrics,
        version_tags,
    )

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setenv("MLFLOW_ARTIFACT_ROOT", str(tmp_path / "artifacts"))
    assert champion_version("text") is None  # also creates the registry before the workers

    # seed 5: the quick recipe's tiny held-out items hold both classes (seeds 0-4 do not)
    (decision,) = run_training_now(detector_env, ["text"], seed=5, quick=True, workers=1)

    name = MODEL_NAMES["text"]
    assert [row["version"] for row in list_models() if row["name"] == name] == [
        decision["candidate"]]
    assert decision["modality"] == "text" and decision["champion"] is None
    assert isinstance(decision["candidate_auc"], float), "quick held-out split has one class"
    assert decision["promoted"] is True and decision["reason"] == "no champion"
    assert champion_version("text") == decision["candidate"]
    tags = version_tags("text", decision["candidate"])
    assert json.loads(tags["promotion_decision"])["promoted"] is True
    metrics = version_run_metrics("text", decision["candidate"])
    assert metrics["quick"] == 1.0 and "test_auc" in metrics
    assert list(detector_env.scratch_root.glob("*")) == []  # exit handler removed the weights

    # the same quick training again: equal AUC is no improvement, the alias stays
    (again,) = run_training_now(detector_env, ["text"], seed=5, quick=True, workers=1)
    assert again["candidate"] != decision["candidate"]
    assert again["promoted"] is False and again["champion"] == decision["candidate"]
    assert champion_version("text") == decision["candidate"]
    # ... because both were scored on the candidate's held-out split, and the report is logged
    assert again["compared_on"] == "candidate's held-out split"
    # (the same weights score the same; the first decision used the stored out-of-family AUC)
    assert again["candidate_auc"] == again["champion_auc"]
    assert "both scored on the candidate's held-out split" in again["reason"]
    mlflow = MlflowClient(uri, registry_uri=uri)  # the run's artifacts, as MLflow lists them
    mv = mlflow.get_model_version(name, again["candidate"])
    logged = [a.path for a in mlflow.list_artifacts(mv.run_id, "evaluation")]
    assert logged == ["evaluation/text-evaluation.json"]


def test_run_training_now_rejects_unknown_modalities(detector_env: Config):
    with pytest.raises(ValueError):
        run_training_now(detector_env, ["smell"])
