"""Image data: augmented crops of real photos vs. up-sampled, blended, cloned, copy-moved,
spliced and auto-encoded versions of them."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from models.training.data import Sample
from models.training.data.augment_image import augment_geometry, augment_photometric
from models.training.data.image_fakes import (
    boundary,
    change_map,
    clone,
    copy_move,
    self_blend,
    splice,
    upsample,
)
from models.training.data.photo_sources import Photo, real_photos

__all__ = ["OPENCV_DATA", "boundary", "change_map", "clone", "generate", "neural_draw",
           "random_view", "self_blend", "upsample"]

OPENCV_DATA = Path("/usr/share/doc/opencv-doc/examples/data")  # opencv-doc's samples
DRAWN_KINDS = ("upsample", "upsample", "blend", "blend", "clone", "copy-move", "splice")
"""Weighted draw of the hand-made generators (main rng): up-sampling and blends twice."""
NEURAL_KINDS = ("autoencoder",)  # `models.training.data.neural_image`, drawn by a separate rng
SYNTHETIC_KINDS = ("upsample", "blend", "clone", "copy-move", "splice", *NEURAL_KINDS)
NEURAL_SHARE = 0.2  # of synthetic samples re-synthesised by the auto-encoder instead
NEURAL_FULL_FROM = 50  # data sets with fewer samples per class use the quick generator
VIEW_SIDE = (96, 320)  # side range of a training crop, in pixels
VIEW_DOWNSCALE = (0.4, 0.9)  # area down-scaling of a photo before half of the crops


def _families(items: tuple[Photo, ...]) -> tuple[list[str], np.ndarray, dict[str, list[Photo]]]:
    """Families, their draw probabilities (square root of their photo count: big families
    still dominate less) and their photos."""
    members: dict[str, list[Photo]] = {}
    for photo in items:
        members.setdefault(photo.family, []).append(photo)
    names = sorted(members)
    weights = np.sqrt([len({p.group for p in members[f]}) for f in names])
    return names, weights / weights.sum(), members


def random_view(rng: np.random.Generator, image: np.ndarray) -> np.ndarray:
    """An authentic-looking view: optional area down-scaling, a crop of `VIEW_SIDE`, a flip."""
    if rng.random() < 0.5:
        scale = rng.uniform(*VIEW_DOWNSCALE)
        h, w = image.shape[:2]
        image = cv2.resize(image, (max(VIEW_SIDE[0], round(w * scale)),
                                   max(VIEW_SIDE[0], round(h * scale))),
                           interpolation=cv2.INTER_AREA)
    h, w = image.shape[:2]
    ch = int(rng.integers(min(VIEW_SIDE[0], h), min(VIEW_SIDE[1], h) + 1))
    cw = int(rng.integers(min(VIEW_SIDE[0], w), min(VIEW_SIDE[1], w) + 1))
    y, x = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
    view = image[y : y + ch, x : x + cw]
    if rng.random() < 0.5:
        view = view[:, ::-1]
    return np.ascontiguousarray(view)


def neural_draw(n_per_class: int, seed: int, share: float = NEURAL_SHARE) -> list[bool]:
    """Which samples (synthetic ones only) the neural generator makes instead: a draw of its
    own, so that every other sample is the same as without the neural kinds; the draw of
    sample i does not depend on `n_per_class`."""
    side = np.random.default_rng([seed, 0xAE])
    return [bool(side.random() < share) and i % 2 == 1 for i in range(n_per_class * 2)]


def _donor(rng: np.random.Generator, photo: Photo, family: list[Photo]) -> np.ndarray:
    """A random view of another photograph of the same family (of the same one when the
    family has only one)."""
    others = [p for p in family if p.group != photo.group] or family
    return random_view(rng, others[int(rng.integers(len(others)))].image)


def _fake(rng: np.random.Generator, kind: str, view: np.ndarray, photo: Photo,
          family: list[Photo]) -> tuple[np.ndarray, np.ndarray | None, dict]:
    """One hand-made fake of `view`: (image, manipulation mask or None, info)."""
    if kind == "upsample":
        out = upsample(rng, view)
        return out, None, {"change": change_map(view, out)}
    if kind == "blend":
        out, mask = self_blend(rng, view)
    elif kind == "clone":
        donor = _donor(rng, photo, family) if rng.random() < 0.5 else None
        out, mask = clone(rng, view, None if donor is None else _resized(donor, view))
    elif kind == "copy-move":
        out, mask = copy_move(rng, view)
    elif kind == "splice":
        out, mask = splice(rng, view, _donor(rng, photo, family))
    else:
        raise ValueError(f"unknown image generator {kind!r}")
    return out, mask, {}


def is_grey(image: np.ndarray) -> bool:
    """Whether a BGR image is greyscale (its three channels equal)."""
    b, g, r = image[:, :, 0], image[:, :, 1], image[:, :, 2]
    return bool((b == g).all() and (g == r).all())


def _resized(image: np.ndarray, like: np.ndarray) -> np.ndarray:
    h, w = like.shape[:2]
    return image if image.shape[:2] == (h, w) else cv2.resize(image, (w, h),
                                                              interpolation=cv2.INTER_AREA)


def generate(n_per_class: int, seed: int = 0) -> list[Sample]:
    """Authentic crops and synthetic ones made from crops of the same photos, all augmented
    alike (`augment_image`: geometric steps before a fake is made, pixel steps after).

    A photo is drawn by family (`_families`), then uniformly within it; a fake keeps its
    photo's group and family. About `NEURAL_SHARE` of the synthetic samples are an
    auto-encoder's whole-image re-synthesis of the view a drawn generator would have changed
    (`neural_draw`); that generator's draws are still made, so the other samples do not change.
    """
    from models.training.data import neural_image

    rng = np.random.default_rng(seed)
    families, weights, members = _families(real_photos())
    neural = neural_draw(n_per_class, seed)
    models: list = []
    if any(neural):
        variants = (neural_image.FULL_VARIANTS if n_per_class >= NEURAL_FULL_FROM
                    else neural_image.QUICK_VARIANTS)
        models = [neural_image.load_autoencoder(seed, settings) for settings in variants]
    samples: list[Sample] = []
    for i in range(n_per_class * 2):
        label = i % 2
        family = members[families[int(rng.choice(len(families), p=weights))]]
        photo = family[int(rng.integers(len(family)))]
        view = augment_geometry(rng, random_view(rng, photo.image))
        mask, kind, info = None, "photo", {}
        if label:
            kind = DRAWN_KINDS[int(rng.integers(len(DRAWN_KINDS)))]
            original = view
            view, mask, info = _fake(rng, kind, view, photo, family)
            if neural[i] and models:
                model = models[(i // 2) % len(models)]
                kind, mask = "autoencoder", None
                view = neural_image.resynthesise(model, original)
                info = {"change": change_map(original, view)}
            if is_grey(original):  # a fake of a greyscale photo stays grey: colour is no cue
                view = cv2.cvtColor(cv2.cvtColor(view, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
                if "change" in info:
                    info["change"] = change_map(original, view)
        view = augment_photometric(rng, view)
        samples.append(Sample(view, label, kind, group=photo.group, mask=mask,
                              family=photo.family, info={"source": photo.source, **info}))
    return samples
