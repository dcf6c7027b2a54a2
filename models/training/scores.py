"""Raw media scores of a network (unit logits, temperature, aggregation) and their AUC."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch

from models.scoring import aggregate
from models.training.units import UnitSet

if TYPE_CHECKING:
    from models.training.fit import Fitted


def unit_logits(network: torch.nn.Module, x: np.ndarray, batch: int = 256) -> np.ndarray:
    """The network's logit of every unit of `x` (eval mode, in batches of `batch`)."""
    network.eval()
    out = []
    with torch.inference_mode():
        for i in range(0, len(x), batch):
            out.append(network(torch.from_numpy(x[i : i + batch])).reshape(-1).double().numpy())
    return np.concatenate(out) if out else np.zeros(0)


def media_scores(probs: np.ndarray, media: np.ndarray, n_media: int) -> np.ndarray:
    """`models.scoring.aggregate` of unit probabilities per media."""
    return np.array([aggregate(probs[media == i]) for i in range(n_media)])


def scores_of(logits: np.ndarray, temperature: float, units: UnitSet) -> np.ndarray:
    """Raw media scores (`models.scoring.aggregate`) of temperature-scaled unit logits."""
    return media_scores(1 / (1 + np.exp(-logits / temperature)), units.media,
                        len(units.media_labels))


def raw_scores(fitted: Fitted, units: UnitSet) -> np.ndarray:
    """A fitted network's raw media scores of `units`."""
    return scores_of(unit_logits(fitted.network, units.x), fitted.temperature, units)


def auc(labels: np.ndarray, scores: np.ndarray) -> float | None:
    """ROC AUC rounded to 4 places; None when `labels` hold one class only."""
    from sklearn.metrics import roc_auc_score

    if len(np.unique(labels)) < 2:
        return None
    return round(float(roc_auc_score(labels, scores)), 4)
