"""The rescan steps on the real embedded MongoDB: selection opens (or fills) the job, the exit
handler closes it with its summary."""

from __future__ import annotations

import json

import steps.rescan as rescan
from config import Config
from models.registry import aliases
from storage.db import get_db
from storage.jobs import get_job
from storage.media import insert_media
from tests.rescan_helpers import CHAMPIONS, stored_media, stored_result


def test_select_stale_opens_a_system_job_and_finish_closes_it(detector_env: Config,
                                                              monkeypatch):
    monkeypatch.setattr(aliases, "current_champions", lambda _uri: CHAMPIONS)
    assert rescan.select_stale(batch_size=2, workflow_uid="uid-0") == "[]"  # nothing stale
    rescan.finish_rescan("uid-0", "Succeeded")  # no job opened: nothing to do

    media_ids = [stored_media() for _ in range(3)]
    for media_id in media_ids:
        stored_result(media_id, "j1", "detector-image", "0")
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
    assert job["status"] == "failed" and job["error"] == "all 3 media failed"
    assert not (detector_env.scratch_root / job_id).exists()


def test_media_whose_bytes_are_gone_are_listed_as_missing(detector_env: Config, monkeypatch):
    monkeypatch.setattr(aliases, "current_champions", lambda _uri: CHAMPIONS)
    present = stored_media()
    gone = insert_media(get_db(), {"owner": "u1", "sha256": "ee" * 32, "modality": "image",
                                   "filename": "y", "size": 1, "path": "ee/deleted"})
    for media_id in (present, gone):
        stored_result(media_id, "j1", "detector-image", "2")
    chosen = json.loads(rescan.select_stale(batch_size=10, workflow_uid="uid-m"))
    assert [i["media_id"] for b in chosen for i in b["media"]] == [present]
    job = get_job(get_db(), chosen[0]["job_id"])
    assert job["missing"] == [gone] and job["from_versions"] == {"image": {"2": 2}}
    rescan.finish_rescan("uid-m", "Succeeded")
    job = get_job(get_db(), job["job_id"])
    summary = job["summary"]
    assert (summary["selected"], summary["missing"], summary["missing_ids"]) == (2, 1, [gone])
    assert summary["failed"] == 1 and summary["rescored"] == 0  # present was never rescored
    assert job["status"] == "failed"


def test_a_given_job_is_filled_and_closed_even_when_nothing_is_stale(detector_env: Config,
                                                                     monkeypatch):
    from storage.rescans import open_rescan

    monkeypatch.setattr(aliases, "current_champions", lambda _uri: CHAMPIONS)
    job_id = open_rescan(get_db(), "local", {}, started_by="admin")["job_id"]
    assert rescan.select_stale(batch_size=5, workflow_uid="uid-e", job_id=job_id) == "[]"
    rescan.finish_rescan("uid-e", "Succeeded", job_id=job_id)
    job = get_job(get_db(), job_id)
    assert job["status"] == "succeeded" and job["started_by"] == "admin"
    assert {k: job["summary"][k] for k in ("selected", "rescored", "failed", "missing")} == {
        "selected": 0, "rescored": 0, "failed": 0, "missing": 0}


def test_a_failed_media_is_recorded_with_its_error(detector_env: Config, monkeypatch):
    from storage.jobs import set_node

    monkeypatch.setattr(aliases, "current_champions", lambda _uri: CHAMPIONS)
    ok, bad = stored_media(), stored_media()
    for media_id in (ok, bad):
        stored_result(media_id, "j1", "detector-image", "2")
    chosen = json.loads(rescan.select_stale(batch_size=1, workflow_uid="uid-f"))
    job_id = chosen[0]["job_id"]
    order = [b["media"][0]["media_id"] for b in chosen]
    stored_result(ok, job_id, "detector-image", "3", minutes=1)  # what persist would write
    set_node(get_db(), job_id, f"rescan-batch({order.index(bad)})/detect-one(0)/preprocess",
             status="failed", error="cannot decode")
    rescan.finish_rescan("uid-f", "Succeeded")
    job = get_job(get_db(), job_id)
    assert job["status"] == "succeeded" and job["error"] == "1 of 2 media failed"
    assert job["summary"]["failures"] == [{"media_id": bad,
                                           "error": "preprocess: cannot decode"}]
    assert (job["summary"]["rescored"], job["summary"]["failed"]) == (1, 1)

