"""Cross-validation over source families: out-of-family scores and the per-family table."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from models.training.calibration import calibrate
from models.training.feature_cache import cache_path
from models.training.fit import fit
from models.training.folds import real_families
from models.training.prepared import Prepared, save_npz
from models.training.scores import auc, raw_scores
from models.training.units import subset

log = logging.getLogger(__name__)


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
                   cache_dir: Path | None = None) -> CrossValidation:
    """For each fold of source families (`Prepared.folds`): train on the other folds' media
    (minus held-out items), calibrate on their held-out items, and score every media of the
    fold. Kept under `cache_dir` when given (`feature_cache.cache_path(..., "cv")`)."""
    path = (None if cache_dir is None else
            cache_path(cache_dir, prepared.modality, prepared.seed, prepared.quick, "cv"))
    if path is not None and path.is_file():
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
    if path is not None:
        save_npz(path, {name: np.asarray(value) for name, value in vars(cv).items()})
    return cv


def family_table(prepared: Prepared, cv: CrossValidation) -> list[dict[str, Any]]:
    """Per real source family, from the out-of-family scores: its real items' false-positive
    rate (verdict `synthetic`) and `uncertain` rate at its fold model's own threshold and band,
    and the AUC of its real items against the synthetic items of the same fold."""
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
            "auc": auc(labels[keep], cv.scores[keep]),
        })
    return rows
