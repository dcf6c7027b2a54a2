"""Video data: real footage and filmed photos vs. manipulated copies, both classes augmented."""

from __future__ import annotations

import functools

import numpy as np

from models.media.decode import VIDEO_SAMPLE_FPS
from models.training.data import Sample, catalog
from models.training.data.augment_video import augment
from models.training.data.camera_motion import film_photo
from models.training.data.photo_sources import real_photos
from models.training.data.video_fakes import SYNTHETIC_KINDS, fake_clip
from models.training.data.video_footage import fit, footage

CLIP_FRAMES = 6  # frames per clip, sampled at VIDEO_SAMPLE_FPS as `decode_video` samples them
FOOTAGE_SHARE = 0.6  # of real clips cut from camera footage; the rest are filmed photos
STEP_JITTER = (0.5, 1.5)  # the sampling step varies around fps / VIDEO_SAMPLE_FPS per clip
GENERATOR_SOURCE = "video-generators"  # the catalogue source of every synthetic clip
FilmedPhoto = tuple[str, str, str, np.ndarray]
"""(name, family, catalogue source, photo fitted to the frame size)."""


@functools.cache
def camera_photos() -> tuple[FilmedPhoto, ...]:
    """(name, family, catalogue source, photo) of every real camera photo of the image data's
    allow-listed families (`models.training.data.photo_sources`), fitted to the frame size."""
    return tuple((p.name, p.family, p.source, fit(p.image)) for p in real_photos())


def real_clip(rng: np.random.Generator,
              filmed: tuple[FilmedPhoto, ...]) -> tuple[list[np.ndarray], dict]:
    """CLIP_FRAMES frames cut from a real video at about VIDEO_SAMPLE_FPS, or a photo filmed
    by a simulated hand-held camera; with the clip's kind, group, family and source."""
    if rng.random() < FOOTAGE_SHARE:
        videos = footage("real")
        video = videos[int(rng.integers(len(videos)))]
        step = max(1, round(video.fps / VIDEO_SAMPLE_FPS * rng.uniform(*STEP_JITTER)))
        span = step * (CLIP_FRAMES - 1)
        start = int(rng.integers(0, max(1, len(video.frames) - span)))
        last = len(video.frames) - 1
        clip = [video.frames[min(last, start + k * step)].copy() for k in range(CLIP_FRAMES)]
        return clip, {"kind": "footage", "group": video.name, "family": video.family,
                      "source": video.source}
    name, family, source, photo = filmed[int(rng.integers(len(filmed)))]
    return film_photo(rng, photo, CLIP_FRAMES), {
        "kind": "photo-motion", "group": f"photo-{name}", "family": family, "source": source}


def generate(n_per_class: int, seed: int = 0) -> list[Sample]:
    """`n_per_class` real clips and as many manipulated ones, alternating, each
    `(frames, VIDEO_SAMPLE_FPS)` or a halved rate after `augment` (applied to both classes)."""
    if n_per_class < 1:
        raise ValueError("n_per_class must be at least 1")
    rng = np.random.default_rng(seed)
    filmed = camera_photos()
    if not filmed:
        raise FileNotFoundError("no real photos to film; install opencv-doc (make data)")
    known = {s.name for s in catalog.load()}
    samples: list[Sample] = []
    for i in range(n_per_class * 2):
        label = i % 2
        clip, real = real_clip(rng, filmed)
        kind, source = real["kind"], real["source"]
        if label:
            kind = SYNTHETIC_KINDS[int(rng.integers(len(SYNTHETIC_KINDS)))]
            clip = fake_clip(rng, clip, kind)
            source = GENERATOR_SOURCE
        if source not in known:
            raise KeyError(f"{source!r} is not a catalogue source")
        media = augment(rng, (clip, VIDEO_SAMPLE_FPS))
        info = {"source": source, "real_source": real["source"]}
        samples.append(Sample(media, label, kind, group=real["group"], family=real["family"],
                              info=info))
    return samples
