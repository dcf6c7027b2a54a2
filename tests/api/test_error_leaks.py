"""Errors never leak internals (paths, URLs, hosts, traces); hostile bodies are 4xx, not 500."""

from __future__ import annotations

import io
import json
import re
import socket

import pytest
from flask import Flask
from flask.testing import FlaskClient

from api import create_app
from api.errors import redact
from api.inference.client import InferenceClient
from api.serialize import public_job
from config import Config

LEAKS = re.compile(r"(/tmp/|/var/|/srv/|/home/|upload-|https?://|127\.0\.0\.1|localhost|"
                   r"Traceback|File \"|:\d{4,5}\b)")


def _no_leak(body: object) -> None:
    text = json.dumps(body)
    assert not LEAKS.search(text), text


def _error_shape(answer, status: int) -> dict:
    assert answer.status_code == status, answer.get_data(as_text=True)
    body = answer.get_json()
    assert set(body["error"]) == {"code", "message"}
    _no_leak(body)
    return body


def test_a_broken_audio_file_does_not_name_the_temp_path(client: FlaskClient, auth) -> None:
    broken = b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(range(200))  # WAVE magic, junk header
    answer = client.post("/api/v1/detections?mode=async", headers=auth.headers(),
                         data={"file": (io.BytesIO(broken), "speech.wav")})
    body = _error_shape(answer, 422)
    assert "speech.wav" in body["error"]["message"]


def test_fallback_does_not_name_the_inference_service(detector_env: Config, engine, auth, upload,
                                                      samples) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    client = InferenceClient(url, detector_env.inference_token, timeout_s=2)
    app = create_app({"TESTING": True, "ENGINE": engine, "INFERENCE": client})
    answer = app.test_client().post("/api/v1/detections?mode=sync", headers=auth.headers(),
                                    data=upload((samples["png"], "a.png")))
    assert answer.status_code == 200
    assert answer.json["fallback"] == "inference service unavailable; ran as a workflow job"
    _no_leak(answer.json)


def test_readyz_does_not_show_driver_errors(detector_env: Config, engine,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from api import health

    monkeypatch.setattr(health, "_check_models", lambda checks: [])  # MongoDB's error alone
    app = create_app({"ENGINE": engine, "MONGO_URI": "mongodb://127.0.0.1:1/"})
    answer = app.test_client().get("/readyz")
    body = _error_shape(answer, 503)
    assert "mongodb: not reachable" in body["error"]["message"]


def test_a_failed_submit_does_not_show_the_engine_error(client, engine, auth, upload,
                                                         samples) -> None:
    engine.fail_submit = True
    answer = client.post("/api/v1/detections?mode=async", headers=auth.headers(),
                         data=upload((samples["png"], "a.png")))
    body = _error_shape(answer, 503)
    assert "engine down" not in json.dumps(body)


@pytest.mark.parametrize("raw", [
    b'{"text": "\\ud800 a lone surrogate in a long enough text"}',
    b'{"text": "fine", "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    b'{"text": "nested but parseable", "x": ' + b"[" * 200 + b"]" * 200 + b"}",
])
def test_hostile_json_is_a_400(client: FlaskClient, auth, raw: bytes) -> None:
    answer = client.post("/api/v1/detections", headers={**auth.headers(),
                         "Content-Type": "application/json"}, data=raw)
    _error_shape(answer, 400)


def test_hostile_json_on_the_token_route_is_a_4xx(client: FlaskClient) -> None:
    answer = client.post("/api/v1/auth/token", headers={"Content-Type": "application/json"},
                         data=b'{"a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}")
    assert 400 <= answer.status_code < 500
    _no_leak(answer.get_json())


def test_an_unexpected_error_shows_no_trace_or_path(app: Flask) -> None:
    @app.get("/boom")
    def boom() -> str:
        raise RuntimeError("cannot open /srv/secret/file.db at mongo.internal:27017")

    answer = app.test_client().get("/boom")
    body = _error_shape(answer, 500)
    assert body["error"]["message"] == "internal server error"


def test_step_errors_in_a_job_are_redacted() -> None:
    job = {"job_id": "j", "status": "failed",
           "error": "FileNotFoundError: [Errno 2] No such file: '/srv/app/var/media/ab/abcd'",
           "nodes": {"preprocess(0)": {"status": "failed", "error":
                                       "ConnectionError: http://argo.internal:2746/api down"}}}
    out = public_job(job, [], None)
    _no_leak(out)
    assert out["error"].startswith("FileNotFoundError: [Errno 2] No such file:")


@pytest.mark.parametrize(("text", "kept"), [
    ("Error opening '/srv/app/var/tmp/upload-x.wav': Format not recognised.", "Format not"),
    ("POST http://127.0.0.1:8001/v1/score: refused", "refused"),
    ("mongo-0.mongo.svc:27017: timed out", "timed out"),
    ("Traceback (most recent call last):\n  File \"/app/x.py\", line 1", ""),
    ("cannot decode image C:\\tmp\\x.png", "cannot decode image"),
])
def test_redact_keeps_the_words_and_drops_the_internals(text: str, kept: str) -> None:
    out = redact(text)
    assert kept in out and not LEAKS.search(out) and "C:\\" not in out


def test_redact_leaves_media_types_and_sizes_alone() -> None:
    for text in ("send multipart/form-data with the field 'file'", "the image/png file",
                 "the image is 10x10; each side needs 32 pixels", "a 1:30 ratio"):
        assert redact(text) == text
