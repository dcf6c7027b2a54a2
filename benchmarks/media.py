"""Benchmark media from real photos and speech on this machine (generated, cached in var/bench/).

Photos: Debian opencv-doc; speech: pocketsphinx-testdata (`make data` installs both). Where a
package is missing the generators of `api.inference.bench` stand in (noted in the details).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from api.inference.bench import make_jpeg, make_text, make_wav
from benchmarks.report import BENCH_DIR

PHOTOS = Path("/usr/share/doc/opencv-doc/examples/data")
PHOTO_NAMES = ("messi5.jpg", "home.jpg", "building.jpg", "fruits.jpg", "baboon.jpg",
               "aero3.jpg", "lena.jpg", "starry_night.jpg", "orange.jpg", "apple.jpg")
SPEECH = Path("/usr/share/pocketsphinx/test/data")
MEDIA_DIR = BENCH_DIR / "media"
"""Where generated media are cached (tests point it elsewhere)."""

__all__ = ["make_text", "photo_jpeg", "speech_wav", "photo_set", "video_clip", "real_photos"]


def real_photos() -> list[Path]:
    """The opencv-doc photos that exist here (colour, at least 256 px a side)."""
    return [PHOTOS / n for n in PHOTO_NAMES if (PHOTOS / n).exists()]


def _read(path: Path) -> np.ndarray:
    import cv2

    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError(f"cannot read {path}")
    return image


def _fit(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """Scale and centre-crop `image` to width x height."""
    import cv2

    h, w = image.shape[:2]
    scale = max(width / w, height / h)
    resized = cv2.resize(image, (max(width, round(w * scale)), max(height, round(h * scale))),
                         interpolation=cv2.INTER_CUBIC if scale > 1 else cv2.INTER_AREA)
    y = (resized.shape[0] - height) // 2
    x = (resized.shape[1] - width) // 2
    return np.ascontiguousarray(resized[y:y + height, x:x + width])


def photo_jpeg(width: int = 1024, height: int = 768, index: int = 0,
               out_dir: Path | None = None) -> Path:
    """A real photo scaled to width x height, JPEG quality 90 (a generated one without photos)."""
    import cv2

    out_dir = out_dir or MEDIA_DIR
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"photo-{index}-{width}x{height}.jpg"
    if path.exists():
        return path
    photos = real_photos()
    if not photos:
        return make_jpeg(path, width, height, seed=index)
    image = _fit(_read(photos[index % len(photos)]), width, height)
    if index >= len(photos):  # more images than photos: shifted, flipped variants
        image = np.roll(image[:, ::-1] if index % 2 else image, 7 * index, axis=1)
    cv2.imwrite(str(path), image, [cv2.IMWRITE_JPEG_QUALITY, 90])
    return path


def photo_set(n: int, width: int = 640, height: int = 480,
              out_dir: Path | None = None) -> list[Path]:
    """`n` distinct JPEGs made from the real photos (the batch benchmark's input)."""
    return [photo_jpeg(width, height, i, (out_dir or MEDIA_DIR) / "set") for i in range(n)]


def speech_wav(seconds: float = 10.0, out_dir: Path | None = None) -> Path:
    """`seconds` of real speech at 16 kHz (pocketsphinx test recordings, end to end)."""
    import soundfile as sf

    out_dir = out_dir or MEDIA_DIR
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"speech-{seconds:g}s.wav"
    if path.exists():
        return path
    recordings = sorted(SPEECH.glob("**/*.wav"))
    if not recordings:
        return make_wav(path, seconds)
    rate, parts, total = 16_000, [], 0
    while total < seconds * rate:
        for rec in recordings:
            samples, sr = sf.read(str(rec), dtype="float32", always_2d=False)
            if sr != rate:
                continue
            parts.append(samples if samples.ndim == 1 else samples.mean(axis=1))
            total += len(parts[-1])
            if total >= seconds * rate:
                break
    audio = np.concatenate(parts)[: int(seconds * rate)]
    sf.write(str(path), audio, rate, subtype="PCM_16")
    return path


def video_clip(seconds: float = 60.0, width: int = 1280, height: int = 720, fps: float = 30.0,
               out_dir: Path | None = None) -> Path:
    """An mp4v clip panned and zoomed across the real photos (a new photo every 5 s)."""
    import cv2

    out_dir = out_dir or MEDIA_DIR
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"clip-{seconds:g}s-{width}x{height}-{fps:g}fps.mp4"
    if path.exists():
        return path
    photos = real_photos() or [make_jpeg(out_dir / "generated.jpg", 1600, 1200)]
    frames = int(seconds * fps)
    per_shot = int(5 * fps)
    part = path.with_suffix(".part.mp4")
    writer = cv2.VideoWriter(str(part), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
    try:
        stage = None
        for i in range(frames):
            shot, t = divmod(i, per_shot)
            if t == 0:  # the next photo, 25% larger than the frame: room to pan
                stage = _fit(_read(photos[shot % len(photos)]), width * 5 // 4, height * 5 // 4)
            u = t / per_shot
            x = int(u * (stage.shape[1] - width))
            y = int((0.5 + 0.5 * np.sin(2 * np.pi * u)) * (stage.shape[0] - height))
            writer.write(np.ascontiguousarray(stage[y:y + height, x:x + width]))
    finally:
        writer.release()
    part.replace(path)
    return path
