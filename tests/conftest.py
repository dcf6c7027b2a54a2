"""Shared fixtures: a real embedded MongoDB over a socket, a temporary var/ and MLflow registry."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from config import Config, get_config
from storage.embedded import EmbeddedMongo


@pytest.fixture(scope="session")
def mongo_uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One nx-27017 server for the whole run; each test gets its own database."""
    with EmbeddedMongo(tmp_path_factory.mktemp("mongo")) as server:
        yield server.uri


@pytest.fixture(scope="session")
def mlflow_uri(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A session-wide sqlite MLflow registry (baselines are registered by `champions`)."""
    root = tmp_path_factory.mktemp("mlflow")
    return f"sqlite:///{root / 'mlflow.db'}"


def point_env(mp: pytest.MonkeyPatch, var: Path, mongo_uri: str, mlflow_uri: str) -> Config:
    """Point every part at `var`, a fresh database and the session's MLflow; the config."""
    mp.setenv("DETECTOR_VAR_DIR", str(var))
    for name in ("MEDIA_ROOT", "SCRATCH_ROOT", "ARGO_SERVER", "INFERENCE_URL"):
        mp.delenv(name, raising=False)
    mp.setenv("MONGO_URI", mongo_uri)
    mp.setenv("MONGO_DB", f"test_{uuid.uuid4().hex[:12]}")
    mp.setenv("MLFLOW_TRACKING_URI", mlflow_uri)
    artifacts = Path(mlflow_uri.removeprefix("sqlite:///")).parent / "artifacts"
    mp.setenv("MLFLOW_ARTIFACT_ROOT", str(artifacts))
    mp.setenv("JWT_SECRET", "test-secret-key-that-is-long-enough-for-hs256")
    mp.setenv("LOCAL_WORKERS", "2")
    return get_config()


@pytest.fixture
def detector_env(
    tmp_path: Path, mongo_uri: str, mlflow_uri: str, monkeypatch: pytest.MonkeyPatch
) -> Config:
    """A fresh var/ folder and database for one test, with the session's MLflow."""
    return point_env(monkeypatch, tmp_path / "var", mongo_uri, mlflow_uri)


@pytest.fixture(scope="module")
def module_env(
    tmp_path_factory: pytest.TempPathFactory, mongo_uri: str, mlflow_uri: str
) -> Iterator[Config]:
    """Like `detector_env`, for a whole module (so one worker pool serves all its tests)."""
    with pytest.MonkeyPatch.context() as mp:
        yield point_env(mp, tmp_path_factory.mktemp("var"), mongo_uri, mlflow_uri)


@pytest.fixture(scope="module")
def live_server(module_env: Config) -> Iterator[str]:
    """The real app (local engine, champions registered) behind waitress on a free port: its
    base URL."""
    import threading

    from waitress.server import create_server

    from api import create_app
    from models.registry.client import ensure_baselines
    from models.registry.settings import RegistrySettings

    ensure_baselines(RegistrySettings.from_config(module_env))
    app = create_app()
    httpd = create_server(app, host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=httpd.run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.effective_port}"
    finally:
        httpd.close()
        app.extensions["engine"].shutdown()


@pytest.fixture
def fresh_mlflow(detector_env: Config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Config:
    """`detector_env` with an empty MLflow registry of its own (for tests that count versions)."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'own-mlflow.db'}")
    monkeypatch.setenv("MLFLOW_ARTIFACT_ROOT", str(tmp_path / "own-artifacts"))
    return get_config()
