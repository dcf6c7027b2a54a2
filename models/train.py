"""Train, calibrate and evaluate the baseline of each modality; write weights and metrics."""

from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, TensorDataset

from models import MODALITIES
from models.checkpoint import WEIGHTS_DIR, save_checkpoint
from models.data import Sample, generate, split_of
from models.data.image import boundary
from models.features import featurize
from models.networks import DEFAULT_HPARAMS
from models.scoring import aggregate

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
    "image": Recipe(n_per_class=200, epochs=6, lr=3e-3, max_units_per_media=6),
    "audio": Recipe(n_per_class=300, epochs=10),
    "video": Recipe(n_per_class=150, epochs=8),
    "text": Recipe(n_per_class=1500, epochs=6, lr=3e-3),
}
QUICK = Recipe(n_per_class=10, epochs=1, max_units_per_media=4)


@dataclass
class UnitSet:
    """Featurised units of several media: `x`, unit labels `y`, the media index of each unit,
    whether a unit's label is reliable enough to train on (`use`), and each media's label."""

    x: np.ndarray
    y: np.ndarray
    media: np.ndarray
    use: np.ndarray
    media_labels: np.ndarray


def _unit_labels(modality: str, sample: Sample, meta: dict[str, Any], n: int) -> np.ndarray:
    """Label per unit, or -1 where unknown (image patches of a blend that miss its boundary)."""
    labels = np.full(n, sample.label, dtype=np.int64)
    if modality == "image" and sample.label and sample.mask is not None:
        edge = boundary(sample.mask)
        h, w = edge.shape
        for i, (x, y, bw, bh) in enumerate(meta["patches"]):
            patch = edge[y : min(h, y + bh), x : min(w, x + bw)]
            labels[i] = 1 if patch.size and patch.mean() >= 0.03 else -1
    return labels


def featurize_samples(
    modality: str, samples: list[Sample], rng: np.random.Generator, max_units: int
) -> UnitSet:
    """Featurise samples; keep at most `max_units` labelled units per media for training."""
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


