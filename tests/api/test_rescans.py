"""POST/GET /api/v1/rescans: admins only, 202 with a status URL, progress then the summary,
paging; the rescan runs through the real runner with the real select and finish steps."""

from __future__ import annotations

import time

import pytest

import steps.rescan as rescan_steps
from models.registry import aliases
from storage import media, results
from storage.db import get_db

CHAMPIONS = {"text": ("detector-text", "2")}


@pytest.fixture
def in_process_run(monkeypatch, detector_env):
    """The rescan's walk done in this process by the real select and finish steps (persist
    writes a result per media, as the detect steps would); the engine walk is tested in
    tests/workflows/test_rescan_local.py."""
    monkeypatch.setattr(aliases, "current_champions", lambda _uri: CHAMPIONS)

    def run(cfg, batch_size, max_media, parameters):
        import json

        chosen = json.loads(rescan_steps.select_stale(
            batch_size=batch_size, max_media=max_media, engine="local", workflow_uid="uid-api",
            **parameters))
        for batch in chosen:
            for item in batch["media"]:
                results.upsert_result(get_db(), {
                    "job_id": batch["job_id"], "media_id": item["media_id"], "score": 0.9,
                    "verdict": "synthetic", "model": {"name": "detector-text", "version": "2"}})
        rescan_steps.finish_rescan("uid-api", "Succeeded", job_id=parameters["job_id"])
        return parameters["job_id"]

    monkeypatch.setattr("workflows.rescan.run_rescan_now", run)


def _stale_text(cfg, owner: str = "u1") -> str:
    path = cfg.media_root / "tt" / "t.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("some words")
    media_id = media.insert_media(get_db(), {"owner": owner, "sha256": "t" * 64,
                                             "modality": "text", "filename": "t.txt",
                                             "size": 10, "path": "tt/t.txt"})
    results.upsert_result(get_db(), {"job_id": "upload", "media_id": media_id, "score": 0.1,
                                     "verdict": "authentic",
                                     "model": {"name": "detector-text", "version": "1"}})
    return media_id


def _until_done(client, url, headers) -> dict:
    for _ in range(200):
        shown = client.get(url, headers=headers).json
        if shown["status"] in ("succeeded", "failed"):
            return shown
        time.sleep(0.05)
    raise AssertionError(f"rescan never ended: {shown}")


def test_only_admins_start_or_see_rescans(client, auth, in_process_run):
    user = auth.headers("alice")
    assert client.post("/api/v1/rescans", headers=user).status_code == 403
    assert client.get("/api/v1/rescans", headers=user).status_code == 403
    assert client.get("/api/v1/rescans/x", headers=user).json["error"]["code"] == "forbidden"
    assert client.post("/api/v1/rescans").status_code == 401


def test_an_admin_starts_a_rescan_and_reads_its_summary(client, auth, in_process_run,
                                                        detector_env):
    media_id = _stale_text(detector_env)
    admin = auth.headers("root", admin=True)
    answer = client.post("/api/v1/rescans", json={"modality": "text"}, headers=admin)
    assert answer.status_code == 202
    rescan_id = answer.json["rescan_id"]
    assert answer.json["status_url"] == f"/api/v1/rescans/{rescan_id}"
    shown = _until_done(client, answer.json["status_url"], admin)
    assert shown["status"] == "succeeded" and shown["filters"]["modality"] == "text"
    counts = {k: shown["summary"][k] for k in ("selected", "rescored", "changed", "failed",
                                               "missing")}
    assert counts == {"selected": 1, "rescored": 1, "changed": 0, "failed": 0, "missing": 0}
    assert shown["from_versions"] == {"text": {"1": 1}}
    assert get_db().logs.find_one({"event": "rescan.started"})["job_id"] == rescan_id

    again = client.post("/api/v1/rescans", headers=admin)  # nothing is stale any more
    shown = _until_done(client, again.json["status_url"], admin)
    assert shown["summary"]["selected"] == 0
    listed = client.get("/api/v1/rescans?per_page=1&page=2", headers=admin).json
    assert (listed["total"], listed["page"], listed["per_page"]) == (2, 2, 1)
    assert listed["items"][0]["rescan_id"] == rescan_id  # newest first
    assert media_id in {r["media_id"] for r in results.results_for_job(get_db(), rescan_id)}


def test_rescan_answers_match_the_openapi_document(client, auth, in_process_run, detector_env):
    from test_openapi import _validate  # the document's own checker (tests/api)

    _stale_text(detector_env)
    doc = client.get("/api/v1/openapi.json").json
    admin = auth.headers("root", admin=True)
    started = client.post("/api/v1/rescans", json={"media_ids": ["x"]}, headers=admin)
    _validate(doc, "/api/v1/rescans", "post", 202, started.json)
    shown = _until_done(client, started.json["status_url"], admin)
    _validate(doc, "/api/v1/rescans/{rescan_id}", "get", 200, shown)
    listed = client.get("/api/v1/rescans", headers=admin)
    _validate(doc, "/api/v1/rescans", "get", 200, listed.json)
    refused = client.get("/api/v1/rescans", headers=auth.headers("alice"))
    _validate(doc, "/api/v1/rescans", "get", 403, refused.json)


@pytest.mark.parametrize("body,field", [
    ({"modality": "smell"}, "modality"), ({"since": "yesterday"}, "since"),
    ({"media_ids": []}, "media_ids"), ({"media_ids": [3]}, "media_ids"),
    ({"other": 1}, "send JSON"),
])
def test_bad_filters_are_400(client, auth, body, field):
    answer = client.post("/api/v1/rescans", json=body, headers=auth.headers("root", admin=True))
    assert answer.status_code == 400 and field in answer.json["error"]["message"]
    garbled = client.post("/api/v1/rescans", data="{", content_type="application/json",
                          headers=auth.headers("root", admin=True))
    assert garbled.status_code == 400


def test_an_unknown_rescan_is_404_and_a_running_one_refuses_another(client, auth, monkeypatch):
    import workflows.rescan_runner as runner

    admin = auth.headers("root", admin=True)
    assert client.get("/api/v1/rescans/nope", headers=admin).status_code == 404
    assert runner._local.acquire(blocking=False)  # a rescan is running in this process
    try:
        answer = client.post("/api/v1/rescans", headers=admin)
    finally:
        runner._local.release()
    assert answer.status_code == 409 and answer.json["error"]["code"] == "conflict"
