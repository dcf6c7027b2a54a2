"""POST /api/v1/detections: sync and async flows, storage of bytes and documents, bad input."""

from __future__ import annotations

import hashlib
import io
from dataclasses import replace

import pytest
from flask.testing import FlaskClient

from config import Config
from storage.db import get_db

RESULT_KEYS = {"media_id", "job_id", "filename", "sha256", "modality", "score", "verdict",
               "model", "explanation", "created_at"}


def _nothing_written(cfg: Config) -> None:
    db = get_db()
    assert db.media.count_documents({}) == 0 and db.jobs.count_documents({}) == 0
    tmp, store = cfg.var_dir / "tmp", cfg.media_root
    assert not tmp.exists() or not any(tmp.iterdir())
    assert not store.exists() or not any(p.is_file() for p in store.rglob("*"))


def test_sync_image(client: FlaskClient, auth, samples, upload, detector_env: Config) -> None:
    response = client.post("/api/v1/detections?mode=sync", headers=auth.headers(),
                           data=upload((samples["png"], "face.png")))
    assert response.status_code == 200, response.json
    body = response.json
    assert body["status"] == "succeeded" and len(body["results"]) == 1
    result = body["results"][0]
    assert set(result) == RESULT_KEYS
    sha = hashlib.sha256(samples["png"]).hexdigest()
    assert result["sha256"] == sha and result["modality"] == "image"
    assert result["filename"] == "face.png" and result["job_id"] == body["job_id"]
    assert result["model"] == {"name": "detector-image", "version": "1"}
    assert result["created_at"].endswith("+00:00")
    stored = detector_env.media_root / sha[:2] / sha
    assert stored.read_bytes() == samples["png"]
    doc = get_db().media.find_one({"media_id": result["media_id"]})
    assert doc["path"] == f"{sha[:2]}/{sha}" and doc["info"]["width"] == 64
    assert not any((detector_env.var_dir / "tmp").iterdir())


def test_text_json_defaults_to_sync(client: FlaskClient, auth, samples, detector_env) -> None:
    text = samples["txt"].decode()
    response = client.post("/api/v1/detections", headers=auth.headers(), json={"text": text})
    assert response.status_code == 200, response.json
    result = response.json["results"][0]
    assert result["modality"] == "text" and result["filename"] == "text.txt"
    stored = detector_env.media_root / result["sha256"][:2] / result["sha256"]
    assert stored.read_text() == text


def test_several_files_one_job(client: FlaskClient, auth, samples, upload) -> None:
    body = upload((samples["png"], "a.png"), (samples["wav"], "b.wav"), (samples["txt"], "c.txt"))
    response = client.post("/api/v1/detections", headers=auth.headers(), data=body)
    assert response.status_code == 200, response.json
    assert [r["modality"] for r in response.json["results"]] == ["image", "audio", "text"]
    assert [r["filename"] for r in response.json["results"]] == ["a.png", "b.wav", "c.txt"]


def test_video_defaults_to_async(client: FlaskClient, auth, samples, engine, upload) -> None:
    headers = auth.headers()
    response = client.post("/api/v1/detections", headers=headers,
                           data=upload((samples["mp4"], "clip.mp4")))
    assert response.status_code == 202, response.json
    job_id = response.json["job_id"]
    assert response.json["status_url"] == f"/api/v1/jobs/{job_id}"
    assert response.headers["Location"] == response.json["status_url"]
    assert engine.pending == [job_id]
    job = client.get(response.json["status_url"], headers=headers)
    assert job.status_code == 200 and engine.refreshed == [job_id]
    assert job.json["status"] == "succeeded" and job.json["results"][0]["modality"] == "video"
    assert {"job_id", "status", "engine", "results", "error", "created_at", "nodes"} <= set(
        job.json)


def test_async_on_request(client: FlaskClient, auth, samples, upload) -> None:
    response = client.post("/api/v1/detections?mode=async", headers=auth.headers(),
                           data=upload((samples["png"], "a.png")))
    assert response.status_code == 202 and "status_url" in response.json


