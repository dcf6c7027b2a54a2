"""Leave-one-generator-out evaluation of every modality: figures, a Markdown report, ROC curves.

For each modality and each synthetic generator G in its data set, a model is trained with the
same recipe on the training split *without* G's media (validation calibrates without G too) and
tested on the held-out test split's authentic media plus G's: G is a generator the model never
saw. The in-distribution figure scores the committed weights (`models/weights/<modality>.pt`,
trained on every generator) on the whole test split. Splits are by source media
(`models.train.SPLIT_RULE`), so no test media shares a source with a training media.
"""

from __future__ import annotations

import json
import logging
import os
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np

from models import MODALITIES

log = logging.getLogger(__name__)

TARGETS = {"image": 0.90, "video": 0.90, "audio": 0.90, "text": 0.85}
"""Held-out-generator AUC targets (issue 3)."""
IN_DISTRIBUTION_TARGET = 0.98
REPORT_DIR = Path(__file__).resolve().parent.parent / "docs" / "evaluation"
ROC_POINTS = 101
COST_ORDER = ("video", "audio", "image", "text")
"""Longest tasks first, so two workers finish together."""


def equal_error_rate(labels: np.ndarray, scores: np.ndarray) -> float | None:
    """The EER: the error rate where false accepts equal false rejects (ROC interpolated)."""
    from sklearn.metrics import roc_curve

    if len(np.unique(labels)) < 2:
        return None
    fpr, tpr, _ = roc_curve(labels, scores)
    fnr = 1 - tpr
    i = int(np.argmin(np.abs(fnr - fpr)))
    if i > 0 and fnr[i] != fpr[i]:  # interpolate between the two points around the crossing
        j = i - 1 if (fnr[i] - fpr[i]) * (fnr[i - 1] - fpr[i - 1]) <= 0 else min(i + 1,
                                                                                 len(fpr) - 1)
        d0, d1 = fnr[i] - fpr[i], fnr[j] - fpr[j]
        if d0 != d1:
            w = d0 / (d0 - d1)
            return round(float(fpr[i] + w * (fpr[j] - fpr[i])), 4)
    return round(float((fpr[i] + fnr[i]) / 2), 4)


def roc_points(labels: np.ndarray, scores: np.ndarray) -> dict[str, list[float]]:
    """The ROC curve resampled at ROC_POINTS false-positive rates (for the JSON and the plot)."""
    from sklearn.metrics import roc_curve

    if len(np.unique(labels)) < 2:
        return {"fpr": [], "tpr": []}
    fpr, tpr, _ = roc_curve(labels, scores)
    grid = np.linspace(0, 1, ROC_POINTS)
    return {"fpr": [round(float(v), 4) for v in grid],
            "tpr": [round(float(v), 4) for v in np.interp(grid, fpr, tpr)]}


def figures(labels: np.ndarray, scores: np.ndarray, threshold: float) -> dict[str, Any]:
    """AUC, EER, accuracy at the model's threshold, counts and the ROC of one test set."""
    from models.train import _auc

    labels = np.asarray(labels)
    return {
        "auc": _auc(labels, scores),
        "eer": equal_error_rate(labels, scores),
        "accuracy": round(float(((scores > threshold) == (labels == 1)).mean()), 4)
        if len(labels) else None,
        "n_authentic": int((labels == 0).sum()),
        "n_synthetic": int((labels == 1).sum()),
        "roc": roc_points(labels, scores),
    }


def generators_of(prepared: Any) -> list[str]:
    """The synthetic kinds (generators) present in a prepared data set."""
    found: set[str] = set()
    for name, units in prepared.sets.items():
        found.update(prepared.kinds[name][units.media_labels == 1].tolist())
    return sorted(found)


def held_out_generator(prepared: Any, generator: str) -> dict[str, Any]:
    """Train without `generator`, test on the test split's authentic media plus its media."""
    from models.train import _logits, fit, scores_of, subset

    start = time.perf_counter()
    fitted = fit(prepared, exclude={generator}, progress=False)
    test, kinds = prepared.sets["test"], prepared.kinds["test"]
    keep = (test.media_labels == 0) | (kinds == generator)
    units = subset(test, keep)
    scores = scores_of(_logits(fitted.network, units.x), fitted.temperature, units)
    found = figures(units.media_labels, scores, fitted.threshold)
    found.update(generator=generator, val_auc=fitted.val_auc,
                 n_train_media=fitted.n_train_media,
                 seconds=round(time.perf_counter() - start, 1))
    return found


def in_distribution(prepared: Any, weights: Path) -> dict[str, Any]:
    """The weights trained on every generator, scored on the whole test split and per kind."""
    from models.checkpoint import load_checkpoint

    found = score_checkpoint(load_checkpoint(weights), prepared)
    found["weights"] = str(weights)
    return found


