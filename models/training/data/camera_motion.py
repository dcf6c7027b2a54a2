"""A still photo filmed by a simulated hand-held camera: a clip of warped, exposed, noisy frames."""

from __future__ import annotations

import cv2
import numpy as np

MAX_ZOOM = 1.15  # zoom at the start and end of a move, drawn in [1, MAX_ZOOM]: stays in frame
MAX_PAN = 0.04  # smooth pan over the clip, as a fraction of the frame's width / height
MAX_ROTATION_DEG = 3.0  # smooth roll over the clip
SHAKE_PX = (0.3, 2.5)  # hand-held shake: per-frame random-walk step (pixels), drawn per clip
SHAKE_ROLL_DEG = 0.15  # per-frame random-walk step of the roll (degrees)
ROLLING_SHUTTER = (0.0, 0.6)  # skew per pixel/frame of horizontal motion, drawn per clip
EXPOSURE_DRIFT = 0.12  # auto-exposure gain change over the clip (+/-), plus hunting below
EXPOSURE_HUNT = 0.03  # amplitude of the auto-exposure's per-frame oscillation
MOTION_BLUR_SHARE = 0.4  # frames are exposed this fraction of the inter-frame motion
SHOT_NOISE = (0.02, 0.25)  # signal-dependent noise variance per grey level, drawn per clip
READ_NOISE = (0.5, 2.5)  # signal-independent noise standard deviation (grey levels)


def _motion_blur(frame: np.ndarray, dx: float, dy: float) -> np.ndarray:
    """`frame` smeared along the motion (dx, dy) pixels, as a moving camera exposes it."""
    length = float(np.hypot(dx, dy))
    if length < 1.5:
        return frame
    size = int(np.ceil(length)) | 1
    kernel = np.zeros((size, size), np.float32)
    c = size // 2
    ux, uy = dx / length, dy / length
    cv2.line(kernel, (round(c - ux * length / 2), round(c - uy * length / 2)),
             (round(c + ux * length / 2), round(c + uy * length / 2)), 1.0, 1)
    return cv2.filter2D(frame, -1, kernel / kernel.sum(), borderType=cv2.BORDER_REFLECT)


def _sensor_noise(rng: np.random.Generator, frame: np.ndarray, shot: float,
                  read: float) -> np.ndarray:
    """Photon (variance proportional to the signal) plus read noise, as float32."""
    f = frame.astype(np.float32)
    sigma = np.sqrt(shot * f + read**2)
    return f + rng.standard_normal(f.shape, dtype=np.float32) * sigma


def film_photo(rng: np.random.Generator, photo: np.ndarray, n_frames: int) -> list[np.ndarray]:
    """`n_frames` uint8 BGR frames of `photo` (its shape) as a hand-held camera films it:
    smooth zoom, pan and roll, random-walk shake, rolling-shutter skew, motion blur,
    auto-exposure drift and hunting, photon and read noise."""
    if photo.ndim != 3 or photo.dtype != np.uint8 or n_frames < 2:
        raise ValueError("film_photo needs a uint8 BGR photo and at least 2 frames")
    h, w = photo.shape[:2]
    zoom0, zoom1 = rng.uniform(1.0, MAX_ZOOM, 2)
    pan = rng.uniform(-MAX_PAN, MAX_PAN, 2) * (w, h)
    angle = rng.uniform(-MAX_ROTATION_DEG, MAX_ROTATION_DEG)
    shake_step = rng.uniform(*SHAKE_PX)
    shake = np.cumsum(rng.normal(0, shake_step, (n_frames, 2)), axis=0)
    roll = np.cumsum(rng.normal(0, SHAKE_ROLL_DEG, n_frames))
    skew_per_px = rng.uniform(*ROLLING_SHUTTER)
    drift = rng.uniform(-EXPOSURE_DRIFT, EXPOSURE_DRIFT)
    hunt_phase = rng.uniform(0, 2 * np.pi)
    shot, read = rng.uniform(*SHOT_NOISE), rng.uniform(*READ_NOISE)
    offsets = np.array([pan * k / (n_frames - 1) + shake[k] for k in range(n_frames)])
    velocity = np.diff(offsets, axis=0, prepend=offsets[:1] - (offsets[1] - offsets[0]))
    clip = []
    for k in range(n_frames):
        t = k / (n_frames - 1)
        matrix = cv2.getRotationMatrix2D((w / 2, h / 2), angle * t + roll[k],
                                         zoom0 + (zoom1 - zoom0) * t)
        skew = skew_per_px * velocity[k, 0] / h  # rows read later see the scene moved further
        matrix[0, 1] += skew
        matrix[0, 2] += offsets[k, 0] - skew * h / 2
        matrix[1, 2] += offsets[k, 1]
        frame = cv2.warpAffine(photo, matrix, (w, h), flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_REFLECT)
        frame = _motion_blur(frame, *(velocity[k] * MOTION_BLUR_SHARE))
        gain = 1.0 + drift * t + EXPOSURE_HUNT * np.sin(hunt_phase + 2.5 * k)
        noisy = _sensor_noise(rng, frame, shot, read) * gain
        clip.append(np.clip(np.rint(noisy), 0, 255).astype(np.uint8))
    return clip
