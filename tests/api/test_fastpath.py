"""Sync detections through the real inference service, and the fall-back to the engine."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest
from waitress import create_server

from api import create_app
from api.inference.app import create_app as create_inference_app
from api.inference.client import InferenceClient
from api.inference.service import shutdown
from api.inference.settings import ServingSettings
from config import Config, get_config
from models.registry.champions import ChampionSet
from models.registry.client import ensure_baselines
from models.registry.settings import RegistrySettings
from storage import jobs
from storage.db import get_db


@pytest.fixture
def inference_url(detector_env: Config) -> Iterator[str]:
    """The real inference service (champions loaded) on waitress, on a free port."""
    ensure_baselines()
    champions = ChampionSet(RegistrySettings.from_config(detector_env), reload_s=3600)
    champions.check()
    service = create_inference_app(champions, ServingSettings(), start=False)
    server = create_server(service, host="127.0.0.1", port=0, threads=2)
    threading.Thread(target=server.run, daemon=True).start()
    yield f"http://127.0.0.1:{server.effective_port}"
    server.close()
    shutdown(service)


def _inference(url: str, timeout_s: float) -> InferenceClient:
    """A client of the service at `url` with the test's INFERENCE_TOKEN."""
    return InferenceClient(url, get_config().inference_token, timeout_s=timeout_s)


def _closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def test_sync_goes_through_the_inference_service(inference_url, engine, auth, upload, samples):
    app = create_app({"TESTING": True, "ENGINE": engine,
                      "INFERENCE": _inference(inference_url, 60)})
    client = app.test_client()
    answer = client.post("/api/v1/detections?mode=sync", headers=auth.headers(),
                         data=upload((samples["photo_jpg"], "a.jpg"), (samples["txt"], "b.txt")))
    assert answer.status_code == 200, answer.json
    body = answer.json
    assert body["engine"] == "inference" and "fallback" not in body
    assert engine.pending == []  # the workflow engine was not used
    assert [r["modality"] for r in body["results"]] == ["image", "text"]
    for result in body["results"]:
        assert result["model"]["version"] == ensure_baselines()[result["modality"]]
        assert result["explanation"]["units"]
    job = jobs.get_job(get_db(), body["job_id"])
    assert job["status"] == "succeeded"
    assert set(job["nodes"]) == {"inference(0)", "inference(1)"}


def test_service_down_falls_back_to_a_queued_job(engine, auth, upload, samples):
    app = create_app({"TESTING": True, "ENGINE": engine,
                      "INFERENCE": _inference(_closed_port_url(), 2)})
    client = app.test_client()
    answer = client.post("/api/v1/detections?mode=sync", headers=auth.headers(),
                         data=upload((samples["png"], "a.png")))
    assert answer.status_code == 200, answer.json
    assert "inference service unavailable" in answer.json["fallback"]
    assert answer.json["engine"] == engine.name
    assert len(answer.json["results"]) == 1  # the engine scored it: nothing lost


def _undecodable_jpeg(jpg: bytes) -> bytes:
    """A JPEG whose segments are all there (the header probe passes) but that no decoder takes
    (a 13-bit sample precision in its frame header)."""
    data = bytearray(jpg)
    sof = data.find(b"\xff\xc0")
    assert sof > 0
    data[sof + 4] = 13
    return bytes(data)


def _nothing_stored(detector_env: Config) -> None:
    db = get_db()
    for name in ("media", "jobs", "job_nodes", "results"):
        assert db[name].count_documents({}) == 0, name
    blobs = [p for p in detector_env.media_root.rglob("*") if p.is_file()]
    assert blobs == []


def test_sync_answer_matches_what_is_stored(inference_url, engine, auth, upload, samples):
    """The sync answer is built from the documents in hand: it is what a later GET reads."""
    app = create_app({"TESTING": True, "ENGINE": engine,
                      "INFERENCE": _inference(inference_url, 60)})
    client = app.test_client()
    headers = auth.headers()
    answer = client.post("/api/v1/detections?mode=sync", headers=headers,
                         data=upload((samples["jpg"], "a.jpg"), (samples["wav"], "b.wav")))
    assert answer.status_code == 200, answer.json
    again = client.get(f"/api/v1/jobs/{answer.json['job_id']}", headers=headers)
    assert again.status_code == 200
    assert again.json["status"] == answer.json["status"] == "succeeded"
    assert again.json["results"] == answer.json["results"]
    assert {n["status"] for n in again.json["nodes"].values()} == {"succeeded"}
    job = get_db().jobs.find_one({"job_id": answer.json["job_id"]})
    assert job["_rev"] == 1  # created running, finished with one guarded replace
    assert job["created_at"] <= job["updated_at"]  # still dates, not strings