def score_checkpoint(ckpt: dict[str, Any], prepared: Any) -> dict[str, Any]:
    """`figures` of a weights checkpoint on a prepared test split, plus `by_generator` (AUC of
    authentic vs each generator). Raises ValueError when the checkpoint was trained on other
    features or another modality."""
    from models.checkpoint import network_from_checkpoint
    from models.features import FEATURE_VERSION
    from models.train import _logits, scores_of

    if ckpt.get("modality") != prepared.modality:
        raise ValueError(f"a {ckpt.get('modality')} model cannot score {prepared.modality}")
    if ckpt.get("feature_version") != FEATURE_VERSION:
        raise ValueError(f"feature_version {ckpt.get('feature_version')} is not "
                         f"{FEATURE_VERSION}; retrain (detector train)")
    network = network_from_checkpoint(ckpt)
    test, kinds = prepared.sets["test"], prepared.kinds["test"]
    scores = scores_of(_logits(network, test.x), float(ckpt["temperature"]), test)
    found = figures(test.media_labels, scores, float(ckpt["threshold"]))
    found["by_generator"] = {}
    for generator in generators_of(prepared):
        keep = (test.media_labels == 0) | (kinds == generator)
        found["by_generator"][generator] = figures(test.media_labels[keep], scores[keep],
                                                   float(ckpt["threshold"]))["auc"]
    return found


def _task(modality: str, generator: str | None, data_path: str,
          weights_dir: str) -> tuple[str, str | None, dict[str, Any]]:
    """One unit of work for the pool: on the prepared data of `data_path`, one held-out
    generator or, with `generator` None, the in-distribution figures."""
    from models.train import load_prepared, single_thread

    with single_thread():
        prepared = load_prepared(data_path)
        if generator is None:
            return modality, None, in_distribution(prepared, Path(weights_dir) / f"{modality}.pt")
        return modality, generator, held_out_generator(prepared, generator)


def _pool(jobs: int) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(max_workers=jobs, mp_context=get_context("spawn"))


def evaluate(
    modalities: list[str] | tuple[str, ...] = MODALITIES,
    seed: int = 0,
    quick: bool = False,
    jobs: int = 2,
    weights_dir: str | Path | None = None,
) -> dict[str, Any]:
    """Leave-one-generator-out figures of `modalities` (see the module docstring), run on `jobs`
    worker processes. Data sets are prepared first (one modality a worker, cached)."""
    from models.checkpoint import WEIGHTS_DIR

    for m in modalities:
        if m not in MODALITIES:
            raise ValueError(f"unknown modality {m!r}")
    weights_dir = str(weights_dir or WEIGHTS_DIR)
    order = sorted(modalities, key=COST_ORDER.index)
    start = time.perf_counter()
    report: dict[str, Any] = {"seed": seed, "quick": quick, "modalities": {},
                              "load_average_at_start": [round(v, 2) for v in os.getloadavg()]}
    with _pool(jobs) as pool:
        prepared = dict(zip(order, pool.map(_prepare, order, [seed] * len(order),
                                            [quick] * len(order)), strict=True))
        tasks = [(m, g) for m in order for g in prepared[m][1]] + [(m, None) for m in order]
        futures = [pool.submit(_task, m, g, prepared[m][0], weights_dir) for m, g in tasks]
        for future in futures:
            modality, generator, found = future.result()
            entry = report["modalities"].setdefault(modality, {"held_out": {}})
            if generator is None:
                entry["in_distribution"] = found
            else:
                entry["held_out"][generator] = found
                log.info("%s without %s: AUC %s", modality, generator, found["auc"])
    report["modalities"] = {m: report["modalities"][m] for m in modalities
                            if m in report["modalities"]}
    for modality, entry in report["modalities"].items():
        aucs = [v["auc"] for v in entry["held_out"].values() if v["auc"] is not None]
        entry["target"] = TARGETS[modality]
        entry["mean_held_out_auc"] = round(float(np.mean(aucs)), 4) if aucs else None
        entry["min_held_out_auc"] = round(float(np.min(aucs)), 4) if aucs else None
    report.update(seconds=round(time.perf_counter() - start, 1), cpu_count=os.cpu_count(),
                  load_average_at_end=[round(v, 2) for v in os.getloadavg()])
    return report


