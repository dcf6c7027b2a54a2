"""Real photographs read from the catalogue's real image sources (allow-listed files only)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from models.training.data import catalog

MAX_SIDE = 1600  # longer side of a stored whole photo: a 4K/20 MP photo is area-scaled to this
# early, so that the cache of decoded photos stays ~0.3 GB and crops stay cheap
NATIVE_CROP = 768  # side of the extra native-resolution centre crop kept of a scaled-down photo
# (sensor noise and demosaicing traces are only intact at native resolution)
MIN_SIDE = 200  # photos smaller than this give too few 64-px patches to be worth a source


@dataclass(frozen=True)
class Photo:
    """One decoded real photo (BGR uint8): `name` is unique, `group` names the photograph it
    shows (a scaled whole photo and its native crop share it), `family` and `source` come from
    the catalogue."""

    name: str
    group: str
    family: str
    source: str
    image: np.ndarray


def read_photo(path: Path) -> np.ndarray:
    """A photo file decoded as 3-channel BGR uint8 (greyscale photos are replicated)."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError(f"cannot decode image {path}")
    return image


def _views(name: str, image: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """A photo as stored: whole when small, else area-scaled to `MAX_SIDE` plus a native crop."""
    h, w = image.shape[:2]
    if max(h, w) <= MAX_SIDE:
        return [(name, image)]
    scale = MAX_SIDE / max(h, w)
    whole = cv2.resize(image, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
    side_y, side_x = min(h, NATIVE_CROP), min(w, NATIVE_CROP)
    y, x = (h - side_y) // 2, (w - side_x) // 2
    crop = np.ascontiguousarray(image[y : y + side_y, x : x + side_x])
    return [(name, whole), (f"{name}@native", crop)]


@functools.cache
def real_photos() -> tuple[Photo, ...]:
    """Every allow-listed real photo of the catalogue's real image sources, in catalogue order."""
    found: list[Photo] = []
    for source in catalog.select("image", "real"):
        for path in source.files():
            image = read_photo(path)
            if min(image.shape[:2]) < MIN_SIDE:
                continue
            group = f"{source.family}/{path.stem}"
            found += [Photo(name, group, source.family, source.name, view)
                      for name, view in _views(group, image)]
    if not found:
        raise FileNotFoundError("no real photos found; install the catalogue's packages "
                                "(make data)")
    return tuple(found)


def non_camera_images() -> list[tuple[str, np.ndarray]]:
    """(name, BGR image) of the catalogue's non-camera image sources (renders, drawings):
    reported on their own, never labelled real."""
    return [(f"{source.family}/{path.stem}", read_photo(path))
            for source in catalog.select("image", "non-camera")
            for path in source.files()]
