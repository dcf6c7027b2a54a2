"""Train, calibrate and evaluate the baseline of each modality; write weights and metrics."""

from __future__ import annotations

import hashlib
import inspect
import json
import logging
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, TensorDataset

from models import MODALITIES
from models.checkpoint import WEIGHTS_DIR, save_checkpoint
from models.features import featurize
from models.scoring import aggregate
from models.training.data import Sample, generate
from models.training.data.image import boundary
from models.training.generator_cache import single_thread
from models.training.networks import DEFAULT_HPARAMS

log = logging.getLogger(__name__)


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
SPLIT_RULE = (
    "by SOURCE FAMILY (models.training.folds): every real catalogue family is dealt whole into "
    "one of up "
    "to 4 folds, and each fold is scored by a model trained on the other folds only (fakes "
    "follow the family of the real item they were made from; generator-only families are "
    "spread by item); about 15% of items (by a hash of their group: recording, speaker, photo, "
    "document) are held out of every model's training and fit the unit temperature; the final "
    "model trains on every family and takes its media calibration, threshold and band from the "
    "out-of-family scores"
)
QUICK = Recipe(n_per_class=10, epochs=1, max_units_per_media=4)
TRAIN_COST = {"video": 240, "audio": 180, "image": 95, "text": 20}
"""Seconds each modality took to train here (metrics.json): the pool starts the longest first."""


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


def _unit_labels(modality: str, sample: Sample, meta: dict[str, Any], n: int) -> np.ndarray:
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


def fill_ngram_tables(network: torch.nn.Module, seed: int = 0) -> None:
    """Fill the text network's 2-gram and 3-gram tables from the reference corpus."""
    from models.features.text import ngram_ids, ngram_tokens
    from models.training.data.text import reference_texts

    bigrams: set[int] = set()
    trigrams: set[int] = set()
    for text in reference_texts(seed):
        tokens = ngram_tokens(text)
        bigrams.update(ngram_ids(tokens, 2))
        trigrams.update(ngram_ids(tokens, 3))
    network.bigrams.fill(sorted(bigrams))
    network.trigrams.fill(sorted(trigrams))


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
        labels = _unit_labels(modality, sample, features["meta"], len(x))
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


def _logits(network: torch.nn.Module, x: np.ndarray, batch: int = 256) -> np.ndarray:
    network.eval()
    out = []
    with torch.inference_mode():
        for i in range(0, len(x), batch):
            out.append(network(torch.from_numpy(x[i : i + batch])).reshape(-1).double().numpy())
    return np.concatenate(out) if out else np.zeros(0)


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """Temperature minimising the binary NLL on validation units (grid search, 0.1-20)."""
    if len(logits) == 0 or len(np.unique(labels)) < 2:
        return 1.0
    best_t, best_nll = 1.0, math.inf
    for t in np.exp(np.linspace(math.log(0.1), math.log(20.0), 121)):
        z = logits / t
        nll = float(np.mean(np.logaddexp(0, z) - labels * z))
        if nll < best_nll - 1e-12:
            best_t, best_nll = float(t), nll
    return best_t


def media_scores(probs: np.ndarray, media: np.ndarray, n_media: int) -> np.ndarray:
    """`models.scoring.aggregate` of unit probabilities per media."""
    return np.array([aggregate(probs[media == i]) for i in range(n_media)])


def _auc(labels: np.ndarray, scores: np.ndarray) -> float | None:
    from sklearn.metrics import roc_auc_score

    if len(np.unique(labels)) < 2:
        return None
    return round(float(roc_auc_score(labels, scores)), 4)


def train_modality(
    modality: str, out_dir: str | Path = WEIGHTS_DIR, seed: int = 0, quick: bool = False
) -> dict[str, Any]:
    """Generate data, cross-validate over source families, train the final model, calibrate it
    on the out-of-family scores and write `<out_dir>/<modality>.pt`; returns the metrics."""
    with single_thread():
        start = time.perf_counter()
        return train_prepared(prepare(modality, seed, quick), out_dir, start)


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
        from models.training.folds import family_folds, fold_count

        k = fold_count(self.families, self.labels)
        return family_folds(self.families, self.groups, self.labels, k, self.seed)


