"""Video features: a face (or centre) crop per sampled frame, its flicker and its fine detail."""

from __future__ import annotations

import cv2
import numpy as np

from models.features.image import PATCH, detect_faces, enlarge, relative_to_noise
from models.features.types import Features


def detail_map(frame: np.ndarray, box: list[int]) -> np.ndarray:
    """(P, P) float32: the magnitude of the frame's native-resolution high-pass residual
    relative to the whole frame's `noise_level`, over `box`, area-resized to PATCH (x0.5,
    clipped to 4). Resizing the crop itself would erase the fine detail that an up-sampled or
    blurred region lacks; resizing the detail *energy* keeps where it is missing."""
    grey = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY).astype(np.float32) / 255.0
    high = np.abs(grey - cv2.GaussianBlur(grey, (3, 3), 0))
    relative = relative_to_noise(high, float(np.median(high)))
    x, y, w, h = box
    local = cv2.resize(relative[y : y + h, x : x + w], (PATCH, PATCH),
                       interpolation=cv2.INTER_AREA)
    return np.minimum(local * 0.5, 4.0).astype(np.float32)


def video_features(decoded: tuple[list[np.ndarray], float]) -> Features:
    """Per sampled frame: the largest face (else a centre square) resized to 64x64 with its mean
    colour removed (x2), plus the grey difference of that crop from the previous sampled frame
    (temporal signal: flicker) and the crop's `detail_map` (native-resolution sharpness).

    `x`: (T, 5, 64, 64) float32; `meta`: `times` (s), `faces` per frame, `crops` boxes.
    """
    frames, fps = decoded
    frames = [f if f.ndim == 3 else cv2.cvtColor(f, cv2.COLOR_GRAY2BGR) for f in frames]
    crops, boxes, faces_per_frame, greys = [], [], [], []
    for frame in frames:
        h, w = frame.shape[:2]
        faces = detect_faces(frame, max_faces=1)
        if faces:
            box = enlarge(faces[0], 1.3, w, h)
        else:
            side = min(h, w)
            box = [(w - side) // 2, (h - side) // 2, side, side]
        faces_per_frame.append(faces)
        boxes.append(box)
        crops.append(_crop_resize(frame, box))
    for i in range(len(frames)):
        j = i - 1 if i > 0 else min(1, len(frames) - 1)
        other = _crop_resize(frames[j], boxes[i]) if j != i else crops[i]
        greys.append(
            (cv2.cvtColor(crops[i], cv2.COLOR_BGR2GRAY).astype(np.float32)
             - cv2.cvtColor(other, cv2.COLOR_BGR2GRAY).astype(np.float32)) / 64.0
        )
    units = [
        np.concatenate([_centred(crop), diff[None], detail_map(frame, box)[None]])
        for crop, diff, frame, box in zip(crops, greys, frames, boxes, strict=True)
    ]
    times = [round(i / fps, 3) if fps > 0 else float(i) for i in range(len(frames))]
    return {
        "x": np.stack(units).astype(np.float32),
        "meta": {"times": times, "faces": faces_per_frame, "crops": boxes, "fps": float(fps)},
    }


def _centred(crop: np.ndarray) -> np.ndarray:
    """BGR / 255 with the crop's mean colour removed, x2: (3, P, P)."""
    bgr = crop.astype(np.float32) / 255.0
    return ((bgr - bgr.reshape(-1, 3).mean(0)) * 2.0).transpose(2, 0, 1)


def _crop_resize(frame: np.ndarray, box: list[int]) -> np.ndarray:
    x, y, w, h = box
    crop = frame[y : y + h, x : x + w]
    return cv2.resize(crop, (PATCH, PATCH), interpolation=cv2.INTER_AREA)


