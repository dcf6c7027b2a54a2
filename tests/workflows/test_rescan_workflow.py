"""The rescan CronWorkflow: its shape, and one run on the local engine with the real steps,
the embedded MongoDB and the MLflow champions."""

from __future__ import annotations

import hashlib

import cv2
import numpy as np
import pytest

from config import Config, Faults, get_config
from models.registry.aliases import current_champions
from storage.db import get_db
from storage.jobs import get_job
from storage.media import insert_media
from storage.rescan_select import select
from storage.results import latest_result, upsert_result
from workflows.rescan import (
    DEFAULT_SCHEDULE,
    build_rescan_workflow,
    run_rescan_now,
    schedule_settings,
)


@pytest.fixture(scope="module")
def manifest() -> dict:
    return build_rescan_workflow(faults=Faults(), namespace="deepfake-detector").to_dict()


def test_cron_shape(manifest, monkeypatch):
    spec = manifest["spec"]
    assert manifest["kind"] == "CronWorkflow" and manifest["metadata"]["name"] == "rescan"
    assert spec["schedules"] == [DEFAULT_SCHEDULE] and spec["timezone"] == "UTC"
    assert spec["concurrencyPolicy"] == "Forbid" and spec["startingDeadlineSeconds"] == 3600
    wf = spec["workflowSpec"]
    assert wf["onExit"] == "exit-handler" and wf["archiveLogs"] is True
    assert wf["workflowMetadata"]["labels"]["detector/workflow"] == "rescan"
    assert wf["workflowMetadata"]["labels"]["detector/modality"] == "mixed"
    templates = {t["name"]: t for t in wf["templates"]}
    tasks = {t["name"]: t for t in templates["rescan"]["dag"]["tasks"]}
    assert tasks["rescan-batch"]["withParam"] == (
        "{{tasks.select-stale.outputs.parameters.batches}}")
    assert tasks["rescan-batch"]["depends"] == "select-stale"
    (per_media,) = templates["rescan-batch"]["dag"]["tasks"]
    assert per_media["template"] == "detect-one"
    assert per_media["withParam"] == "{{inputs.parameters.media}}"
    assert templates["select-stale"]["script"]["args"][-1] == "steps.rescan:select_stale"
    assert "suspend" not in spec
    monkeypatch.setenv("RESCAN_SCHEDULE", "*/30 * * * *")
    timing = schedule_settings(get_config())
    assert build_rescan_workflow(faults=Faults(), **timing).to_dict()["spec"]["schedules"] == [
        "*/30 * * * *"]
    monkeypatch.setenv("RESCAN_SCHEDULE", "off")
    off = build_rescan_workflow(faults=Faults(), **schedule_settings(get_config())).to_dict()
    assert off["spec"]["schedules"] == [DEFAULT_SCHEDULE] and off["spec"]["suspend"] is True
    assert "suspend" not in off["spec"]["workflowSpec"]  # the schedule stops, not its workflows


def _image(cfg: Config, seed: int) -> str:
    rng = np.random.default_rng(seed)
    data = cv2.imencode(".png", rng.integers(0, 255, (96, 128, 3), dtype=np.uint8))[1].tobytes()
    digest = hashlib.sha256(data).hexdigest()
    path = cfg.media_root / digest[:2] / f"{digest}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return insert_media(get_db(), {"owner": "u1", "sha256": digest, "modality": "image",
                                   "filename": "p.png", "size": len(data),
                                   "path": str(path.relative_to(cfg.media_root))})


def test_run_rescan_now_rescores_with_the_champion(detector_env: Config):
    from models.checkpoint import WEIGHTS_DIR
    from models.registry.client import champion_version, register_weights
    from models.registry.settings import RegistrySettings

    # the image champion only: 4 would take 4 times longer
    registry = RegistrySettings.from_config(detector_env)
    champion = champion_version("image", registry) or register_weights(
        "image", WEIGHTS_DIR / "image.pt", registry)
    stale, fresh = _image(detector_env, 1), _image(detector_env, 2)
    for media_id, version in ((stale, "0"), (fresh, champion)):
        upsert_result(get_db(), {"job_id": "old-job", "media_id": media_id, "score": 0.5,
                                 "verdict": "uncertain",
                                 "model": {"name": "detector-image", "version": version}})

    job_id = run_rescan_now(detector_env, batch_size=1, workers=1)

    assert job_id is not None
    job = get_job(get_db(), job_id)
    assert (job["owner"], job["mode"], job["status"]) == ("system", "rescan", "succeeded")
    assert job["media_ids"] == [stale]
    latest = latest_result(get_db(), stale, "u1")
    assert latest["job_id"] == job_id
    assert latest["model"] == {"name": "detector-image", "version": champion}
    assert latest_result(get_db(), fresh, "u1")["job_id"] == "old-job"
    assert not (detector_env.scratch_root / job_id).exists()
    champions = current_champions(detector_env.mlflow_tracking_uri)
    assert select(get_db(), champions, detector_env.media_root).items == []  # nothing stale now
