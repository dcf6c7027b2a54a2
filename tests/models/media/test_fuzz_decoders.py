"""Fuzz every decoder: random and mutated bytes of each supported type through the API's header
probe, the full probe and the workers' decode. Each call ends in a result or a MediaError with
a 4xx status, within a time budget, and the process's peak memory stays under a ceiling."""

from __future__ import annotations

import io
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest
import soundfile as sf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from config import Limits
from models.media.load import decode_media
from models.media.probe import MediaError, probe_media

LIMITS = replace(Limits(), max_image_pixels=4_000_000, max_video_pixels=1_000_000,
                 max_video_frames=600, max_audio_seconds=30.0, max_audio_samples=30 * 48_000,
                 probe_max_frames=600, probe_budget_s=5.0)
"""Small limits: what gets through them decodes in little memory."""
CALL_BUDGET_S = 10.0
"""Longest one probe or decode of a fuzzed file may take (the probe's own budget is 5 s)."""
RSS_CEILING_MB = 600
"""Growth of a fresh process's peak resident memory over a fuzz run of every type."""
MEMORY_EXAMPLES = 15
"""Mutated files per type in the memory run (a process of its own: peak memory is per process)."""
FUZZ = settings(max_examples=40, deadline=None, database=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _image(ext: str) -> bytes:
    y, x = np.mgrid[0:48, 0:64]
    return cv2.imencode(ext, np.dstack([x * 4, y * 5, x + y]).astype(np.uint8))[1].tobytes()


def _audio(fmt: str) -> bytes:
    out = io.BytesIO()
    t = np.arange(8000) / 8000
    sf.write(out, (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), 8000, format=fmt)
    return out.getvalue()


def _video(fourcc: str, ext: str) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"clip{ext}"
        writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), 5.0, (64, 48))
        rng = np.random.default_rng(0)
        for _ in range(5):
            writer.write(rng.integers(0, 256, (48, 64, 3), dtype=np.uint8))
        writer.release()
        return path.read_bytes()


SEEDS: dict[str, tuple[Callable[[], bytes], str]] = {
    "png": (lambda: _image(".png"), "image"), "jpeg": (lambda: _image(".jpg"), "image"),
    "gif": (lambda: _image(".gif"), "image"), "webp": (lambda: _image(".webp"), "image"),
    "bmp": (lambda: _image(".bmp"), "image"), "tiff": (lambda: _image(".tiff"), "image"),
    "wav": (lambda: _audio("WAV"), "audio"), "flac": (lambda: _audio("FLAC"), "audio"),
    "ogg": (lambda: _audio("OGG"), "audio"), "mp3": (lambda: _audio("MP3"), "audio"),
    "mp4": (lambda: _video("mp4v", ".mp4"), "video"),
    "avi": (lambda: _video("MJPG", ".avi"), "video"),
    "mkv": (lambda: _video("MJPG", ".mkv"), "video"),
    "text": (lambda: ("A sentence written for the fuzzer to read. " * 4).encode(), "text"),
}
_seeds: dict[str, bytes] = {}


def seed(kind: str) -> bytes:
    if kind not in _seeds:
        _seeds[kind] = SEEDS[kind][0]()
    return _seeds[kind]


@st.composite
def mutated(draw: st.DrawFn, kind: str) -> bytes:
    """The seed file with bytes overwritten (headers most often), cut short or grown with
    junk; or random bytes behind the seed's magic."""
    data = bytearray(seed(kind))
    how = draw(st.sampled_from(["flip", "flip", "truncate", "junk", "random"]))
    if how == "random":
        return data[:12] + draw(st.binary(min_size=0, max_size=2048))
    if how == "truncate":
        return bytes(data[: draw(st.integers(1, len(data)))])
    if how == "junk":
        at = draw(st.integers(0, len(data)))
        return bytes(data[:at] + draw(st.binary(min_size=1, max_size=512)) + data[at:])
    head = min(len(data), 512)  # most structure is near the start
    for _ in range(draw(st.integers(1, 16))):
        limit = head if draw(st.booleans()) else len(data)
        data[draw(st.integers(0, limit - 1))] = draw(st.integers(0, 255))
    return bytes(data)


