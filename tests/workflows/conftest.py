"""Workflow fixtures: a module-wide environment, so one local engine serves a whole module."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from config import Config, get_config


@pytest.fixture(scope="module")
def module_env(
    tmp_path_factory: pytest.TempPathFactory, mongo_uri: str, mlflow_uri: str
) -> Iterator[Config]:
    """Like `detector_env`, for a whole module (so one worker pool serves all its tests)."""
    var = tmp_path_factory.mktemp("var")
    with pytest.MonkeyPatch.context() as mp:
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
        yield get_config()