def data_digest(modality: str, seed: int, quick: bool) -> str:
    """What a prepared data set depends on: the data and feature code, the recipe, the seed."""
    from models import features, media
    from models.training import data as data_pkg

    h = hashlib.sha256(f"{modality}:{seed}:{quick}:{RECIPES[modality]}:{QUICK}".encode())
    sources = sorted(Path(data_pkg.__file__).parent.glob("*.py")) + [
        Path(data_pkg.__file__).with_name("catalog.toml"),
        *sorted(Path(features.__file__).parent.glob("*.py")),
        *sorted(Path(media.__file__).parent.glob("*.py"))]
    for path in sources:
        h.update(path.read_bytes())
    for fn in (featurize_samples, image_training_units, image_training_crops, _unit_labels):
        h.update(inspect.getsource(fn).encode())
    return h.hexdigest()[:16]


def cache_path(modality: str, seed: int, quick: bool, kind: str = "units") -> Path:
    """Where `prepare` keeps a modality's featurised media (`kind` "units") and
    `cross_validate` its out-of-family scores ("cv"), under VAR_DIR/cache/."""
    from config import get_config

    name = f"{modality}-s{seed}{'-quick' if quick else ''}-{data_digest(modality, seed, quick)}"
    return get_config().var_dir / "cache" / kind / f"{name}.npz"


def prepare(modality: str, seed: int = 0, quick: bool = False, cache: bool = True) -> Prepared:
    """Generate `modality`'s samples and featurise every one both ways (training crops for
    images; inference units for all). Kept in `cache_path` and reused while the data code,
    catalogue, feature code, recipe and seed are the same."""
    from models.training.folds import holdout

    if modality not in RECIPES:
        raise ValueError(f"unknown modality {modality!r}")
    path = cache_path(modality, seed, quick)
    if cache and path.is_file():
        try:
            return load_prepared(path)
        except (OSError, ValueError, KeyError) as exc:
            log.warning("%s: unreadable data cache (%s); preparing again", path, exc)
    start = time.perf_counter()
    recipe = QUICK if quick else RECIPES[modality]
    rng = np.random.default_rng(seed)
    samples = generate(modality, recipe.n_per_class, seed)
    from models.features.text_lm import reference_seed

    with reference_seed(seed):  # text: the language models of this seed's reference corpus
        eval_units = featurize_samples(modality, samples, rng, recipe.max_units_per_media)
        train_units = (featurize_samples(modality, samples, rng, recipe.max_units_per_media,
                                         training=True) if modality == "image" else eval_units)
    groups = np.array([s.group for s in samples]).astype(str)
    prepared = Prepared(
        modality, seed, quick, train_units, eval_units,
        kinds=np.array([s.kind for s in samples]).astype(str),
        families=np.array([s.family or s.group for s in samples]).astype(str),
        groups=groups, held_out=holdout(groups, seed),
        data_seconds=time.perf_counter() - start)
    if cache:
        digest = "?" * len(path.stem.rsplit("-", 1)[1])
        for stale in path.parent.glob(f"{path.stem.rsplit('-', 1)[0]}-{digest}.npz"):
            stale.unlink(missing_ok=True)  # the same data set made by older code
        save_prepared(path, prepared)
    return prepared


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
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp.npz")
    np.savez(tmp, **arrays)
    os.replace(tmp, path)
    return path


def load_prepared(path: str | Path) -> Prepared:
    """Prepared data written by `save_prepared`."""
    with np.load(Path(path), allow_pickle=False) as z:
        eval_units = UnitSet(**{f: z[f"eval.{f}"] for f in _FIELDS})
        train_units = (eval_units if bool(z["shared_units"])
                       else UnitSet(**{f: z[f"train.{f}"] for f in _FIELDS}))
        return Prepared(str(z["modality"]), int(z["seed"]), bool(z["quick"]), train_units,
                        eval_units, *(z[f] for f in _MEDIA_FIELDS),
                        data_seconds=float(z["data_seconds"]))