def _check(call: Callable[[], object]) -> None:
    start = time.monotonic()
    try:
        call()
    except MediaError as exc:
        assert 400 <= exc.status < 500 and exc.message
    assert time.monotonic() - start < CALL_BUDGET_S


def _run(kind: str, data: bytes) -> None:
    modality = SEEDS[kind][1]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "upload"
        path.write_bytes(data)
        name = "note.txt" if modality == "text" else f"upload.{kind}"
        _check(lambda: probe_media(path, name, LIMITS, header_only=True))  # the API's probe
        if data:  # the worker's full probe and decode (limits from the environment)
            _check(lambda: decode_media(path, modality, Limits.from_env()))


SMALL_LIMITS = (("MAX_IMAGE_PIXELS", LIMITS.max_image_pixels),
                ("MAX_VIDEO_PIXELS", LIMITS.max_video_pixels),
                ("MAX_VIDEO_FRAMES", LIMITS.max_video_frames),
                ("MAX_AUDIO_SECONDS", LIMITS.max_audio_seconds),
                ("MAX_AUDIO_SAMPLES", LIMITS.max_audio_samples),
                ("PROBE_MAX_FRAMES", LIMITS.probe_max_frames),
                ("PROBE_BUDGET_S", LIMITS.probe_budget_s))
"""The limits the workers' decode reads from the environment, set small for the fuzzers."""


@pytest.fixture(autouse=True)
def _small_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in SMALL_LIMITS:
        monkeypatch.setenv(name, str(value))


@pytest.mark.parametrize("kind", sorted(SEEDS))
def test_mutated_files_are_a_result_or_a_4xx(kind: str) -> None:
    @FUZZ
    @given(data=mutated(kind))
    def fuzz(data: bytes) -> None:
        _run(kind, data)

    with tempfile.TemporaryDirectory() as tmp:  # the seed is good (and warms the decoder:
        path = Path(tmp) / "upload"               # first imports are not the file's doing)
        path.write_bytes(seed(kind))
        modality = SEEDS[kind][1]
        probe_media(path, "note.txt" if modality == "text" else "seed", LIMITS, header_only=True)
        decode_media(path, modality, Limits.from_env())
    fuzz()


@FUZZ
@given(data=st.binary(min_size=0, max_size=4096))
def test_random_bytes_are_a_result_or_a_4xx(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "upload.bin"
        path.write_bytes(data)
        _check(lambda: probe_media(path, "upload.bin", LIMITS, header_only=True))
        _check(lambda: probe_media(path, "upload.bin", LIMITS))


def _fuzzer(kind: str, examples: int) -> Callable[[], None]:
    @settings(FUZZ, max_examples=examples)
    @given(data=mutated(kind))
    def fuzz(data: bytes) -> None:
        _run(kind, data)

    return fuzz


def fuzz_every_kind(examples: int) -> float:
    """Fuzz every type `examples` times in this process; the growth of its peak RSS in MiB over
    the peak after the seeds were made (imports and seeds are not the fuzzer's)."""
    for kind in SEEDS:
        seed(kind)
    start = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for kind in sorted(SEEDS):
        _fuzzer(kind, examples)()
    return (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - start) / 1024


def test_memory_stayed_under_the_ceiling() -> None:
    """A fresh process fuzzes every type (ru_maxrss is the process's high-water mark, so the run
    gets a process of its own: the rest of the suite's peak would hide the fuzzer's)."""
    script = ("import runpy, sys; fuzz = runpy.run_path(sys.argv[1])['fuzz_every_kind']; "
              f"print(fuzz({MEMORY_EXAMPLES}))")
    env = {**os.environ, **{name: str(value) for name, value in SMALL_LIMITS}}
    done = subprocess.run([sys.executable, "-c", script, __file__], capture_output=True,
                          text=True, errors="replace", env=env, timeout=600,
                          cwd=Path(__file__).parents[3])
    assert done.returncode == 0, done.stderr[-2000:]
    grown_mb = float(done.stdout.strip().splitlines()[-1])
    assert grown_mb < RSS_CEILING_MB
