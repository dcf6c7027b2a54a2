"""Prepared data sets and cross-validation scores kept on disk, keyed on the code that made them."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

from models.training.prepared import QUICK, RECIPES, Prepared, load_prepared, prepare, save_prepared

log = logging.getLogger(__name__)


def data_digest(modality: str, seed: int, quick: bool) -> str:
    """What a prepared data set depends on: the data, media, feature and unit code, the
    catalogue, the recipe and the seed."""
    from models import features, media
    from models.training import data as data_pkg
    from models.training import units

    h = hashlib.sha256(f"{modality}:{seed}:{quick}:{RECIPES[modality]}:{QUICK}".encode())
    sources = sorted(Path(data_pkg.__file__).parent.glob("*.py")) + [
        Path(data_pkg.__file__).with_name("catalog.toml"),
        *sorted(Path(features.__file__).parent.glob("*.py")),
        *sorted(Path(media.__file__).parent.glob("*.py")),
        Path(units.__file__)]
    for path in sources:
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def cache_path(cache_dir: Path, modality: str, seed: int, quick: bool,
               kind: str = "units") -> Path:
    """Where `load_or_prepare` keeps a modality's featurised media (`kind` "units") and
    `models.training.cross_validation.cross_validate` its out-of-family scores ("cv"):
    `<cache_dir>/<kind>/<modality>-s<seed>[-quick]-<data_digest>.npz`."""
    name = f"{modality}-s{seed}{'-quick' if quick else ''}-{data_digest(modality, seed, quick)}"
    return Path(cache_dir) / kind / f"{name}.npz"


def load_or_prepare(cache_dir: Path, modality: str, seed: int = 0,
                    quick: bool = False) -> Prepared:
    """`models.training.prepared.prepare`, kept in `cache_path` and reused while the data
    code, catalogue, feature code, recipe and seed are the same; files of the same data set
    made by older code are removed."""
    if modality not in RECIPES:
        raise ValueError(f"unknown modality {modality!r}")
    path = cache_path(cache_dir, modality, seed, quick)
    if path.is_file():
        try:
            return load_prepared(path)
        except (OSError, ValueError, KeyError) as exc:
            log.warning("%s: unreadable data cache (%s); preparing again", path, exc)
    prepared = prepare(modality, seed, quick)
    stem, digest = path.stem.rsplit("-", 1)
    for stale in path.parent.glob(f"{stem}-{'?' * len(digest)}.npz"):
        stale.unlink(missing_ok=True)  # the same data set made by older code
    save_prepared(path, prepared)
    return prepared
