"""Video clips of the catalogue's video sources, decoded once and downscaled."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from models.training.data import catalog

FRAME_SIDE = 320
"""Frames are downscaled to at most this many pixels on a side: the detector's 64-pixel crops
need no more, and it keeps a source's decoded frames in memory small (vtest.avi: ~180 MB)."""
DEFAULT_FPS = 25.0  # used when a container does not state its frame rate


@dataclass(frozen=True)
class Footage:
    """One decoded video file of a catalogue source."""

    name: str  # the file name: the group of every clip cut from it
    source: str  # the catalogue source name
    family: str  # the catalogue family
    frames: tuple[np.ndarray, ...]
    fps: float


def fit(frame: np.ndarray, side: int = FRAME_SIDE) -> np.ndarray:
    """`frame` downscaled (area interpolation) so that its longer side is at most `side`."""
    h, w = frame.shape[:2]
    scale = min(1.0, side / max(h, w))
    if scale == 1.0:
        return frame
    return cv2.resize(frame, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)


@functools.cache
def read_video(path: Path) -> tuple[tuple[np.ndarray, ...], float]:
    """Every frame of a video file, each `fit` to FRAME_SIDE, and its frame rate."""
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise ValueError(f"cannot open video {path}")
    fps = cap.get(cv2.CAP_PROP_FPS)
    frames = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(fit(frame))
    cap.release()
    if not frames:
        raise ValueError(f"no frames decoded from {path}")
    return tuple(frames), float(fps) if fps and np.isfinite(fps) and fps > 0 else DEFAULT_FPS


@functools.cache
def footage(cls: str = "real") -> tuple[Footage, ...]:
    """Every installed video of the catalogue's video sources of class `cls`, in catalogue
    order. Raises FileNotFoundError when none is installed."""
    if cls not in catalog.CLASSES:
        raise ValueError(f"unknown class {cls!r}; expected one of {catalog.CLASSES}")
    found = []
    sources = catalog.select("video", cls)
    for source in sources:
        for path in source.files():
            frames, fps = read_video(path)
            found.append(Footage(path.name, source.name, source.family, frames, fps))
    if not found:
        names = ", ".join(s.name for s in sources) or "none"
        raise FileNotFoundError(f"no {cls} video of the catalogue is installed ({names}); "
                                "run `make data` and install the project's dependencies")
    return tuple(found)