def subset(units: UnitSet, keep: np.ndarray) -> UnitSet:
    """The units of the media where `keep` (a bool per media) holds, media renumbered."""
    keep = np.asarray(keep, dtype=bool)
    new_index = np.cumsum(keep) - 1
    unit_keep = keep[units.media]
    return UnitSet(x=units.x[unit_keep], y=units.y[unit_keep],
                   media=new_index[units.media[unit_keep]], use=units.use[unit_keep],
                   media_labels=units.media_labels[keep])


@dataclass
class Fitted:
    """A trained network with its unit temperature, media calibration `(a, b)`, decision
    threshold and uncertain band (all fitted on media it was not trained on)."""

    network: torch.nn.Module
    temperature: float = 1.0
    calibration: tuple[float, float] = (1.0, 0.0)
    threshold: float = 0.5
    band: float = 0.1
    val_auc: float | None = None
    n_train_units: int = 0
    n_train_media: int = 0
    n_val_media: int = 0


def fit(prepared: Prepared, train: np.ndarray, val: np.ndarray, progress: bool = True) -> Fitted:
    """Train on the media where `train` holds (training-mode units) with Lightning; fit the unit
    temperature on the `val` media's units and, on their media scores, a media calibration,
    threshold and band (`models.training.calibration`). `train` and `val` are bools per media."""
    import lightning as L

    from models.training.calibration import calibrate, choose_threshold, fit_platt
    from models.training.module import DetectorModule

    modality, recipe, seed = prepared.modality, prepared.recipe, prepared.seed
    L.seed_everything(seed, workers=True, verbose=False)
    units = subset(prepared.train_units, train)
    x, y = units.x[units.use], units.y[units.use]
    pos = max(1.0, float(y.sum()))
    module = DetectorModule(modality, net=DEFAULT_HPARAMS[modality], lr=recipe.lr,
                            pos_weight=(len(y) - pos) / pos)
    if modality == "text":
        fill_ngram_tables(module.net, seed)
    loader = DataLoader(
        TensorDataset(torch.from_numpy(x), torch.from_numpy(y)), batch_size=recipe.batch_size,
        shuffle=True, generator=torch.Generator().manual_seed(seed),
    )
    trainer = L.Trainer(
        max_epochs=recipe.epochs, accelerator="cpu", devices=1, deterministic=True,
        enable_progress_bar=progress, logger=False, enable_checkpointing=False,
        enable_model_summary=False, num_sanity_val_steps=0,
    )
    trainer.fit(module, loader)
    fitted = Fitted(network=module.net.eval(), n_train_units=len(y),
                    n_train_media=int(np.sum(train)), n_val_media=int(np.sum(val)))
    if np.any(val):
        v = subset(prepared.eval_units, val)
        v_logits = _logits(fitted.network, v.x)
        fitted.temperature = fit_temperature(v_logits[v.use], v.y[v.use])
        raw = scores_of(v_logits, fitted.temperature, v)
        fitted.calibration = fit_platt(raw, v.media_labels)
        scores = calibrate(raw, fitted.calibration)
        fitted.threshold, fitted.band = choose_threshold(scores, v.media_labels)
        fitted.val_auc = _auc(v.media_labels, scores)
    return fitted


def scores_of(logits: np.ndarray, temperature: float, units: UnitSet) -> np.ndarray:
    """Raw media scores (`models.scoring.aggregate`) of temperature-scaled unit logits."""
    return media_scores(1 / (1 + np.exp(-logits / temperature)), units.media,
                        len(units.media_labels))


def raw_scores(fitted: Fitted, units: UnitSet) -> np.ndarray:
    """A fitted network's raw media scores of `units`."""
    return scores_of(_logits(fitted.network, units.x), fitted.temperature, units)


@dataclass
class CrossValidation:
    """Out-of-family scores: each media scored by the fold model that never saw its family
    (`raw`, and `scores` calibrated by that fold's own calibration), with each fold's threshold
    and band and the media's fold."""

    folds: np.ndarray
    raw: np.ndarray
    scores: np.ndarray
    thresholds: np.ndarray
    bands: np.ndarray
    val_aucs: np.ndarray
    seconds: float = 0.0

    def per_media(self, name: str) -> np.ndarray:
        """A fold-level array (`thresholds`, `bands`) spread to each media."""
        return getattr(self, name)[self.folds]


