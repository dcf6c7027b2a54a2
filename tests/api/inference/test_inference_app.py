"""The service app: scoring real media and text, JSON 4xx errors, probes and metrics."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families
from serving_helpers import TEXT, authed_client, write_mp4

from api.inference.app import create_app
from api.inference.settings import ServingSettings
from models.registry.champions import ChampionSet
from models.registry.settings import RegistrySettings

TIMINGS = {"decode", "featurize", "model", "total"}


def _check_result(body: dict, modality: str, champions: ChampionSet) -> None:
    assert body["modality"] == modality
    assert 0.0 <= body["score"] <= 1.0
    assert body["verdict"] in {"synthetic", "authentic", "uncertain"}
    loaded = champions.get(modality)
    assert body["model"] == {"name": loaded.name, "version": str(loaded.version)}
    assert body["explanation"]["n_units"] >= 1 and body["explanation"]["units"]
    assert TIMINGS <= set(body["timings_ms"])
    assert body["timings_ms"]["total"] >= body["timings_ms"]["model"] >= 0


def test_scores_a_jpeg_sent_as_the_body(client: FlaskClient, jpeg: Path,
                                        champions: ChampionSet) -> None:
    response = client.post("/v1/score?filename=photo.jpg", data=jpeg.read_bytes(),
                           content_type="application/octet-stream")
    assert response.status_code == 200, response.json
    _check_result(response.json, "image", champions)
    assert response.json["explanation"]["units"][0]["box"]


def test_scores_a_wav_sent_as_multipart(client: FlaskClient, wav: Path,
                                        champions: ChampionSet) -> None:
    with wav.open("rb") as fh:
        response = client.post("/v1/score?modality=audio", data={"file": (fh, "speech.wav")},
                               content_type="multipart/form-data")
    assert response.status_code == 200, response.json
    _check_result(response.json, "audio", champions)
    assert len(response.json["explanation"]["units"]) == 2  # 2 s = two 1 s segments
    envelope = response.json["waveform"]  # for the API to store: it decodes nothing itself
    assert envelope["duration_s"] == pytest.approx(2.0, abs=0.01)
    assert len(envelope["peaks"]) == 800 and all(lo <= hi for lo, hi in envelope["peaks"])


def test_scores_an_mp4(client: FlaskClient, tmp_path: Path, champions: ChampionSet) -> None:
    clip = write_mp4(tmp_path / "clip.mp4")
    response = client.post("/v1/score?filename=clip.mp4&modality=video", data=clip.read_bytes(),
                           content_type="application/octet-stream")
    assert response.status_code == 200, response.json
    _check_result(response.json, "video", champions)
    assert "time_s" in response.json["explanation"]["units"][0]


def test_scores_text(client: FlaskClient, champions: ChampionSet) -> None:
    response = client.post("/v1/score/text", json={"text": TEXT})
    assert response.status_code == 200, response.json
    _check_result(response.json, "text", champions)
    assert response.json["explanation"]["units"][0]["text"].startswith("The committee")


@pytest.mark.parametrize(
    ("body", "query", "status", "code"),
    [
        (b"", "filename=x.jpg", 422, "invalid_media"),
        (b"%PDF-1.7 not a detector input", "filename=a.pdf", 415, "unsupported_type"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", "filename=cut.jpg", 422, "invalid_media"),
        (b"too short", "filename=a.txt", 422, "invalid_media"),
        (b"word " * 20, "filename=a.txt&modality=image", 422, "modality_mismatch"),
        (b"word " * 20, "filename=a.txt&modality=hologram", 400, "bad_modality"),
    ],
)
def test_bad_media_is_a_json_4xx(client: FlaskClient, body: bytes, query: str, status: int,
                                 code: str) -> None:
    response = client.post(f"/v1/score?{query}", data=body,
                           content_type="application/octet-stream")
    assert response.status_code == status
    assert response.json["error"]["code"] == code and response.json["error"]["message"]


@pytest.mark.parametrize(
    ("payload", "status", "code"),
    [("{not json", 400, "bad_json"), ('{"txt": "x"}', 400, "missing_field"),
     ('{"text": "short"}', 422, "invalid_media")],
)
def test_bad_text_is_a_json_4xx(client: FlaskClient, payload: str, status: int,
                                code: str) -> None:
    response = client.post("/v1/score/text", data=payload, content_type="application/json")
    assert response.status_code == status and response.json["error"]["code"] == code


def test_upload_over_the_limit_is_413(champions: ChampionSet, jpeg: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAX_UPLOAD_BYTES", "1000")
    client = authed_client(create_app(champions, ServingSettings(batch_max=1), start=False))
    response = client.post("/v1/score?filename=photo.jpg", data=jpeg.read_bytes())
    assert response.status_code == 413 and response.json["error"]["code"] == "too_large"


def test_probes(client: FlaskClient, champions: ChampionSet, detector_env) -> None:
    assert client.get("/healthz").json == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json["models"]["image"]["version"] == champions.get("image").version

    empty = ChampionSet(RegistrySettings.from_config(detector_env))  # nothing loaded yet
    cold = authed_client(create_app(empty, ServingSettings(), start=False))
    assert cold.get("/healthz").status_code == 200
    not_ready = cold.get("/readyz")
    assert not_ready.status_code == 503
    assert not_ready.json["error"]["code"] == "not_ready" and len(not_ready.json["reasons"]) == 4
    refused = cold.post("/v1/score/text", json={"text": TEXT})
    assert refused.status_code == 503 and refused.json["error"]["code"] == "model_unavailable"


def _samples(text: str) -> dict[tuple[str, frozenset], float]:
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_metrics_after_requests(client: FlaskClient, champions: ChampionSet) -> None:
    client.post("/v1/score/text", json={"text": TEXT})
    client.post("/v1/score?filename=a.txt", data=b"short")
    page = client.get("/metrics")
    assert page.status_code == 200 and page.mimetype == "text/plain"
    samples = _samples(page.get_data(as_text=True))
    text_model = {"modality": "text", "model": "detector-text",
                  "version": champions.get("text").version}
    for name, labels, value in (
        ("detector_inference_requests_total",
         {"route": "/v1/score/text", "method": "POST", "status": "200"}, 1),
        ("detector_inference_requests_total",
         {"route": "/v1/score", "method": "POST", "status": "422"}, 1),
        ("detector_inference_request_seconds_count",
         {"route": "/v1/score/text", "status": "200"}, 1),
        ("detector_inference_model_seconds_count", text_model, 1),
        ("detector_inference_model_info", text_model, 1),
        ("detector_inference_in_flight_requests", {}, 1),  # the /metrics request itself
        ("detector_inference_batch_requests_count", {"modality": "text"}, 1),
        ("detector_inference_batch_queue_depth", {"modality": "text"}, 0),
    ):
        assert samples.get((name, frozenset(labels.items()))) == value, (name, labels)


def test_media_the_detector_does_not_apply_to_get_a_reason_not_a_score(
        client: FlaskClient, champions: ChampionSet, tmp_path: Path) -> None:
    import soundfile as sf

    silence = tmp_path / "silence.wav"
    sf.write(str(silence), np.zeros(48_000, np.float32), 16_000)
    response = client.post("/v1/score?filename=silence.wav", data=silence.read_bytes(),
                           content_type="application/octet-stream")
    assert response.status_code == 200, response.json
    body = response.json
    assert body["score"] is None and body["verdict"] == "not_applicable"
    assert body["reason_code"] == "audio_silent" and body["reason"]
    assert "waveform" not in body  # a refused sound is not drawn
    loaded = champions.get("audio")
    assert body["model"] == {"name": loaded.name, "version": str(loaded.version)}
    assert body["explanation"]["units"] == [] and TIMINGS <= set(body["timings_ms"])
    text = client.post("/v1/score/text", json={"text": "Der Hund schläft heute den ganzen "
                                                        "Tag im warmen Garten hinter dem Haus."})
    assert text.status_code == 200 and text.json["reason_code"] == "text_not_english"
    samples = _samples(client.get("/metrics").get_data(as_text=True))
    for labels in ({"modality": "audio", "reason_code": "audio_silent"},
                   {"modality": "text", "reason_code": "text_not_english"}):
        assert samples.get(("detector_inference_not_applicable_total",
                            frozenset(labels.items()))) == 1
    assert samples.get(("detector_inference_scored_total", frozenset(
        {"modality": "audio", "verdict": "not_applicable"}.items()))) == 1
    audio_model = {"modality": "audio", "model": loaded.name, "version": str(loaded.version)}
    assert ("detector_inference_model_seconds_count", frozenset(audio_model.items())) \
        not in samples  # no model ran


def test_scoring_needs_the_shared_token(app, detector_env) -> None:
    bare = app.test_client()
    for headers in ({}, {"Authorization": "Bearer wrong"},
                    {"Authorization": f"Bearer {detector_env.inference_token}x"}):
        answer = bare.post("/v1/score/text", json={"text": TEXT}, headers=headers)
        assert answer.status_code == 401 and answer.json["error"]["code"] == "unauthorized"
        assert bare.post("/v1/score?filename=a.txt", data=TEXT.encode(),
                         headers=headers).status_code == 401
    assert bare.get("/healthz").status_code == 200  # probes and metrics stay open
    ok = bare.post("/v1/score/text", json={"text": TEXT},
                   headers={"Authorization": f"Bearer {detector_env.inference_token}"})
    assert ok.status_code == 200
