"""Fixtures for the inference service: loaded champions, the app, a live waitress server, media."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from serving_media import write_jpeg, write_wav

from config import Config
from models.registry import ensure_baselines
from models.serving.app import create_app, shutdown
from models.serving.champions import ChampionSet
from models.serving.settings import ServingSettings


@pytest.fixture
def champions(detector_env: Config) -> ChampionSet:
    """Every modality's champion from the session MLflow (baselines registered), loaded."""
    ensure_baselines()
    loaded = ChampionSet(detector_env.mlflow_tracking_uri, reload_s=3600)
    assert set(loaded.check().values()) <= {"loaded", "unchanged"}
    return loaded


@pytest.fixture
def app(champions: ChampionSet) -> Iterator[Flask]:
    app = create_app(champions, ServingSettings(batch_max=4, batch_wait_ms=1.0), start=False)
    yield app
    shutdown(app)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def serve_in_thread(app: Flask) -> tuple[str, object]:
    """Start waitress on a free port in a daemon thread; (base URL, server)."""
    from waitress import create_server

    server = create_server(app, host="127.0.0.1", port=0, threads=4)
    threading.Thread(target=server.run, name="waitress-test", daemon=True).start()
    return f"http://127.0.0.1:{server.effective_port}", server


def stop_server(server: object) -> None:
    server.close()  # type: ignore[attr-defined]
    server.task_dispatcher.shutdown(timeout=5)  # type: ignore[attr-defined]


@pytest.fixture
def live_url(app: Flask) -> Iterator[str]:
    """The app served by a real waitress server."""
    url, server = serve_in_thread(app)
    yield url
    stop_server(server)


@pytest.fixture
def closed_port() -> int:
    """A port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def jpeg(tmp_path: Path) -> Path:
    return write_jpeg(tmp_path / "photo.jpg")


@pytest.fixture
def wav(tmp_path: Path) -> Path:
    return write_wav(tmp_path / "tone.wav")
