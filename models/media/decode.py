"""Decoders: a media file to pixels, samples, frames or text, within OpenCV's pixel cap."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from config import OPENCV_CAP_ERROR, OPENCV_PIXELS_VAR

SAMPLE_RATE = 16_000
MAX_VIDEO_FRAMES = 16
VIDEO_SAMPLE_FPS = 2.0
MAX_FRAME_SIDE = 1280



class ImageTooLarge(ValueError):
    """The image is over OpenCV's pixel cap (OPENCV_IO_MAX_IMAGE_PIXELS, set by `config`)."""


def decode_image(path: str | Path) -> np.ndarray:
    """Read an image file as a BGR uint8 array (alpha dropped, grey expanded)."""
    data = np.fromfile(str(path), dtype=np.uint8)
    try:
        image = cv2.imdecode(data, cv2.IMREAD_COLOR)
    except cv2.error as exc:  # OpenCV asserts its pixel cap; any other failure is bad input
        if OPENCV_CAP_ERROR in str(exc):
            raise ImageTooLarge(f"the image is over the decoder's limit of "
                                f"{os.environ.get(OPENCV_PIXELS_VAR)} pixels") from exc
        raise ValueError(f"cannot decode image {path}") from exc
    if image is None:
        raise ValueError(f"cannot decode image {path}")
    return image


def decode_audio(path: str | Path) -> tuple[np.ndarray, int]:
    """Read an audio file as mono float32 samples resampled to 16 kHz."""
    import librosa

    samples, sr = librosa.load(str(path), sr=SAMPLE_RATE, mono=True)
    return samples.astype(np.float32), int(sr)


WAVEFORM_BUCKETS = 800
"""Columns of a waveform envelope: (min, max) of the samples in each."""


def waveform_envelope(samples: np.ndarray, rate: int) -> dict[str, Any]:
    """`{"duration_s", "peaks": [[min, max], ...]}` (at most WAVEFORM_BUCKETS columns) of mono
    samples: enough to draw the waveform without the sound itself."""
    buckets = max(1, min(WAVEFORM_BUCKETS, len(samples)))
    peaks = [[round(float(part.min()), 4), round(float(part.max()), 4)]
             for part in np.array_split(samples, buckets) if len(part)]
    return {"duration_s": round(len(samples) / rate, 3) if rate else 0.0, "peaks": peaks}


def decode_video(
    path: str | Path, max_frames: int = MAX_VIDEO_FRAMES
) -> tuple[list[np.ndarray], float]:
    """Read up to `max_frames` BGR frames sampled evenly (at most 2 per second).

    The returned rate is that of the sampled sequence: frame `i` is at `i / fps` seconds.
    Frames larger than 1280 pixels on a side are downscaled.
    """
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise ValueError(f"cannot open video {path}")
    try:
        fps = cap.get(cv2.CAP_PROP_FPS) or 25.0
        if not math.isfinite(fps) or fps <= 0:
            fps = 25.0
        count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        step = max(1.0, fps / VIDEO_SAMPLE_FPS)
        if count > 0:
            wanted_n = min(max_frames, max(1, int(count / step)))
            step = max(step, count / wanted_n)
        wanted = {int(round(i * step)) for i in range(max_frames)}
        frames: list[np.ndarray] = []
        index = 0
        last = max(wanted)
        while index <= last and len(frames) < max_frames:
            if not cap.grab():
                break
            if index in wanted:
                ok, frame = cap.retrieve()
                if ok and frame is not None:
                    frames.append(_limit_side(frame, MAX_FRAME_SIDE))
            index += 1
    finally:
        cap.release()
    if not frames:
        raise ValueError(f"no frames decoded from {path}")
    return frames, float(fps / step)


def read_text(path: str | Path) -> str:
    """Read a text file as UTF-8 (undecodable bytes replaced)."""
    return Path(path).read_bytes().decode("utf-8", errors="replace")


def _limit_side(image: np.ndarray, side: int) -> np.ndarray:
    h, w = image.shape[:2]
    scale = side / max(h, w)
    if scale >= 1:
        return image
    return cv2.resize(image, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)


def decode(modality: str, path: str | Path) -> Any:
    """Decode a file of the given modality into what `featurize` expects."""
    decoders = {"image": decode_image, "audio": decode_audio, "video": decode_video,
                "text": read_text}
    if modality not in decoders:
        raise ValueError(f"unknown modality {modality!r}")
    return decoders[modality](path)
