"""The probe's budgets: frames and seconds a full video probe may decode (PROBE_MAX_FRAMES,
PROBE_BUDGET_S), and headers read without loading the whole file into memory."""

from __future__ import annotations

import tracemalloc
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest

from config import Limits
from models.media.probe import MediaError, probe_media


def _mkv(path: Path, frames: int = 30) -> Path:
    """A Matroska clip."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (64, 48))
    rng = np.random.default_rng(0)
    for _ in range(frames):
        writer.write(rng.integers(0, 256, (48, 64, 3), dtype=np.uint8))
    writer.release()
    return path


@pytest.mark.parametrize(("budget", "named"), [
    ({"probe_max_frames": 5}, "PROBE_MAX_FRAMES"),
    ({"probe_budget_s": 0.0}, "PROBE_BUDGET_S"),
])
def test_counting_frames_stops_at_the_budget(tmp_path: Path, budget: dict, named: str) -> None:
    """A clip whose last frame is missing is counted frame by frame (its header's count is not
    to be trusted): that stops at the budget."""
    path = tmp_path / "cut.mkv"
    path.write_bytes(_mkv(tmp_path / "clip.mkv").read_bytes()[:-1500])
    assert probe_media(path, "clip.mkv", Limits()).frames == 29  # within the default budget
    with pytest.raises(MediaError) as err:
        probe_media(path, "clip.mkv", replace(Limits(), **budget))
    assert err.value.status == 413 and named in err.value.message


def test_budgets_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROBE_MAX_FRAMES", "7")
    monkeypatch.setenv("PROBE_BUDGET_S", "1.5")
    limits = Limits.from_env()
    assert (limits.probe_max_frames, limits.probe_budget_s) == (7, 1.5)


@pytest.mark.parametrize("header_only", [True, False])
def test_an_image_is_probed_without_loading_the_file(tmp_path: Path, header_only: bool) -> None:
    """A 64x48 PNG followed by 32 MiB (allowed after IEND): the probe maps the file, it does
    not read it into Python memory."""
    png = cv2.imencode(".png", np.full((48, 64, 3), 90, np.uint8))[1].tobytes()
    path = tmp_path / "big.png"
    with path.open("wb") as fh:
        fh.write(png)
        fh.truncate(len(png) + (32 << 20))
    tracemalloc.start()
    try:
        info = probe_media(path, "big.png", Limits(), decode_images=False,
                           header_only=header_only)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (info.width, info.height) == (64, 48)
    assert peak < 4 << 20, peak
