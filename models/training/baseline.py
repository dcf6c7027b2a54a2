"""The baseline of each modality: cross-validate, train the final model, calibrate, write it."""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from models import MODALITIES
from models.checkpoint import WEIGHTS_DIR, save_checkpoint
from models.training.calibration import (
    calibrate,
    choose_threshold,
    expected_calibration_error,
    fit_platt,
)
from models.training.cross_validation import cross_validate, family_table
from models.training.feature_cache import load_or_prepare
from models.training.fit import fit
from models.training.networks import DEFAULT_HPARAMS
from models.training.prepared import Prepared, prepare
from models.training.scores import auc
from models.training.threads import single_thread

log = logging.getLogger(__name__)


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
TRAIN_COST = {"video": 240, "audio": 180, "image": 95, "text": 20}
"""Seconds each modality took to train here (metrics.json): the pool starts the longest first."""


def train_modality(
    modality: str, out_dir: str | Path = WEIGHTS_DIR, seed: int = 0, quick: bool = False,
    cache_dir: Path | None = None,
) -> dict[str, Any]:
    """Generate data, cross-validate over source families, train the final model, calibrate it
    on the out-of-family scores and write `<out_dir>/<modality>.pt`; returns the metrics. The
    data set and the cross-validation scores are kept under `cache_dir` when given."""
    with single_thread():
        start = time.perf_counter()
        prepared = (prepare(modality, seed, quick) if cache_dir is None
                    else load_or_prepare(cache_dir, modality, seed, quick))
        return train_prepared(prepared, out_dir, start, cache_dir)


def train_prepared(prepared: Prepared, out_dir: str | Path = WEIGHTS_DIR,
                   start: float | None = None, cache_dir: Path | None = None) -> dict[str, Any]:
    """Cross-validate over source families, train the final model on every family (minus the
    held-out items, which fit its unit temperature), fit its media calibration, threshold and
    band on the out-of-family scores, and write `<out_dir>/<modality>.pt` with the metrics
    inside (text: and `<out_dir>/text-lm.npz`, the language models its features were made
    with); returns the metrics. The cross-validation scores are kept under `cache_dir` when
    given."""
    start = time.perf_counter() if start is None else start
    modality, labels = prepared.modality, prepared.labels
    cv = cross_validate(prepared, cache_dir=cache_dir)
    final = fit(prepared, ~prepared.held_out, prepared.held_out)
    final.calibration = fit_platt(cv.raw, labels)
    oof = calibrate(cv.raw, final.calibration)
    final.threshold, final.band = choose_threshold(oof, labels)
    decided = np.abs(oof - final.threshold) > final.band
    synthetic = oof > final.threshold + final.band
    families = family_table(prepared, cv)
    metrics: dict[str, Any] = {
        "val_auc": final.val_auc,
        "out_of_family_auc": auc(labels, cv.scores),
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
    cache_dir: Path | None = None,
) -> dict[str, Any]:
    """Train every (or the named) modality on `jobs` worker processes (one modality each, torch
    on one thread); write `<modality>.pt` and `metrics.json` (merged with metrics of modalities
    not retrained). Returns the metrics. Data sets and cross-validation scores are kept under
    `cache_dir` when given (`models.training.feature_cache`)."""
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
            runs = pool.map(train_modality, order, [out_dir] * len(order), [seed] * len(order),
                            [quick] * len(order), [cache_dir] * len(order))
            done = dict(zip(order, runs, strict=True))
        for modality in chosen:
            report["modalities"][modality] = done[modality]
    else:
        for modality in chosen:
            report["modalities"][modality] = train_modality(modality, out_dir, seed, quick,
                                                            cache_dir)
    report.update(seed=seed, quick=quick, seconds=round(time.perf_counter() - start, 1),
                  held_out_auc={m: v.get("test_auc") for m, v in report["modalities"].items()},
                  split_rule=SPLIT_RULE, jobs=jobs,
                  load_average_at_end=[round(v, 2) for v in os.getloadavg()],
                  cpu_count=os.cpu_count())
    report["load_average_at_start"] = report_load
    report.pop("note", None)
    path.write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
    return report
