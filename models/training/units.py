"""Featurised units of labelled media: the unit set, unit labels, image training crops, subsets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from models.features import featurize
from models.training.data import Sample
from models.training.data.image import boundary


@dataclass
class UnitSet:
    """Featurised units of several media: `x`, unit labels `y`, the media index of each unit,
    whether a unit's label is reliable enough to train on (`use`), and each media's label."""

    x: np.ndarray
    y: np.ndarray
    media: np.ndarray
    use: np.ndarray
    media_labels: np.ndarray


CHANGED = 2.0  # mean grey levels changed: a patch that clearly carries the generator's trace
UNCHANGED = 0.75  # ... and one that is indistinguishable from the untouched photo


def change_label(change: np.ndarray) -> int:
    """Label of a patch of an image changed everywhere (up-sampled) from its `change_map`:
    1 where the generator changed it noticeably, 0 where it did not (flat regions), -1 between.
    """
    mean = float(change.mean()) if change.size else 0.0
    return 1 if mean >= CHANGED else 0 if mean < UNCHANGED else -1


def unit_labels(modality: str, sample: Sample, meta: dict[str, Any], n: int) -> np.ndarray:
    """Label per unit, or -1 where unknown (image patches of a blend that miss its boundary)."""
    labels = np.full(n, sample.label, dtype=np.int64)
    if modality == "image" and sample.label and "change" in sample.info:
        for i, (x, y, bw, bh) in enumerate(meta["patches"]):
            labels[i] = change_label(sample.info["change"][y : y + bh, x : x + bw])
    elif modality == "image" and sample.label and sample.mask is not None:
        edge = boundary(sample.mask)
        h, w = edge.shape
        for i, (x, y, bw, bh) in enumerate(meta["patches"]):
            patch = edge[y : min(h, y + bh), x : min(w, x + bw)]
            labels[i] = 1 if patch.size and patch.mean() >= 0.03 else -1
    return labels


def image_training_crops(
    sample: Sample, rng: np.random.Generator, n: int
) -> list[tuple[int, int, int]]:
    """`n` random `PATCH` crops `(x, y, label)` of a training image, labelled by what they hold.

    Authentic photos: random crops, 0. Up-sampled images (touched everywhere): random crops
    labelled by `change_label` (flat crops carry no trace and count as authentic).
    Blends and clones (a generator mask): half the crops centred near a random pixel of the
    mask's boundary (where blending leaves traces), 1; the rest random crops that neither
    overlap the mask nor its boundary (pixels the generator left untouched), 0.
    """
    from models.features.image import PATCH

    h, w = sample.media.shape[:2]
    if h < PATCH or w < PATCH:
        return []

    def random_crop() -> tuple[int, int]:
        return int(rng.integers(0, w - PATCH + 1)), int(rng.integers(0, h - PATCH + 1))

    if sample.label and "change" in sample.info:
        crops = []
        for _ in range(2 * n):
            x0, y0 = random_crop()
            label = change_label(sample.info["change"][y0 : y0 + PATCH, x0 : x0 + PATCH])
            if label >= 0:
                crops.append((x0, y0, label))
            if len(crops) >= n:
                break
        return crops
    if not sample.label or sample.mask is None:
        return [(*random_crop(), int(sample.label)) for _ in range(n)]
    edge = boundary(sample.mask)
    touched = edge | (sample.mask > 0.03)
    ys, xs = np.nonzero(edge)
    crops: list[tuple[int, int, int]] = []
    for _ in range(n - n // 2 if len(xs) else 0):
        k = int(rng.integers(len(xs)))
        cx, cy = xs[k] + int(rng.integers(-16, 17)), ys[k] + int(rng.integers(-16, 17))
        x0 = int(np.clip(cx - PATCH // 2, 0, w - PATCH))
        y0 = int(np.clip(cy - PATCH // 2, 0, h - PATCH))
        if edge[y0 : y0 + PATCH, x0 : x0 + PATCH].mean() >= 0.03:
            crops.append((x0, y0, 1))
    for _ in range(4 * n):
        if len(crops) >= n:
            break
        x0, y0 = random_crop()
        if not touched[y0 : y0 + PATCH, x0 : x0 + PATCH].any():
            crops.append((x0, y0, 0))
    return crops


def image_training_units(
    samples: list[Sample], rng: np.random.Generator, per_media: int
) -> UnitSet:
    """Training units of images: `image_training_crops` of each sample as `patch_channels`."""
    from models.features.image import PATCH, noise_level, patch_channels

    xs, ys, media = [], [], []
    for index, sample in enumerate(samples):
        level = noise_level(sample.media)
        for x0, y0, label in image_training_crops(sample, rng, per_media):
            xs.append(patch_channels(sample.media[y0 : y0 + PATCH, x0 : x0 + PATCH], level))
            ys.append(label)
            media.append(index)
    return UnitSet(
        x=np.stack(xs).astype(np.float32), y=np.array(ys, dtype=np.float32),
        media=np.array(media), use=np.ones(len(ys), dtype=bool),
        media_labels=np.array([s.label for s in samples], dtype=np.int64),
    )


def featurize_samples(
    modality: str, samples: list[Sample], rng: np.random.Generator, max_units: int,
    training: bool = False,
) -> UnitSet:
    """Featurise samples; keep at most `max_units` labelled units per media for training.
    Training images are random mask-labelled crops instead (`image_training_units`)."""
    if modality == "image" and training:
        return image_training_units(samples, rng, max_units)
    xs, ys, media, use = [], [], [], []
    for index, sample in enumerate(samples):
        features = featurize(modality, sample.media)
        x = features["x"]
        labels = unit_labels(modality, sample, features["meta"], len(x))
        keep = np.flatnonzero(labels >= 0)
        if len(keep) > max_units:
            keep = np.sort(rng.choice(keep, max_units, replace=False))
        mask = np.zeros(len(x), dtype=bool)
        mask[keep] = True
        xs.append(x)
        ys.append(np.where(labels >= 0, labels, sample.label))
        media.append(np.full(len(x), index))
        use.append(mask)
    return UnitSet(
        x=np.concatenate(xs).astype(np.float32),
        y=np.concatenate(ys).astype(np.float32),
        media=np.concatenate(media),
        use=np.concatenate(use),
        media_labels=np.array([s.label for s in samples], dtype=np.int64),
    )


def subset(units: UnitSet, keep: np.ndarray) -> UnitSet:
    """The units of the media where `keep` (a bool per media) holds, media renumbered."""
    keep = np.asarray(keep, dtype=bool)
    new_index = np.cumsum(keep) - 1
    unit_keep = keep[units.media]
    return UnitSet(x=units.x[unit_keep], y=units.y[unit_keep],
                   media=new_index[units.media[unit_keep]], use=units.use[unit_keep],
                   media_labels=units.media_labels[keep])