def cross_validate(prepared: Prepared, progress: bool = False,
                   cache: bool = True) -> CrossValidation:
    """For each fold of source families (`Prepared.folds`): train on the other folds' media
    (minus held-out items), calibrate on their held-out items, and score every media of the
    fold. Cached beside the prepared data (`cache_path(..., "cv")`)."""
    path = cache_path(prepared.modality, prepared.seed, prepared.quick, "cv")
    if cache and path.is_file():
        try:
            with np.load(path, allow_pickle=False) as z:
                return CrossValidation(**{k: z[k] for k in z.files if k != "seconds"},
                                       seconds=float(z["seconds"]))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("%s: unreadable cross-validation cache (%s); running again", path, exc)
    start = time.perf_counter()
    folds = prepared.folds()
    k = int(folds.max()) + 1
    n = len(prepared.labels)
    raw, scores = np.full(n, np.nan), np.full(n, np.nan)
    thresholds, bands, val_aucs = np.zeros(k), np.zeros(k), np.full(k, np.nan)
    from models.training.calibration import calibrate

    for fold in range(k):
        inside = folds == fold
        fitted = fit(prepared, ~inside & ~prepared.held_out, ~inside & prepared.held_out,
                     progress=progress)
        fold_raw = raw_scores(fitted, subset(prepared.eval_units, inside))
        raw[inside] = fold_raw
        scores[inside] = calibrate(fold_raw, fitted.calibration)
        thresholds[fold], bands[fold] = fitted.threshold, fitted.band
        val_aucs[fold] = np.nan if fitted.val_auc is None else fitted.val_auc
        log.info("%s fold %d/%d: %d media out of family", prepared.modality, fold + 1, k,
                 int(inside.sum()))
    cv = CrossValidation(folds, raw, scores, thresholds, bands, val_aucs,
                         time.perf_counter() - start)
    if cache:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp.npz")
        np.savez(tmp, **{k: v for k, v in vars(cv).items()})
        os.replace(tmp, path)
    return cv


def family_table(prepared: Prepared, cv: CrossValidation) -> list[dict[str, Any]]:
    """Per real source family, from the out-of-family scores: its real items' false-positive
    rate (verdict `synthetic`) and `uncertain` rate at its fold model's own threshold and band,
    and the AUC of its real items against the synthetic items of the same fold."""
    from models.training.folds import real_families

    labels = prepared.labels
    rows = []
    threshold, band = cv.per_media("thresholds"), cv.per_media("bands")
    for family in real_families(prepared.families, labels):
        real = (prepared.families == family) & (labels == 0)
        fold = int(cv.folds[real][0])
        fake = (labels == 1) & (cv.folds == fold)
        s, t, b = cv.scores[real], threshold[real], band[real]
        keep = real | fake
        rows.append({
            "family": family, "fold": fold, "n_real": int(real.sum()),
            "n_synthetic": int(fake.sum()),
            "false_positive_rate": round(float(np.mean(s > t + b)), 4),
            "uncertain_rate": round(float(np.mean(np.abs(s - t) <= b)), 4),
            "auc": _auc(labels[keep], cv.scores[keep]),
        })
    return rows


