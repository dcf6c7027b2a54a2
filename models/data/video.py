"""Video data: real clips and photos with camera motion vs. per-frame blended faces and flicker."""

from __future__ import annotations

import functools

import cv2
import numpy as np

from models.data import Sample, jpeg
from models.data.image import OPENCV_DATA, photos
from models.features import VIDEO_SAMPLE_FPS, detect_faces

VIDEOS = ("Megamind.avi", "vtest.avi", "tree.avi")
CLIP_FRAMES = 6
FRAME_SIDE = 320
SYNTHETIC_KINDS = ("blend", "flicker", "upsample")


@functools.cache
def _video_frames(name: str) -> tuple[tuple[np.ndarray, ...], float]:
    """Every frame of an opencv-doc video, downscaled to at most 320 pixels on a side."""
    cap = cv2.VideoCapture(str(OPENCV_DATA / name))
    fps = cap.get(cv2.CAP_PROP_FPS) or 25.0
    frames = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(_fit(frame))
    cap.release()
    if not frames:
        raise FileNotFoundError(f"cannot read {OPENCV_DATA / name}; install opencv-doc")
    return tuple(frames), float(fps)


def _fit(frame: np.ndarray) -> np.ndarray:
    h, w = frame.shape[:2]
    scale = min(1.0, FRAME_SIDE / max(h, w))
    return cv2.resize(frame, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)


def real_clip(rng: np.random.Generator) -> tuple[list[np.ndarray], str]:
    """`CLIP_FRAMES` frames at 2 fps from a real video, or a photo with simulated camera
    motion (smooth zoom, pan, rotation, sensor noise)."""
    if rng.random() < 0.6:
        name = VIDEOS[int(rng.integers(len(VIDEOS)))]
        frames, fps = _video_frames(name)
        step = max(1, round(fps / VIDEO_SAMPLE_FPS * rng.uniform(0.5, 1.5)))
        span = step * (CLIP_FRAMES - 1)
        start = int(rng.integers(0, max(1, len(frames) - span)))
        clip = [frames[min(len(frames) - 1, start + k * step)] for k in range(CLIP_FRAMES)]
        return [f.copy() for f in clip], f"{name}-{start * 4 // max(1, len(frames))}"
    name, photo = photos()[int(rng.integers(len(photos())))]
    photo = _fit(photo)
    h, w = photo.shape[:2]
    zoom0, zoom1 = rng.uniform(1.0, 1.15), rng.uniform(1.0, 1.15)
    pan = rng.uniform(-0.04, 0.04, 2) * (w, h)
    angle = rng.uniform(-3, 3)
    clip = []
    for k in range(CLIP_FRAMES):
        t = k / (CLIP_FRAMES - 1)
        matrix = cv2.getRotationMatrix2D((w / 2, h / 2), angle * t, zoom0 + (zoom1 - zoom0) * t)
        matrix[:, 2] += pan * t
        frame = cv2.warpAffine(photo, matrix, (w, h), borderMode=cv2.BORDER_REFLECT)
        noise = rng.normal(0, rng.uniform(0.5, 2.5), frame.shape)
        clip.append(np.clip(frame + noise, 0, 255).astype(np.uint8))
    return clip, f"photo-{name}"


def _region(rng: np.random.Generator, frame: np.ndarray) -> tuple[float, float, float, float]:
    """Centre and half-axes of the manipulated region: the face, else inside the centre."""
    faces = detect_faces(frame, max_faces=1)
    h, w = frame.shape[:2]
    if faces:
        x, y, fw, fh = faces[0]
        return x + fw / 2, y + fh * 0.55, fw * 0.42, fh * 0.5
    side = min(h, w)
    return (w / 2 + rng.uniform(-0.1, 0.1) * side, h / 2 + rng.uniform(-0.1, 0.1) * side,
            rng.uniform(0.15, 0.3) * side, rng.uniform(0.18, 0.35) * side)


def fake_clip(rng: np.random.Generator, clip: list[np.ndarray], kind: str) -> list[np.ndarray]:
    """Manipulate the face (or central) region of every frame, inconsistently over time."""
    cx, cy, ax, ay = _region(rng, clip[0])
    gain = rng.uniform(0.85, 1.15, 3)
    shift = rng.uniform(-15, 15, 3)
    out = []
    for frame in clip:
        h, w = frame.shape[:2]
        jx, jy = rng.normal(0, 2, 2)
        mask = np.zeros((h, w), np.float32)
        cv2.ellipse(mask, (round(cx + jx), round(cy + jy)), (max(3, round(ax)), max(3, round(ay))),
                    0, 0, 360, 1.0, -1)
        mask = cv2.GaussianBlur(mask, (0, 0), float(rng.uniform(2, 6)))[:, :, None]
        f = frame.astype(np.float32)
        if kind == "flicker":
            source = f * rng.uniform(0.8, 1.2) + rng.uniform(-12, 12)
        elif kind == "upsample":
            factor = rng.uniform(2.0, 4.0)
            small = cv2.resize(frame, (max(4, round(w / factor)), max(4, round(h / factor))),
                               interpolation=cv2.INTER_AREA)
            source = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR).astype(np.float32)
            source = source * gain
        else:  # blend: a colour-shifted, slightly warped copy with per-frame jitter
            source = f * (gain + rng.normal(0, 0.03, 3)) + shift + rng.normal(0, 4, 3)
            matrix = np.float32([[1, 0, rng.normal(0, 1.5)], [0, 1, rng.normal(0, 1.5)]])
            source = cv2.warpAffine(source, matrix, (w, h), borderMode=cv2.BORDER_REFLECT)
        blended = source * mask + f * (1 - mask)
        out.append(np.clip(blended, 0, 255).astype(np.uint8))
    return out


def generate(n_per_class: int, seed: int = 0) -> list[Sample]:
    """Real clips vs. manipulated copies, each `(frames, 2.0)`, JPEG-compressed per frame."""
    rng = np.random.default_rng(seed)
    samples: list[Sample] = []
    for i in range(n_per_class * 2):
        label = i % 2
        clip, group = real_clip(rng)
        kind = "real"
        if label:
            kind = SYNTHETIC_KINDS[int(rng.integers(len(SYNTHETIC_KINDS)))]
            clip = fake_clip(rng, clip, kind)
        quality = int(rng.integers(60, 96))
        clip = [jpeg(frame, quality) for frame in clip]
        samples.append(Sample((clip, VIDEO_SAMPLE_FPS), label, kind, group=group))
    return samples

