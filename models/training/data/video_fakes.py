"""Synthetic clips: a real clip's face (or central) region manipulated, inconsistently over time."""

from __future__ import annotations

import cv2
import numpy as np

from models.features.image import detect_faces

SYNTHETIC_KINDS = ("blend", "flicker", "upsample", "resynth", "interpolate")
UPSAMPLE_KERNELS = {"nearest": cv2.INTER_NEAREST, "linear": cv2.INTER_LINEAR,
                    "cubic": cv2.INTER_CUBIC, "lanczos": cv2.INTER_LANCZOS4,
                    "area": cv2.INTER_AREA}
UPSAMPLE_FACTOR = (2.0, 4.0)  # the region is rendered at 1/factor resolution, drawn per clip
MASK_JITTER_PX = 2.0  # per-frame wobble of the pasted region's centre (a tracker's jitter)
MASK_FEATHER_PX = (2.0, 6.0)  # Gaussian feathering of the region's edge, drawn per frame
RESYNTH_BLUR = (0.6, 2.0)  # per-frame smoothing of a re-synthesised region (its lost detail)
RESYNTH_NOISE = (1.0, 5.0)  # per-frame grain added back, independent between frames


def region(rng: np.random.Generator, frame: np.ndarray) -> tuple[float, float, float, float]:
    """Centre and half-axes of the manipulated region: the face, else near the centre."""
    faces = detect_faces(frame, max_faces=1)
    h, w = frame.shape[:2]
    if faces:
        x, y, fw, fh = faces[0]
        return x + fw / 2, y + fh * 0.55, fw * 0.42, fh * 0.5
    side = min(h, w)
    return (w / 2 + rng.uniform(-0.1, 0.1) * side, h / 2 + rng.uniform(-0.1, 0.1) * side,
            rng.uniform(0.15, 0.3) * side, rng.uniform(0.18, 0.35) * side)


def _mask(rng: np.random.Generator, shape: tuple[int, ...],
          ellipse: tuple[float, float, float, float]) -> np.ndarray:
    """(h, w, 1) float32 soft ellipse, its centre jittered for this frame."""
    cx, cy, ax, ay = ellipse
    jx, jy = rng.normal(0, MASK_JITTER_PX, 2)
    mask = np.zeros(shape[:2], np.float32)
    cv2.ellipse(mask, (round(cx + jx), round(cy + jy)), (max(3, round(ax)), max(3, round(ay))),
                0, 0, 360, 1.0, -1)
    return cv2.GaussianBlur(mask, (0, 0), float(rng.uniform(*MASK_FEATHER_PX)))[:, :, None]


def _upsampled(frame: np.ndarray, factor: float, kernel: int) -> np.ndarray:
    h, w = frame.shape[:2]
    small = cv2.resize(frame, (max(4, round(w / factor)), max(4, round(h / factor))),
                       interpolation=cv2.INTER_AREA)
    return cv2.resize(small, (w, h), interpolation=kernel).astype(np.float32)


def fake_clip(rng: np.random.Generator, clip: list[np.ndarray], kind: str) -> list[np.ndarray]:
    """The face (or central) region of every frame of `clip` replaced by generator `kind`'s
    rendering, pasted through a jittered soft mask; frames keep their shape and dtype."""
    if kind not in SYNTHETIC_KINDS:
        raise ValueError(f"unknown video generator {kind!r}; expected one of {SYNTHETIC_KINDS}")
    if len(clip) < 2:
        raise ValueError("a clip needs at least 2 frames")
    ellipse = region(rng, clip[0])
    gain = rng.uniform(0.85, 1.15, 3)
    shift = rng.uniform(-15, 15, 3)
    factor = rng.uniform(*UPSAMPLE_FACTOR)
    kernel = list(UPSAMPLE_KERNELS.values())[int(rng.integers(len(UPSAMPLE_KERNELS)))]
    originals = [frame.astype(np.float32) for frame in clip]
    out = []
    for k, f in enumerate(originals):
        h, w = f.shape[:2]
        if kind == "flicker":
            source = f * rng.uniform(0.8, 1.2) + rng.uniform(-12, 12)
        elif kind == "upsample":
            source = _upsampled(clip[k], factor, kernel) * gain
        elif kind == "resynth":  # each frame rendered on its own: detail and grain disagree
            source = cv2.GaussianBlur(f, (0, 0), float(rng.uniform(*RESYNTH_BLUR)))
            grain = rng.standard_normal(f.shape, dtype=np.float32) * rng.uniform(*RESYNTH_NOISE)
            source = source * (1 + rng.normal(0, 0.02, 3)).astype(np.float32) + grain
        elif kind == "interpolate":  # in-between frames blended from their neighbours: ghosts
            before, after = originals[max(0, k - 1)], originals[min(len(clip) - 1, k + 1)]
            source = f if k % 2 == 0 else 0.5 * (before + after)
        else:  # blend: a colour-shifted, slightly warped copy with per-frame jitter
            source = f * (gain + rng.normal(0, 0.03, 3)) + shift + rng.normal(0, 4, 3)
            matrix = np.float32([[1, 0, rng.normal(0, 1.5)], [0, 1, rng.normal(0, 1.5)]])
            source = cv2.warpAffine(source, matrix, (w, h), borderMode=cv2.BORDER_REFLECT)
        mask = _mask(rng, f.shape, ellipse)
        out.append(np.clip(np.rint(source * mask + f * (1 - mask)), 0, 255).astype(np.uint8))
    return out
