"""API fixtures: the app on a fresh database with a stand-in engine, a client, an auth helper."""

from __future__ import annotations

import io
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
import soundfile as sf
from flask import Flask
from flask.testing import FlaskClient

from api import create_app
from config import Config
from storage import jobs, media, results, users
from storage.db import get_db
from tests.engine_double import RunOnlyEngine


class FakeEngine(RunOnlyEngine):
    """Stands in for the workflow: writes a result per media through storage when the job
    is waited on or refreshed (as if it had run in the background meanwhile)."""

    name = "fake"

    def __init__(self) -> None:
        self.pending: list[str] = []
        self.refreshed: list[str] = []
        self.fail_submit = False
        self.stall = False

    def submit(self, job_id: str) -> None:
        if self.fail_submit:
            raise ConnectionError("engine down")
        self.pending.append(job_id)

    def refresh(self, job_id: str) -> None:
        self.refreshed.append(job_id)
        self._finish(job_id)

    def wait(self, job_id: str, timeout: float) -> None:
        if self.stall:
            raise TimeoutError(job_id)
        self._finish(job_id)

    def _finish(self, job_id: str) -> None:
        if job_id not in self.pending:
            return
        self.pending.remove(job_id)
        db = get_db()
        for media_id in jobs.get_job(db, job_id)["media_ids"]:
            modality = media.get_media(db, media_id)["modality"]
            results.upsert_result(db, {
                "job_id": job_id, "media_id": media_id, "score": 0.25, "verdict": "authentic",
                "model": {"name": f"detector-{modality}", "version": "1"},
                "explanation": {"stand_in": True},
            })
        jobs.update_job(db, job_id, status="succeeded")


@pytest.fixture
def engine() -> FakeEngine:
    return FakeEngine()


@pytest.fixture
def app(detector_env: Config, engine: FakeEngine) -> Flask:
    return create_app({"TESTING": True, "ENGINE": engine})


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


class AuthActions:
    """Create users and get bearer-token headers for them."""

    def __init__(self, client: FlaskClient) -> None:
        self._client = client
        self._tokens: dict[str, str] = {}

    def user(self, name: str = "alice", admin: bool = False) -> dict:
        return users.create_user(get_db(), name, f"password-{name}", admin=admin)

    def token(self, name: str = "alice", password: str | None = None) -> str:
        response = self._client.post(
            "/api/v1/auth/token", auth=(name, password or f"password-{name}")
        )
        assert response.status_code == 200, response.json
        return response.json["access_token"]

    def headers(self, name: str = "alice", admin: bool = False) -> dict[str, str]:
        if name not in self._tokens:
            if get_db().users.find_one({"name": name}) is None:
                self.user(name, admin=admin)
            self._tokens[name] = self.token(name)
        return {"Authorization": f"Bearer {self._tokens[name]}"}


@pytest.fixture
def auth(client: FlaskClient) -> AuthActions:
    return AuthActions(client)


def _png(width: int = 64, height: int = 48, shade: int = 0) -> bytes:
    y, x = np.mgrid[0:height, 0:width]
    img = np.dstack([x * 4 % 256, y * 5 % 256, (x + y + shade) % 256]).astype(np.uint8)
    return cv2.imencode(".png", img)[1].tobytes()


def _wav(seconds: float = 1.0, rate: int = 16000) -> bytes:
    t = np.arange(int(seconds * rate)) / rate
    out = io.BytesIO()
    sf.write(out, (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), rate, format="WAV")
    return out.getvalue()


def _mp4() -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "clip.mp4"
        writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10.0, (64, 48))
        for i in range(10):
            writer.write(np.full((48, 64, 3), i * 20, np.uint8))
        writer.release()
        return path.read_bytes()


@pytest.fixture(scope="session")
def samples() -> dict[str, bytes]:
    """Small valid media made here: png, jpg, wav, mp4, text; `photo` and `photo_jpg` are large
    and textured enough for the image detector to apply (`models.applicability`), the others
    are not (a real scorer answers `not_applicable` for them)."""
    jpg = cv2.imencode(".jpg", cv2.imdecode(np.frombuffer(_png(), np.uint8), 1))[1].tobytes()
    photo = _png(160, 120)
    photo_jpg = cv2.imencode(".jpg", cv2.imdecode(np.frombuffer(photo, np.uint8), 1))[1]
    return {
        "png": _png(), "png2": _png(shade=50), "jpg": jpg, "wav": _wav(), "mp4": _mp4(),
        "photo": photo, "photo_jpg": photo_jpg.tobytes(),
        "txt": ("Plain words written by a person for the detector to read. " * 3).encode(),
    }


def files(*items: tuple[bytes, str]) -> dict:
    """A multipart body with each (bytes, filename) in the field `file`."""
    return {"file": [(io.BytesIO(data), name) for data, name in items]}


@pytest.fixture
def upload() -> Iterator:
    """`upload((bytes, filename), ...)` -> a multipart body with the field `file`."""
    yield files


@pytest.fixture
def auth_factory(engine: FakeEngine):
    """`make(extra_config)` -> (client, bearer headers of a fresh user) for an app built with
    extra configuration (limits ...)."""

    def make(extra: dict) -> tuple[FlaskClient, dict[str, str]]:
        client = create_app({"TESTING": True, "ENGINE": engine, **extra}).test_client()
        return client, AuthActions(client).headers("alice")

    return make


@pytest.fixture
def make_app(detector_env: Config, engine, monkeypatch: pytest.MonkeyPatch
             ) -> Callable[..., Flask]:
    """`make_app(VAR=value, ...)`: an app built with those environment settings."""

    def make(**env: str) -> Flask:
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        return create_app({"TESTING": True, "ENGINE": engine})

    return make