def test_heatmap_comes_drawn_by_the_service(inference_url, engine, auth, upload, samples,
                                            detector_env: Config, monkeypatch):
    """The sync path stores the heatmap the inference service drew: the API decodes nothing."""
    import models.explain

    def refuse(*_args: object) -> None:
        raise AssertionError("the API process decoded an upload")

    app = create_app({"TESTING": True, "ENGINE": engine,
                      "INFERENCE": _inference(inference_url, 60)})
    client = app.test_client()
    headers = auth.headers()
    answer = client.post("/api/v1/detections?mode=sync", headers=headers,
                         data=upload((samples["photo"], "a.png")))
    assert answer.status_code == 200, answer.json
    result = answer.json["results"][0]
    link = result["links"]["heatmap"]
    assert "heatmap" not in result["explanation"]  # a path on the media volume: only the link
    assert "heatmap_png" not in str(answer.json)  # the service's drawing is stored, not echoed
    stored = get_db().results.find_one({"media_id": result["media_id"]})
    png = detector_env.media_root / stored["explanation"]["heatmap"]
    assert png.is_file()  # written with the result, from the service's answer
    monkeypatch.setattr(models.explain, "render_heatmap", refuse)
    first = client.get(link, headers=headers)
    assert first.status_code == 200 and first.data == png.read_bytes()
    assert first.data.startswith(b"\x89PNG")
    other = auth.headers("bob")
    assert client.get(link, headers=other).status_code == 404
    png.unlink()
    assert client.get(link, headers=headers).status_code == 404  # never redrawn by the API


class StandInClient:
    """An inference client that answers from a function (no service)."""

    def __init__(self, answer) -> None:
        self.answer = answer
        self.calls: list[str] = []

    def score_file(self, path, filename=None, modality=None):
        self.calls.append(filename)
        return self.answer(path, filename, modality)


def test_service_rejecting_the_input_leaves_nothing(engine, auth, upload, samples,
                                                    detector_env: Config):
    """An image that passes the header probe but that the service cannot decode is bad input:
    422, and no media, job, result or file is left behind."""
    from api.inference.client import InferenceRejected

    def reject(path, filename, modality):
        raise InferenceRejected(422, {"error": {"code": "invalid_media",
                                                "message": f"{filename}: cannot decode"}})

    stand_in = StandInClient(reject)
    app = create_app({"TESTING": True, "ENGINE": engine, "INFERENCE": stand_in})
    client = app.test_client()
    answer = client.post("/api/v1/detections?mode=sync", headers=auth.headers(),
                         data=upload((_undecodable_jpeg(samples["jpg"]), "bad.jpg")))
    assert answer.status_code == 422, answer.json
    assert answer.json["error"]["code"] == "invalid_media"
    assert "bad.jpg" in answer.json["error"]["message"]
    assert stand_in.calls == ["bad.jpg"]
    _nothing_stored(detector_env)