def choose_threshold(scores: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """Threshold maximising balanced accuracy on validation media (middle of the best range),
    and the narrowest uncertain band (0.03-0.25) outside which validation accuracy >= 95%."""
    if len(scores) == 0 or len(np.unique(labels)) < 2:
        return 0.5, 0.1
    values = np.unique(np.concatenate([[0.0, 1.0], scores]))
    candidates = (values[:-1] + values[1:]) / 2

    def balanced(t: float) -> float:
        pred = scores > t
        return 0.5 * (pred[labels == 1].mean() + (~pred[labels == 0]).mean())

    accs = np.array([balanced(t) for t in candidates])
    best = candidates[np.flatnonzero(accs >= accs.max() - 1e-9)]
    threshold = float(np.clip(np.median(best), 0.05, 0.95))
    band = 0.25
    for b in np.arange(0.03, 0.2501, 0.01):
        outside = np.abs(scores - threshold) > b
        if outside.sum() >= max(4, len(scores) // 2):
            correct = (scores[outside] > threshold) == (labels[outside] == 1)
            if correct.mean() >= 0.95:
                band = float(b)
                break
    return threshold, round(band, 2)


def _auc(labels: np.ndarray, scores: np.ndarray) -> float | None:
    from sklearn.metrics import roc_auc_score

    if len(np.unique(labels)) < 2:
        return None
    return round(float(roc_auc_score(labels, scores)), 4)


def train_modality(
    modality: str, out_dir: str | Path = WEIGHTS_DIR, seed: int = 0, quick: bool = False
) -> dict[str, Any]:
    """Generate data, train with Lightning, calibrate, evaluate on held-out media and write
    `<out_dir>/<modality>.pt`; returns the metrics of this modality."""
    import lightning as L

    from models.module import DetectorModule

    start = time.perf_counter()
    recipe = QUICK if quick else RECIPES[modality]
    L.seed_everything(seed, workers=True, verbose=False)
    rng = np.random.default_rng(seed)
    samples = generate(modality, recipe.n_per_class, seed)
    splits: dict[str, list[Sample]] = {name: [] for name in ("train", "val", "test")}
    for sample in samples:
        splits[sample.info.get("split") or split_of(sample.group, seed)].append(sample)
    sets = {
        name: featurize_samples(modality, items, rng, recipe.max_units_per_media)
        for name, items in splits.items() if items
    }
    t_data = time.perf_counter() - start
    train = sets["train"]
    x, y = train.x[train.use], train.y[train.use]
    pos = max(1.0, float(y.sum()))
    module = DetectorModule(modality, net=DEFAULT_HPARAMS[modality], lr=recipe.lr,
                            pos_weight=(len(y) - pos) / pos)
    loader = DataLoader(
        TensorDataset(torch.from_numpy(x), torch.from_numpy(y)), batch_size=recipe.batch_size,
        shuffle=True, generator=torch.Generator().manual_seed(seed),
    )
    val_loader = None
    if "val" in sets:
        v = sets["val"]
        val_loader = DataLoader(TensorDataset(torch.from_numpy(v.x[v.use]),
                                              torch.from_numpy(v.y[v.use])), batch_size=256)
    trainer = L.Trainer(
        max_epochs=recipe.epochs, accelerator="cpu", devices=1, deterministic=True,
        enable_progress_bar=True, logger=False, enable_checkpointing=False,
        enable_model_summary=False, num_sanity_val_steps=0,
    )
    trainer.fit(module, loader, val_loader)
    network = module.net.eval()

    temperature, threshold, band, val_auc = 1.0, 0.5, 0.1, None
    if "val" in sets:
        v = sets["val"]
        v_logits = _logits(network, v.x)
        temperature = fit_temperature(v_logits[v.use], v.y[v.use])
        v_scores = media_scores(1 / (1 + np.exp(-v_logits / temperature)), v.media,
                                len(v.media_labels))
        threshold, band = choose_threshold(v_scores, v.media_labels)
        val_auc = _auc(v.media_labels, v_scores)
    metrics: dict[str, Any] = {"val_auc": val_auc}
    if "test" in sets:
        t = sets["test"]
        t_logits = _logits(network, t.x)
        t_probs = 1 / (1 + np.exp(-t_logits / temperature))
        t_scores = media_scores(t_probs, t.media, len(t.media_labels))
        decided = np.abs(t_scores - threshold) > band
        correct = (t_scores > threshold) == (t.media_labels == 1)
        metrics.update(
            test_auc=_auc(t.media_labels, t_scores),
            test_unit_auc=_auc(t.y[t.use], t_probs[t.use]),
            test_accuracy=round(float(correct.mean()), 4),
            test_decided_fraction=round(float(decided.mean()), 4),
            test_decided_accuracy=round(float(correct[decided].mean()), 4) if decided.any()
            else None,
            n_test_media=len(t.media_labels),
        )
        by_kind = {}
        for kind in sorted({s.kind for s in splits["test"]}):
            idx = np.array([s.kind == kind for s in splits["test"]])
            by_kind[kind] = round(float(correct[idx].mean()), 4)
        metrics["test_accuracy_by_kind"] = by_kind
    metrics.update(
        temperature=round(temperature, 4), threshold=round(threshold, 4), uncertain_band=band,
        n_train_units=len(y), n_train_media=len(train.media_labels),
        n_val_media=len(sets["val"].media_labels) if "val" in sets else 0,
        epochs=recipe.epochs, quick=quick, seed=seed,
        data_seconds=round(t_data, 1), seconds=round(time.perf_counter() - start, 1),
    )
    save_checkpoint(
        Path(out_dir) / f"{modality}.pt", modality, network, DEFAULT_HPARAMS[modality],
        temperature=temperature, threshold=threshold, uncertain_band=band,
        metrics={k: v for k, v in metrics.items() if isinstance(v, int | float)},
    )
    log.info("%s: %s", modality, metrics)
    return metrics


def train_all(
    out_dir: str | Path = WEIGHTS_DIR,
    seed: int = 0,
    quick: bool = False,
    modalities: list[str] | tuple[str, ...] | None = None,
) -> dict[str, Any]:
    """Train every (or the named) modality; write `<modality>.pt` and `metrics.json` (merged
    with metrics of modalities not retrained). Returns the metrics."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    path = out_dir / "metrics.json"
    report: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
    report.setdefault("modalities", {})
    for modality in modalities or MODALITIES:
        if modality not in MODALITIES:
            raise ValueError(f"unknown modality {modality!r}")
        report["modalities"][modality] = train_modality(modality, out_dir, seed, quick)
    report.update(seed=seed, quick=quick, seconds=round(time.perf_counter() - start, 1),
                  held_out_auc={m: v.get("test_auc") for m, v in report["modalities"].items()})
    path.write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
    return report
