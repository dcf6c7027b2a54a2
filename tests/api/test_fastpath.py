"""Sync detections through the real inference service, and the fall-back to the engine."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest
from waitress import create_server

from api import create_app
from config import Config
from models.registry import ensure_baselines
from models.serving.app import create_app as create_inference_app
from models.serving.app import shutdown
from models.serving.champions import ChampionSet
from models.serving.client import InferenceClient
from models.serving.settings import ServingSettings
from storage import jobs
from storage.db import get_db


@pytest.fixture
def inference_url(detector_env: Config) -> Iterator[str]:
    """The real inference service (champions loaded) on waitress, on a free port."""
    ensure_baselines()
    champions = ChampionSet(detector_env.mlflow_tracking_uri, reload_s=3600)
    champions.check()
    service = create_inference_app(champions, ServingSettings(), start=False)
    server = create_server(service, host="127.0.0.1", port=0, threads=2)
    threading.Thread(target=server.run, daemon=True).start()
    yield f"http://127.0.0.1:{server.effective_port}"
    server.close()
    shutdown(service)


def _closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def test_sync_goes_through_the_inference_service(inference_url, engine, auth, upload, samples):
    app = create_app({"TESTING": True, "ENGINE": engine,
                      "INFERENCE": InferenceClient(inference_url, timeout_s=60)})
    client = app.test_client()
    answer = client.post("/api/v1/detections?mode=sync", headers=auth.headers(),
                         data=upload((samples["jpg"], "a.jpg"), (samples["txt"], "b.txt")))
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
                      "INFERENCE": InferenceClient(_closed_port_url(), timeout_s=2)})
    client = app.test_client()
    answer = client.post("/api/v1/detections?mode=sync", headers=auth.headers(),
                         data=upload((samples["png"], "a.png")))
    assert answer.status_code == 200, answer.json
    assert "inference service unavailable" in answer.json["fallback"]
    assert answer.json["engine"] == engine.name
    assert len(answer.json["results"]) == 1  # the engine scored it: nothing lost
