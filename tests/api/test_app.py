"""The app as a whole: probes, JSON errors from werkzeug, the upload page."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from api import create_app, health


def test_healthz_needs_nothing(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json == {"status": "ok"}


def test_readyz_ready(client: FlaskClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(health, "alias_version", lambda _uri, modality: "3")
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json["checks"] == {
        "mongodb": True, "champions": {m: "3" for m in health.MODALITIES}}


def test_readyz_names_missing_champions(client: FlaskClient, monkeypatch) -> None:
    def lookup(_uri: str, modality: str) -> str | None:
        if modality == "audio":
            raise ConnectionError("registry down")
        return None if modality == "video" else "1"

    monkeypatch.setattr(health, "alias_version", lookup)
    response = client.get("/readyz")
    assert response.status_code == 503
    reasons = response.json["reasons"]
    assert any("video" in r for r in reasons)
    assert any("audio" in r and "ConnectionError" in r for r in reasons)
    assert not any("registry down" in r for r in reasons)  # the raw text is logged, not shown
    assert response.json["error"]["code"] == "not_ready"


def test_readyz_without_mongodb(detector_env, engine, monkeypatch) -> None:
    monkeypatch.setattr(health, "alias_version", lambda _uri, modality: "1")
    monkeypatch.setattr(health, "PING_TIMEOUT_S", 0.2)
    app = create_app({"ENGINE": engine, "MONGO_URI": "mongodb://127.0.0.1:1/"})
    response = app.test_client().get("/readyz")
    assert response.status_code == 503 and response.json["checks"]["mongodb"] is False


@pytest.mark.parametrize(("method", "url", "status", "code"), [
    ("get", "/no/such/page", 404, "not_found"),
    ("get", "/api/v1/detections", 405, "method_not_allowed"),
    ("delete", "/healthz", 405, "method_not_allowed"),
])
def test_werkzeug_errors_are_json(client: FlaskClient, method, url, status, code) -> None:
    response = getattr(client, method)(url)
    assert response.status_code == status and response.is_json
    assert response.json["error"]["code"] == code and response.json["error"]["message"]


def test_unexpected_error_is_json_500(app: Flask) -> None:
    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("secret detail")

    response = app.test_client().get("/boom")
    assert response.status_code == 500 and response.json["error"]["code"] == "internal_error"
    assert "secret" not in response.get_data(as_text=True)


def test_max_content_length_from_limits(app: Flask, detector_env) -> None:
    limits = detector_env.limits
    expected = limits.max_upload_bytes + limits.multipart_overhead_bytes
    assert app.config["MAX_CONTENT_LENGTH"] == expected


def test_upload_page(client: FlaskClient) -> None:
    response = client.get("/")
    assert response.status_code == 200 and response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert '<script src="/static/web/web.js"' in page
    response.close()
    script = client.get("/static/web/web.js")
    code = script.get_data(as_text=True)
    assert "/auth/token" in code and "/detections" in code
    script.close()


def test_engine_from_config(app: Flask, engine) -> None:
    assert app.extensions["engine"] is engine
