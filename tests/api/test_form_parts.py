"""Thousands of parts in one multipart request: refused (413, MAX_FORM_PARTS named) while the
body is parsed, before any file is probed or stored."""

from __future__ import annotations

import io

import pytest
from flask.testing import FlaskClient


def _body(fields: int, png: bytes) -> dict:
    body: dict = {f"f{i}": "x" for i in range(fields)}
    body["file"] = (io.BytesIO(png), "a.png")
    return body


def test_too_many_parts_are_refused_before_any_probe(client: FlaskClient, auth, samples,
                                                     detector_env,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    probed: list[str] = []
    monkeypatch.setattr("workflows.ingest.probe_media", lambda *a, **k: probed.append(a[1]))
    answer = client.post("/api/v1/detections?mode=async", headers=auth.headers(),
                         data=_body(2000, samples["png"]))
    assert answer.status_code == 413
    assert answer.json["error"]["code"] == "too_large"
    assert "MAX_FORM_PARTS" in answer.json["error"]["message"]
    assert "64" in answer.json["error"]["message"]
    assert probed == []
    assert not detector_env.media_root.exists() or not any(detector_env.media_root.rglob("*"))


def test_the_limit_comes_from_the_environment(detector_env, auth_factory, samples,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAX_FORM_PARTS", "300")
    client, headers = auth_factory({})
    ok = client.post("/api/v1/detections?mode=async", headers=headers,
                     data=_body(200, samples["png"]))
    assert ok.status_code == 202, ok.json
    refused = client.post("/api/v1/detections?mode=async", headers=headers,
                          data=_body(400, samples["png"]))
    assert refused.status_code == 413 and "300" in refused.json["error"]["message"]
