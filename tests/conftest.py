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


@pytest.fixture
def detector_env(
    tmp_path: Path, mongo_uri: str, mlflow_uri: str, monkeypatch: pytest.MonkeyPatch
) -> Config:
    """Point every part at a fresh var/ folder, a fresh database and the session's MLflow."""
    var = tmp_path / "var"
    monkeypatch.setenv("DETECTOR_VAR_DIR", str(var))
    monkeypatch.delenv("MEDIA_ROOT", raising=False)
    monkeypatch.delenv("SCRATCH_ROOT", raising=False)
    monkeypatch.delenv("ARGO_SERVER", raising=False)
    monkeypatch.delenv("INFERENCE_URL", raising=False)
    monkeypatch.setenv("MONGO_URI", mongo_uri)
    monkeypatch.setenv("MONGO_DB", f"test_{uuid.uuid4().hex[:12]}")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_uri)
    artifacts = Path(mlflow_uri.removeprefix("sqlite:///")).parent / "artifacts"
    monkeypatch.setenv("MLFLOW_ARTIFACT_ROOT", str(artifacts))
    monkeypatch.setenv("JWT_SECRET", "test-secret-key-that-is-long-enough-for-hs256")
    return get_config()