def test_identical_uploads_share_one_file(client: FlaskClient, auth, samples, detector_env, upload):
    for name in ("a.png", "b.png"):
        response = client.post("/api/v1/detections", headers=auth.headers(),
                               data=upload((samples["png"], name)))
        assert response.status_code == 200
    assert get_db().media.count_documents({}) == 2
    assert sum(1 for p in detector_env.media_root.rglob("*") if p.is_file()) == 1


def test_submit_failure_marks_job_failed(client: FlaskClient, auth, samples, engine, upload):
    engine.fail_submit = True
    response = client.post("/api/v1/detections", headers=auth.headers(),
                           data=upload((samples["png"], "a.png")))
    assert response.status_code == 503
    assert response.json["error"]["code"] == "engine_unavailable"
    job = get_db().jobs.find_one({"job_id": response.json["job_id"]})
    assert job["status"] == "failed" and "engine down" in job["error"]


def test_sync_timeout_answers_202(client: FlaskClient, auth, samples, engine, upload) -> None:
    engine.stall = True
    response = client.post("/api/v1/detections?mode=sync", headers=auth.headers(),
                           data=upload((samples["png"], "a.png")))
    assert response.status_code == 202 and response.json["status"] == "queued"
    assert response.json["status_url"].endswith(response.json["job_id"])


def _bad(samples: dict, files) -> list:
    png = samples["png"]
    return [
        ("unknown type", dict(data=files((b"%PDF-1.4\n1 0 obj<<>>endobj\n", "a.pdf"))), 415,
         "unsupported_type"),
        ("empty file", dict(data=files((b"", "a.png"))), 422, "invalid_media"),
        ("truncated jpeg", dict(data=files((samples["jpg"][:-200], "a.jpg"))), 422,
         "invalid_media"),
        ("one bad of two", dict(data=files((png, "ok.png"), (png[:-30], "bad.png"))), 422,
         "invalid_media"),
        ("too many files", dict(data=files(*[(png, f"{i}.png") for i in range(3)])), 413,
         "too_many_files"),
        ("missing field", dict(data={"other": (io.BytesIO(png), "a.png")}), 400,
         "missing_field"),
        ("no file chosen", dict(data={"file": (io.BytesIO(b""), "")}), 400, "missing_field"),
        ("bad json", dict(data=b"{not json", content_type="application/json"), 400, "bad_json"),
        ("json without text", dict(json={"txt": "hello"}), 400, "missing_field"),
        ("text too short", dict(json={"text": "hi"}), 422, "invalid_media"),
        ("plain body", dict(data=png, content_type="image/png"), 415, "unsupported_type"),
        ("bad mode", dict(query_string={"mode": "later"}, data=files((png, "a.png"))), 400,
         "bad_mode"),
        ("file over the limit", dict(data=files((samples["wav"], "a.wav"))), 413,
         "too_large"),
    ]


BAD_IDS = [b[0] for b in _bad({"png": b"", "jpg": b"", "wav": b""}, lambda *a: {})]


@pytest.mark.parametrize("case", range(len(BAD_IDS)), ids=BAD_IDS)
def test_bad_input_writes_nothing(
    detector_env: Config, engine, auth_factory, samples, upload, case: int
) -> None:
    limits = replace(detector_env.limits, max_files_per_request=2, max_upload_bytes=20_000)
    client, headers = auth_factory({"LIMITS": limits})
    _, kwargs, status, code = _bad(samples, upload)[case]
    response = client.post("/api/v1/detections", headers=headers, **kwargs)
    assert response.status_code == status, response.json
    assert response.json["error"]["code"] == code and response.json["error"]["message"]
    assert engine.pending == []
    _nothing_written(detector_env)


def test_body_over_max_content_length(detector_env: Config, auth_factory, samples, upload) -> None:
    limits = replace(detector_env.limits, max_files_per_request=1, max_upload_bytes=1000)
    client, headers = auth_factory({"LIMITS": limits, "MAX_CONTENT_LENGTH": 2000})
    response = client.post("/api/v1/detections", headers=headers,
                           data=upload((samples["wav"], "a.wav")))
    assert response.status_code == 413 and response.json["error"]["code"] == "too_large"
    _nothing_written(detector_env)