def _prepare(modality: str, seed: int, quick: bool) -> tuple[str, list[str]]:
    """Prepare (or find cached) a modality's data: its cache file and its generators. The tasks
    read that file, so they all see the same data even if the code changes meanwhile."""
    from models.train import cache_path, prepare, save_prepared, single_thread

    with single_thread():
        prepared = prepare(modality, seed, quick)
        path = cache_path(modality, seed, quick)
        if not path.is_file():
            save_prepared(path, prepared)
        return str(path), generators_of(prepared)


def _mark(value: float | None, target: float) -> str:
    if value is None:
        return "n/a"
    return "met" if value >= target else "**missed**"


def markdown(report: dict[str, Any], roc_name: str = "roc.png") -> str:
    """The evaluation report as Markdown (tables per modality, the ROC figure linked)."""
    lines = [
        "# Evaluation: leave one generator out",
        "",
        "Written by `detector evaluate` (`models/evaluate.py`); figures in `evaluation.json`.",
        f"Seed {report['seed']}{', quick recipe' if report['quick'] else ''}; "
        f"{report['seconds']:.0f} s on {report.get('cpu_count')} cores "
        f"(load average {report['load_average_at_start'][0]} at start).",
        "",
        "Each row trains the modality's model with the same recipe on the training split **without "
        "that generator** (validation calibrates without it too) and tests it on the test split's "
        "authentic media plus that generator's: a generator the model never saw. "
        "*In-distribution* scores the committed weights, trained on every generator, on the whole "
        "test split. Splits are by source media, so no test item shares a source with a training "
        "item. EER is the equal error rate; accuracy is at the model's own calibrated threshold.",
        "",
        f"![ROC curves]({roc_name})",
        "",
    ]
    for modality, entry in report["modalities"].items():
        target = entry["target"]
        lines += [f"## {modality}", "",
                  "| held-out generator | test media (authentic / synthetic) | AUC | EER | "
                  f"accuracy | target AUC >= {target} |",
                  "|---|---|---|---|---|---|"]
        for generator, f in entry["held_out"].items():
            lines.append(f"| {generator} | {f['n_authentic']} / {f['n_synthetic']} | "
                         f"{_fmt(f['auc'])} | {_fmt(f['eer'])} | {_fmt(f['accuracy'])} | "
                         f"{_mark(f['auc'], target)} |")
        ind = entry.get("in_distribution")
        if ind:
            lines.append(f"| *in-distribution (all generators seen)* | {ind['n_authentic']} / "
                         f"{ind['n_synthetic']} | {_fmt(ind['auc'])} | {_fmt(ind['eer'])} | "
                         f"{_fmt(ind['accuracy'])} | "
                         f"{_mark(ind['auc'], IN_DISTRIBUTION_TARGET)} (>= "
                         f"{IN_DISTRIBUTION_TARGET}) |")
            per = ", ".join(f"{g} {_fmt(a)}" for g, a in ind["by_generator"].items())
            lines += ["", f"In-distribution AUC per generator (authentic vs it): {per}."]
        lines.append("")
    return "\n".join(lines)


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def plot_roc(report: dict[str, Any], path: Path) -> Path:
    """One panel per modality: the ROC of each held-out generator and the in-distribution one."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(report["modalities"])
    cols = min(2, len(names)) or 1
    rows = (len(names) + cols - 1) // cols or 1
    fig, axes = plt.subplots(rows, cols, figsize=(5.2 * cols, 4.6 * rows), squeeze=False)
    for ax, modality in zip(axes.flat, names, strict=False):
        entry = report["modalities"][modality]
        for generator, f in entry["held_out"].items():
            if f["roc"]["fpr"]:
                ax.plot(f["roc"]["fpr"], f["roc"]["tpr"],
                        label=f"without {generator} (AUC {_fmt(f['auc'])})")
        ind = entry.get("in_distribution")
        if ind and ind["roc"]["fpr"]:
            ax.plot(ind["roc"]["fpr"], ind["roc"]["tpr"], "k--",
                    label=f"in-distribution (AUC {_fmt(ind['auc'])})")
        ax.plot([0, 1], [0, 1], color="0.8", linewidth=0.8)
        ax.set(title=modality, xlabel="false positive rate", ylabel="true positive rate",
               xlim=(0, 1), ylim=(0, 1.01))
        ax.legend(loc="lower right", fontsize=7)
    for ax in list(axes.flat)[len(names):]:
        ax.axis("off")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def write_report(report: dict[str, Any], out_dir: str | Path = REPORT_DIR) -> dict[str, Path]:
    """Write `evaluation.json`, `README.md` and `roc.png` into `out_dir`; their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"json": out / "evaluation.json", "markdown": out / "README.md",
             "roc": out / "roc.png"}
    paths["json"].write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
    plot_roc(report, paths["roc"])
    paths["markdown"].write_text(markdown(report, paths["roc"].name))
    return paths
