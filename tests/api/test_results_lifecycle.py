"""GET /api/v1/results/<id>?history=1 (newest first, the job that made each, `changed_from`) and
DELETE /api/v1/results/<id> (the owner's media, results, heatmaps, unshared bytes; 404 else)."""

from __future__ import annotations

import time

from storage import jobs, media, results
from storage.db import get_db


def _media(cfg, owner: str, rel: str = "ab/shared.png") -> str:
    path = cfg.media_root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"image bytes")
    return media.insert_media(get_db(), {"owner": owner, "sha256": "ab" * 32,
                                         "modality": "image", "filename": "p.png",
                                         "size": 11, "path": rel})


def _score(media_id: str, job_id: str, version: str, verdict: str, **extra) -> None:
    results.upsert_result(get_db(), {"job_id": job_id, "media_id": media_id, "score": 0.5,
                                     "verdict": verdict, **extra,
                                     "model": {"name": "detector-image", "version": version}})
    time.sleep(0.005)  # created_at is kept to the millisecond


def test_history_newest_first_with_jobs_and_changes(client, auth, detector_env):
    owner = auth.user("alice")["user_id"]
    headers = auth.headers("alice")
    media_id = _media(detector_env, owner)
    upload = jobs.create_job(get_db(), owner, [media_id], engine="local", mode="async")
    rescan = jobs.create_job(get_db(), "system", [media_id], engine="local", mode="rescan")
    _score(media_id, upload["job_id"], "1", "authentic")
    _score(media_id, rescan["job_id"], "2", "synthetic", changed_from="authentic",
           previous_model={"name": "detector-image", "version": "1"})

    answer = client.get(f"/api/v1/results/{media_id}?history=1", headers=headers)
    assert answer.status_code == 200
    from test_openapi import _validate  # the answer is what the OpenAPI document says

    _validate(client.get("/api/v1/openapi.json").json, "/api/v1/results/{media_id}", "get",
              200, answer.json)
    body = answer.json
    assert body["media_id"] == media_id
    newest, oldest = body["history"]
    assert (newest["model"]["version"], newest["job"]["kind"], newest["changed_from"]) == (
        "2", "rescan", "authentic")
    assert newest["job"]["job_id"] == rescan["job_id"]
    assert (oldest["model"]["version"], oldest["job"]["kind"]) == ("1", "upload")
    assert "changed_from" not in oldest
    current = client.get(f"/api/v1/results/{media_id}", headers=headers).json
    assert current["model"]["version"] == "2"  # the newest is the current result
    other = client.get(f"/api/v1/results/{media_id}?history=1", headers=auth.headers("bob"))
    assert other.status_code == 404


def test_owners_delete_their_media_and_shared_bytes_stay(client, auth, detector_env):
    alice, bob = auth.user("alice")["user_id"], auth.user("bob")["user_id"]
    mine, theirs = _media(detector_env, alice), _media(detector_env, bob)
    lonely = _media(detector_env, alice, "cd/lonely.png")
    heat = detector_env.media_root / "explanations/j1/heat.png"
    heat.parent.mkdir(parents=True)
    heat.write_bytes(b"png")
    _score(mine, "j1", "1", "authentic", explanation={"heatmap": "explanations/j1/heat.png"})
    _score(mine, "j2", "2", "synthetic")

    assert client.delete(f"/api/v1/results/{mine}", headers=auth.headers("bob")
                         ).status_code == 404  # not bob's: as if it did not exist
    assert client.delete(f"/api/v1/results/{mine}", headers=auth.headers("alice")
                         ).status_code == 204
    assert media.get_media(get_db(), mine) is None
    assert get_db().results.count_documents({"media_id": mine}) == 0
    assert not heat.exists()
    assert (detector_env.media_root / "ab/shared.png").is_file()  # bob's media uses them
    assert media.get_media(get_db(), theirs) is not None
    assert client.delete(f"/api/v1/results/{lonely}", headers=auth.headers("alice")
                         ).status_code == 204
    assert not (detector_env.media_root / "cd/lonely.png").exists()
    assert client.delete(f"/api/v1/results/{mine}", headers=auth.headers("alice")
                         ).status_code == 404
    event = get_db().logs.find_one({"event": "media.deleted", "media_id": lonely})
    assert event["user_id"] == alice
