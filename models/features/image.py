"""Image features: noise-relative high-pass patches over faces and a grid, and face detection."""

from __future__ import annotations

import math
import threading
from pathlib import Path

import cv2
import numpy as np

from models.features.types import Features

_local = threading.local()

PATCH = 64  # image patches and video crops are PATCH x PATCH pixels
MAX_PATCHES_PER_REGION = 16
FACE_DETECT_SIDE = 256  # Haar on a 256-pixel grey copy: ~25 ms on one core



def _cascade() -> cv2.CascadeClassifier:
    cascade = getattr(_local, "cascade", None)
    if cascade is None:
        path = Path(cv2.data.haarcascades) / "haarcascade_frontalface_default.xml"
        cascade = cv2.CascadeClassifier(str(path))
        if cascade.empty():
            raise RuntimeError(f"cannot load Haar cascade {path}")
        _local.cascade = cascade
    return cascade


def detect_faces(image: np.ndarray, max_faces: int = 2) -> list[list[int]]:
    """Frontal faces as `[x, y, w, h]` in `image` pixels, largest first (Haar, downscaled grey)."""
    grey = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    h, w = grey.shape
    scale = min(1.0, FACE_DETECT_SIDE / max(h, w))
    small = grey if scale == 1.0 else cv2.resize(
        grey, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA
    )
    small = cv2.equalizeHist(small)
    found = _cascade().detectMultiScale(small, scaleFactor=1.2, minNeighbors=5, minSize=(20, 20))
    boxes = [[int(v / scale) for v in box] for box in (found if len(found) else [])]
    boxes.sort(key=lambda b: b[2] * b[3], reverse=True)
    return boxes[:max_faces]


def enlarge(box: list[int], factor: float, w: int, h: int) -> list[int]:
    x, y, bw, bh = box
    cx, cy = x + bw / 2, y + bh / 2
    nw, nh = bw * factor, bh * factor
    x0, y0 = max(0, round(cx - nw / 2)), max(0, round(cy - nh / 2))
    x1, y1 = min(w, round(cx + nw / 2)), min(h, round(cy + nh / 2))
    return [x0, y0, x1 - x0, y1 - y0]


def _grid(start: int, length: int, size: int, n_max: int) -> list[int]:
    if length <= size:
        return [start]
    n = min(n_max, math.ceil(length / size))
    return [start + round(i * (length - size) / max(1, n - 1)) for i in range(n)]


NOISE_GRID = 8  # `noise_level` samples NOISE_GRID x NOISE_GRID tiles ...
NOISE_TILE = 34  # ... of this many pixels a side (the 32 x 32 inside each is measured)
_GREY = np.array([0.114, 0.587, 0.299], dtype=np.float32) / 255.0  # BGR weights, as OpenCV's


def noise_level(image_bgr: np.ndarray) -> float:
    """The image's typical high-pass residual: the median |grey - 3x3 Gaussian blur| (0-1 grey
    scale), i.e. its sensor-noise and fine-texture level, measured inside a regular grid of
    NOISE_GRID x NOISE_GRID tiles spread over the whole image (at most ~65k pixels whatever its
    size, so the cost does not grow with the photo)."""
    h, w = image_bgr.shape[:2]
    side = min(NOISE_TILE, h, w)
    ys = np.unique(np.linspace(0, h - side, NOISE_GRID).round().astype(int))
    xs = np.unique(np.linspace(0, w - side, NOISE_GRID).round().astype(int))
    tiles = np.stack([image_bgr[y : y + side, x : x + side] for y in ys for x in xs])
    grey = tiles.astype(np.float32) @ _GREY if tiles.ndim == 4 else tiles / np.float32(255)
    if side < 3:
        return 0.0
    across = 0.25 * grey[:, :, :-2] + 0.5 * grey[:, :, 1:-1] + 0.25 * grey[:, :, 2:]
    blur = 0.25 * across[:, :-2] + 0.5 * across[:, 1:-1] + 0.25 * across[:, 2:]
    return float(np.median(np.abs(grey[:, 1:-1, 1:-1] - blur)))


def relative_to_noise(high: np.ndarray, level: float) -> np.ndarray:
    """A high-pass residual in units of an image's noise `level` (a median absolute residual,
    x1.4826 as for a normal spread), floored so that a flat image does not blow it up."""
    return high / (1.4826 * level + 2e-3)


def patch_channels(patch_bgr: np.ndarray, level: float | None = None) -> np.ndarray:
    """(5, P, P) float32: the BGR patch with its mean colour removed (x2), so that absolute
    colour and brightness (content) matter less; a high-pass residual of the grey patch (x8)
    where resampling, blurring and blending leave their traces; and that residual relative to
    the whole image's `noise_level` (`level`; the patch's own when None), clipped to +-4: a
    region that is smoother or noisier than the rest of its image (a pasted, blurred or
    re-synthesised region) stands out even where the patch lies wholly inside it."""
    bgr = patch_bgr.astype(np.float32) / 255.0
    grey = cv2.cvtColor(patch_bgr, cv2.COLOR_BGR2GRAY).astype(np.float32) / 255.0
    high = grey - cv2.GaussianBlur(grey, (3, 3), 0)
    if level is None:
        level = float(np.median(np.abs(high)))
    relative = np.clip(relative_to_noise(high, level), -8.0, 8.0) * 0.5
    centred = (bgr - bgr.reshape(-1, 3).mean(0)) * 2.0
    return np.concatenate([centred.transpose(2, 0, 1), high[None] * 8.0, relative[None]], axis=0)


def _pad_to(image: np.ndarray, size: int) -> np.ndarray:
    h, w = image.shape[:2]
    if h >= size and w >= size:
        return image
    return cv2.copyMakeBorder(
        image, 0, max(0, size - h), 0, max(0, size - w), cv2.BORDER_REFLECT_101
    )




def image_features(image: np.ndarray) -> Features:
    """Native-resolution 64x64 patches tiled over the faces found, else over the whole image.

    `x`: (N, 5, 64, 64) float32 = `patch_channels` of each patch, relative to the whole image's
    `noise_level`; N <= 16 per region.
    `meta`: `faces` and `patches` as `[x, y, w, h]` boxes in image pixels.
    """
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    image = _pad_to(image[:, :, :3], PATCH)
    h, w = image.shape[:2]
    faces = detect_faces(image)
    level = noise_level(image)
    regions = [enlarge(face, 1.2, w, h) for face in faces] or [[0, 0, w, h]]
    side = int(math.isqrt(MAX_PATCHES_PER_REGION))
    units, boxes = [], []
    for rx, ry, rw, rh in regions:
        rx, ry = min(rx, w - PATCH), min(ry, h - PATCH)
        rw, rh = max(rw, PATCH), max(rh, PATCH)
        for py in _grid(ry, min(rh, h - ry), PATCH, side):
            for px in _grid(rx, min(rw, w - rx), PATCH, side):
                units.append(patch_channels(image[py : py + PATCH, px : px + PATCH], level))
                boxes.append([px, py, PATCH, PATCH])
    x = np.stack(units).astype(np.float32)
    return {"x": x, "meta": {"faces": faces, "patches": boxes, "size": [w, h]}}


