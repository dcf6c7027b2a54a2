"""Test helpers: media made in the tests (photo-like JPEG, speech WAV, text), a live server."""

from __future__ import annotations

import threading
from pathlib import Path

import cv2
import numpy as np
import pytest
import soundfile as sf
from flask import Flask
from flask.testing import FlaskClient

SPEECH = Path("/usr/share/pocketsphinx/test/data")
TEXT = (
    "The committee met on Tuesday to review the harbour proposal. Several members asked "
    "whether the budget had been checked by an independent auditor. The chair promised a "
    "written answer before the next meeting, and the session closed shortly after four."
)


def photo(width: int = 320, height: int = 240, seed: int = 0) -> np.ndarray:
    """A photo-like BGR image: smooth gradients, shapes, blur and sensor noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    base = np.stack([80 + 100 * xx / width, 60 + 120 * yy / height,
                     140 - 60 * (xx + yy) / (width + height)], axis=-1)
    image = base.astype(np.uint8)
    for _ in range(6):
        centre = (int(rng.integers(0, width)), int(rng.integers(0, height)))
        colour = tuple(int(c) for c in rng.integers(0, 255, 3))
        cv2.circle(image, centre, int(rng.integers(10, height // 3)), colour, -1)
    image = cv2.GaussianBlur(image, (5, 5), 1.5)
    noise = rng.normal(0, 4, image.shape)
    return np.clip(image + noise, 0, 255).astype(np.uint8)


def write_jpeg(path: Path, width: int = 320, height: int = 240) -> Path:
    assert cv2.imwrite(str(path), photo(width, height), [cv2.IMWRITE_JPEG_QUALITY, 90])
    return path


def write_wav(path: Path, seconds: float = 2.0, rate: int = 16_000) -> Path:
    """`seconds` of real speech (pocketsphinx test recordings, resampled to `rate`): a tone
    would be refused as not speech (`models.applicability`)."""
    import librosa

    recordings = sorted(SPEECH.glob("**/*.wav"))
    if not recordings:
        pytest.skip("pocketsphinx-testdata is not installed (make data)")
    parts = [librosa.load(str(r), sr=rate)[0] for r in recordings[:6]]
    samples = np.concatenate(parts)
    assert len(samples) >= seconds * rate
    sf.write(str(path), samples[: int(seconds * rate)], rate, subtype="PCM_16")
    return path


def authed_client(app: Flask) -> FlaskClient:
    """A test client that sends the service's token (INFERENCE_TOKEN) on every request."""
    from config import get_config

    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {get_config().inference_token}"
    return client


def serve_in_thread(app: Flask) -> tuple[str, object]:
    """Start waitress on a free port in a daemon thread; (base URL, server)."""
    from waitress import create_server

    server = create_server(app, host="127.0.0.1", port=0, threads=4)
    threading.Thread(target=server.run, name="waitress-test", daemon=True).start()
    return f"http://127.0.0.1:{server.effective_port}", server


def stop_server(server: object) -> None:
    server.close()  # type: ignore[attr-defined]
    server.task_dispatcher.shutdown(timeout=5)  # type: ignore[attr-defined]


def write_mp4(path: Path, frames: int = 12, fps: float = 6.0) -> Path:
    """A 2 s, 160x120 mp4v clip of a moving photo-like scene."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (160, 120))
    scene = photo(320, 240)
    for i in range(frames):
        writer.write(np.ascontiguousarray(scene[i * 4 : i * 4 + 120, i * 8 : i * 8 + 160]))
    writer.release()
    return path