@pytest.fixture
def no_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if this process decodes an image or opens a video decoder: the API holds
    the secrets and only reads headers (the workers and the inference service decode)."""
    import cv2

    def refuse(*args, **kwargs):
        pytest.fail("the API process decoded media")

    for name in ("imdecode", "imread", "VideoCapture"):
        monkeypatch.setattr(cv2, name, refuse)
    monkeypatch.setattr("soundfile.SoundFile.read", refuse)


@pytest.mark.parametrize("mode", ["async", "sync-with-video"])
def test_media_for_the_engine_are_not_decoded_by_the_api(mode, engine, auth, upload, samples,
                                                         no_decoding):
    """Every upload is probed from its headers: a JPEG only a decoder refuses is taken, and its
    job fails in the worker's preprocess step (`models.media.load.check_media`)."""
    stand_in = StandInClient(lambda *a: pytest.fail("the service must not be called"))
    app = create_app({"TESTING": True, "ENGINE": engine, "INFERENCE": stand_in})
    client = app.test_client()
    items = [(_undecodable_jpeg(samples["jpg"]), "bad.jpg"), (samples["wav"], "a.wav")]
    url = "/api/v1/detections?mode=async"
    if mode == "sync-with-video":
        items.append((samples["mp4"], "clip.mp4"))
        url = "/api/v1/detections?mode=sync"
    answer = client.post(url, headers=auth.headers(), data=upload(*items))
    assert answer.status_code in (200, 202), answer.json
    assert stand_in.calls == []


def test_job_insert_failing_in_the_background_undoes_the_upload(
        detector_env: Config, samples, tmp_path, monkeypatch: pytest.MonkeyPatch):
    """The sync path inserts the job while it scores; if that insert fails, the media and the
    bytes stored for it are removed and the failure surfaces at `wait()`."""
    from concurrent.futures import ThreadPoolExecutor

    from config import Limits
    from workflows import ingest

    path = tmp_path / "a.png"
    path.write_bytes(samples["png"])
    staged = [ingest.stage(path, "a.png", Limits())]

    def broken(db, doc):
        raise RuntimeError("insert failed")

    monkeypatch.setattr(jobs, "insert_job", broken)
    with ThreadPoolExecutor(1) as pool:
        stored = ingest.store_media_and_job(get_db(), staged, "alice", "inference", "sync",
                              detector_env.media_root, status="running", background=pool)
        with pytest.raises(RuntimeError, match="insert failed"):
            stored.wait()
    _nothing_stored(detector_env)


def test_fallback_hands_the_decoding_to_the_engine(engine, auth, upload, samples,
                                                   no_decoding):
    """With the service down the job goes to the engine as it is: the API does not decode the
    image the service would have (the worker's preprocess step does, and fails the job)."""
    app = create_app({"TESTING": True, "ENGINE": engine,
                      "INFERENCE": _inference(_closed_port_url(), 2)})
    client = app.test_client()
    answer = client.post("/api/v1/detections?mode=sync", headers=auth.headers(),
                         data=upload((_undecodable_jpeg(samples["jpg"]), "bad.jpg")))
    assert answer.status_code == 200, answer.json
    assert answer.json["fallback"] and answer.json["engine"] == engine.name


def test_media_the_detectors_do_not_apply_to(inference_url, engine, auth, upload, samples):
    """Silence and a one-word text through the API and the real service: `not_applicable`, a
    reason, a null score; stored so, and read back so."""
    import io

    import numpy as np
    import soundfile as sf

    silence = io.BytesIO()
    sf.write(silence, np.zeros(32_000, np.float32), 16_000, format="WAV")
    app = create_app({"TESTING": True, "ENGINE": engine,
                      "INFERENCE": _inference(inference_url, 60)})
    client = app.test_client()
    headers = auth.headers()
    answer = client.post("/api/v1/detections?mode=sync", headers=headers,
                         data=upload((silence.getvalue(), "silence.wav")))
    assert answer.status_code == 200, answer.json
    text = client.post("/api/v1/detections", headers=headers,
                       json={"text": "Antidisestablishmentarianism."})
    assert text.status_code == 200, text.json
    assert answer.json["engine"] == text.json["engine"] == "inference"
    results = answer.json["results"] + text.json["results"]
    assert [(r["modality"], r["reason_code"]) for r in results] == [
        ("audio", "audio_silent"), ("text", "text_too_short")]
    for result in results:
        assert result["score"] is None and result["verdict"] == "not_applicable"
        assert result["reason"].endswith(".")
        assert result["model"]["version"] == ensure_baselines()[result["modality"]]
        assert "links" not in result  # nothing examined, no heatmap
        again = client.get(f"/api/v1/results/{result['media_id']}", headers=headers)
        assert again.status_code == 200 and again.json == result
    page = client.get("/api/v1/results", headers=headers)
    assert {r["verdict"] for r in page.json["items"]} == {"not_applicable"}
