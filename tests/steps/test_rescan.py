"""Rescan selection on the real embedded MongoDB: which media are stale, batches, the job."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

import steps.rescan as rescan
from config import Config
from storage.db import get_db
from storage.jobs import get_job
from storage.media import insert_media
from storage.results import upsert_result

CHAMPIONS = {"image": ("detector-image", "3"), "text": ("detector-text", "1")}


def _media(modality: str = "image", owner: str = "u1") -> str:
    return insert_media(get_db(), {"owner": owner, "sha256": "cd" * 32, "modality": modality,
                                   "filename": "x", "size": 1, "path": f"cd/{modality}"})


def _result(media_id: str, job: str, name: str, version: str, minutes: int = 0) -> None:
    upsert_result(get_db(), {
        "job_id": job, "media_id": media_id, "score": 0.5, "verdict": "uncertain",
        "model": {"name": name, "version": version},
        "created_at": datetime.now(UTC) + timedelta(minutes=minutes),
    })


@pytest.mark.parametrize("version,champion,older", [
    ("1", "3", True), ("3", "3", False), ("4", "3", False), ("10", "9", False),
    ("abc", "3", True), ("3", "abc", True),
])
def test_is_older(version, champion, older):
    assert rescan.is_older(version, champion) is older


def test_batches():
    items = [{"media_id": str(i)} for i in range(5)]
    assert [len(b) for b in rescan.batches(items, 2)] == [2, 2, 1]
    assert rescan.batches([], 3) == []
    with pytest.raises(ValueError):
        rescan.batches(items, 0)


def test_stale_media_is_judged_by_the_latest_result(detector_env: Config):
    old = _media()
    _result(old, "j1", "detector-image", "2")
    rescored = _media()  # old result, then a newer one by the champion: not stale
    _result(rescored, "j1", "detector-image", "1")
    _result(rescored, "j2", "detector-image", "3", minutes=1)
    current = _media()
    _result(current, "j1", "detector-image", "3")
    foreign = _media("text")  # another model's result counts as stale
    _result(foreign, "j1", "someone-else", "1")
    rolled_back = _media()  # newer than the champion (a rollback): kept
    _result(rolled_back, "j1", "detector-image", "4")
    audio = _media("audio")  # no champion for audio: never selected
    _result(audio, "j1", "detector-audio", "0")

    items = rescan.stale_media(get_db(), CHAMPIONS)
    assert sorted(i["media_id"] for i in items) == sorted([old, foreign])
    assert {"media_id": old, "modality": "image", "media_path": "cd/image"} in items
    assert len(rescan.stale_media(get_db(), CHAMPIONS, max_media=1)) == 1


def test_select_stale_opens_a_system_job_and_finish_closes_it(detector_env: Config,
                                                              monkeypatch):
    monkeypatch.setattr(rescan, "current_champions", lambda: CHAMPIONS)
    assert rescan.select_stale(batch_size=2, workflow_uid="uid-0") == "[]"  # nothing stale
    rescan.finish_rescan("uid-0", "Succeeded")  # no job opened: nothing to do

    media_ids = [_media() for _ in range(3)]
    for media_id in media_ids:
        _result(media_id, "j1", "detector-image", "0")
    chosen = json.loads(rescan.select_stale(
        batch_size=2, engine="local", workflow_name="rescan-x", workflow_namespace="ns",
        workflow_uid="uid-1"))
    assert [len(b["media"]) for b in chosen] == [2, 1]
    job_id = chosen[0]["job_id"]
    assert {b["job_id"] for b in chosen} == {job_id}
    job = get_job(get_db(), job_id)
    assert (job["owner"], job["mode"], job["status"], job["engine"]) == (
        "system", "rescan", "running", "local")
    assert sorted(job["media_ids"]) == sorted(media_ids)
    assert job["engine_ref"] == {"engine": "local", "name": "rescan-x", "namespace": "ns",
                                 "uid": "uid-1"}

    (detector_env.scratch_root / job_id).mkdir(parents=True)
    rescan.finish_rescan("uid-1", "Failed")
    job = get_job(get_db(), job_id)
    assert job["status"] == "failed" and job["error"] == "rescan workflow Failed"
    assert not (detector_env.scratch_root / job_id).exists()


def test_not_applicable_media_are_not_rescanned(detector_env: Config):
    refused = _media()  # refused before any model ran: a new champion would refuse it too
    upsert_result(get_db(), {
        "job_id": "j1", "media_id": refused, "score": None, "verdict": "not_applicable",
        "reason": "The image is blank.", "reason_code": "image_flat",
        "model": {"name": "detector-image", "version": "2"},
    })
    scored = _media()
    _result(scored, "j1", "detector-image", "2")
    assert [i["media_id"] for i in rescan.stale_media(get_db(), CHAMPIONS)] == [scored]