def train_prepared(prepared: Prepared, out_dir: str | Path = WEIGHTS_DIR,
                   start: float | None = None) -> dict[str, Any]:
    """Cross-validate over source families, train the final model on every family (minus the
    held-out items, which fit its unit temperature), fit its media calibration, threshold and
    band on the out-of-family scores, and write `<out_dir>/<modality>.pt` with the metrics
    inside (text: and `<out_dir>/text-lm.npz`, the language models its features were made
    with); returns the metrics."""
    from models.training.calibration import (
        calibrate,
        choose_threshold,
        expected_calibration_error,
        fit_platt,
    )

    start = time.perf_counter() if start is None else start
    modality, labels = prepared.modality, prepared.labels
    cv = cross_validate(prepared)
    final = fit(prepared, ~prepared.held_out, prepared.held_out)
    final.calibration = fit_platt(cv.raw, labels)
    oof = calibrate(cv.raw, final.calibration)
    final.threshold, final.band = choose_threshold(oof, labels)
    decided = np.abs(oof - final.threshold) > final.band
    synthetic = oof > final.threshold + final.band
    families = family_table(prepared, cv)
    metrics: dict[str, Any] = {
        "val_auc": final.val_auc,
        "out_of_family_auc": _auc(labels, cv.scores),
        "out_of_family_real_fpr": round(float(np.mean(synthetic[labels == 0])), 4),
        "out_of_family_detection_rate": round(float(np.mean(synthetic[labels == 1])), 4),
        "out_of_family_decided_fraction": round(float(decided.mean()), 4),
        "out_of_family_ece": expected_calibration_error(oof, labels),
        "worst_family_fpr": max((r["false_positive_rate"] for r in families), default=None),
        "n_folds": int(cv.folds.max()) + 1, "n_media": len(labels),
        "n_real_families": len(families),
        "families": families,
        "temperature": round(final.temperature, 4), "threshold": round(final.threshold, 4),
        "uncertain_band": final.band, "media_calibration": list(final.calibration),
        "n_train_units": final.n_train_units, "n_train_media": final.n_train_media,
        "n_val_media": final.n_val_media, "epochs": prepared.recipe.epochs,
        "quick": prepared.quick, "seed": prepared.seed,
        "data_seconds": round(prepared.data_seconds, 1), "cv_seconds": round(cv.seconds, 1),
        "seconds": round(time.perf_counter() - start, 1),
    }
    metrics["test_auc"] = metrics["out_of_family_auc"]
    save_checkpoint(
        Path(out_dir) / f"{modality}.pt", modality, final.network, DEFAULT_HPARAMS[modality],
        temperature=final.temperature, threshold=final.threshold,
        uncertain_band=final.band, media_calibration=final.calibration,
        metrics={k: v for k, v in metrics.items() if isinstance(v, int | float)},
    )
    if modality == "text":  # the language models the features were made with, for serving
        from models.features.text_lm import ARTIFACT_NAME, human_lm

        human_lm(prepared.seed).save(Path(out_dir) / ARTIFACT_NAME)
    log.info("%s: %s", modality, {k: v for k, v in metrics.items() if k != "families"})
    return metrics


def train_all(
    out_dir: str | Path = WEIGHTS_DIR,
    seed: int = 0,
    quick: bool = False,
    modalities: list[str] | tuple[str, ...] | None = None,
    jobs: int = 1,
) -> dict[str, Any]:
    """Train every (or the named) modality on `jobs` worker processes (one modality each, torch
    on one thread); write `<modality>.pt` and `metrics.json` (merged with metrics of modalities
    not retrained). Returns the metrics."""
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    report_load = [round(v, 2) for v in os.getloadavg()]
    path = out_dir / "metrics.json"
    report: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
    report.setdefault("modalities", {})
    chosen = list(modalities or MODALITIES)
    for modality in chosen:
        if modality not in MODALITIES:
            raise ValueError(f"unknown modality {modality!r}")
    if jobs > 1 and len(chosen) > 1:
        order = sorted(chosen, key=lambda m: -TRAIN_COST.get(m, 0))  # longest first
        with ProcessPoolExecutor(max_workers=jobs, mp_context=get_context("spawn")) as pool:
            done = dict(zip(order, pool.map(train_modality, order, [out_dir] * len(order),
                                            [seed] * len(order), [quick] * len(order)),
                            strict=True))
        for modality in chosen:
            report["modalities"][modality] = done[modality]
    else:
        for modality in chosen:
            report["modalities"][modality] = train_modality(modality, out_dir, seed, quick)
    report.update(seed=seed, quick=quick, seconds=round(time.perf_counter() - start, 1),
                  held_out_auc={m: v.get("test_auc") for m, v in report["modalities"].items()},
                  split_rule=SPLIT_RULE, jobs=jobs,
                  load_average_at_end=[round(v, 2) for v in os.getloadavg()],
                  cpu_count=os.cpu_count())
    report["load_average_at_start"] = report_load
    report.pop("note", None)
    path.write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
    return report
