"""Fixtures for the inference service: loaded champions, the app, a live waitress server, media."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from serving_helpers import authed_client, serve_in_thread, stop_server, write_jpeg, write_wav

from api.inference.app import create_app
from api.inference.service import shutdown
from api.inference.settings import ServingSettings
from config import Config
from models.registry.champions import ChampionSet
from models.registry.client import ensure_baselines
from models.registry.settings import RegistrySettings


@pytest.fixture
def champions(detector_env: Config) -> ChampionSet:
    """Every modality's champion from the session MLflow (baselines registered), loaded."""
    ensure_baselines()
    loaded = ChampionSet(RegistrySettings.from_config(detector_env), reload_s=3600)
    assert set(loaded.check().values()) <= {"loaded", "unchanged"}
    return loaded


@pytest.fixture
def app(champions: ChampionSet) -> Iterator[Flask]:
    app = create_app(champions, ServingSettings(batch_max=4, batch_wait_ms=1.0), start=False)
    yield app
    shutdown(app)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return authed_client(app)


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
    return write_wav(tmp_path / "speech.wav")
