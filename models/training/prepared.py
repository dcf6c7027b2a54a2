"""A modality's prepared data set: recipes, seeded generation and featurisation, .npz files."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from models.training.data import generate
from models.training.folds import family_folds, fold_count, holdout
from models.training.units import UnitSet, featurize_samples


@dataclass(frozen=True)
class Recipe:
    """Data set size and optimisation settings of one modality."""

    n_per_class: int
    epochs: int
    lr: float = 2e-3
    batch_size: int = 64
    max_units_per_media: int = 64


RECIPES = {
    "image": Recipe(n_per_class=450, epochs=8, lr=3e-3, max_units_per_media=12),
    "audio": Recipe(n_per_class=300, epochs=10),
    "video": Recipe(n_per_class=500, epochs=20),
    "text": Recipe(n_per_class=1500, epochs=6, lr=3e-3),
}
QUICK = Recipe(n_per_class=10, epochs=1, max_units_per_media=4)


@dataclass
class Prepared:
    """A modality's featurised media: training-mode units (`train_units`: image crops labelled
    by what they hold) and inference-mode units (`eval_units`, what scoring sees; the same
    object for audio, video and text), with each media's generator `kinds`, source `families`,
    `groups` and whether it is `held_out` from every model's training (`models.training.folds`)."""

    modality: str
    seed: int
    quick: bool
    train_units: UnitSet
    eval_units: UnitSet
    kinds: np.ndarray
    families: np.ndarray
    groups: np.ndarray
    held_out: np.ndarray
    data_seconds: float = 0.0

    @property
    def recipe(self) -> Recipe:
        return QUICK if self.quick else RECIPES[self.modality]

    @property
    def labels(self) -> np.ndarray:
        return self.eval_units.media_labels

    def folds(self) -> np.ndarray:
        """The family fold of each media (`models.training.folds.family_folds`)."""
        k = fold_count(self.families, self.labels)
        return family_folds(self.families, self.groups, self.labels, k, self.seed)


def prepare(modality: str, seed: int = 0, quick: bool = False) -> Prepared:
    """Generate `modality`'s samples and featurise every one both ways (training crops for
    images; inference units for all). `models.training.feature_cache.load_or_prepare` keeps
    the result on disk."""
    from models.features.text_lm import reference_seed

    if modality not in RECIPES:
        raise ValueError(f"unknown modality {modality!r}")
    start = time.perf_counter()
    recipe = QUICK if quick else RECIPES[modality]
    rng = np.random.default_rng(seed)
    samples = generate(modality, recipe.n_per_class, seed)
    with reference_seed(seed):  # text: the language models of this seed's reference corpus
        eval_units = featurize_samples(modality, samples, rng, recipe.max_units_per_media)
        train_units = (featurize_samples(modality, samples, rng, recipe.max_units_per_media,
                                         training=True) if modality == "image" else eval_units)
    groups = np.array([s.group for s in samples]).astype(str)
    return Prepared(
        modality, seed, quick, train_units, eval_units,
        kinds=np.array([s.kind for s in samples]).astype(str),
        families=np.array([s.family or s.group for s in samples]).astype(str),
        groups=groups, held_out=holdout(groups, seed),
        data_seconds=time.perf_counter() - start)


def save_npz(path: Path, arrays: dict[str, np.ndarray]) -> Path:
    """`np.savez` to a temporary file beside `path`, then rename it over `path` (a reader never
    sees half a file; the arrays are too large to assemble in memory first)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp.npz")
    np.savez(tmp, **arrays)
    os.replace(tmp, path)
    return path


_FIELDS = ("x", "y", "media", "use", "media_labels")
_MEDIA_FIELDS = ("kinds", "families", "groups", "held_out")


def save_prepared(path: str | Path, prepared: Prepared) -> Path:
    """Write prepared data to one .npz (atomically); `load_prepared` reads it back."""
    path = Path(path)
    arrays: dict[str, np.ndarray] = {
        "data_seconds": np.array(prepared.data_seconds), "seed": np.array(prepared.seed),
        "quick": np.array(prepared.quick), "modality": np.array(prepared.modality),
        "shared_units": np.array(prepared.train_units is prepared.eval_units)}
    for name in ("eval", "train"):
        if name == "train" and prepared.train_units is prepared.eval_units:
            continue
        units = getattr(prepared, f"{name}_units")
        for f in _FIELDS:
            arrays[f"{name}.{f}"] = getattr(units, f)
    for f in _MEDIA_FIELDS:
        arrays[f] = getattr(prepared, f)
    return save_npz(path, arrays)


def load_prepared(path: str | Path) -> Prepared:
    """Prepared data written by `save_prepared`."""
    with np.load(Path(path), allow_pickle=False) as z:
        eval_units = UnitSet(**{f: z[f"eval.{f}"] for f in _FIELDS})
        train_units = (eval_units if bool(z["shared_units"])
                       else UnitSet(**{f: z[f"train.{f}"] for f in _FIELDS}))
        return Prepared(str(z["modality"]), int(z["seed"]), bool(z["quick"]), train_units,
                        eval_units, *(z[f] for f in _MEDIA_FIELDS),
                        data_seconds=float(z["data_seconds"]))
