"""Several registered versions of one modality scored together: each member's score and the
combined one.

A modality's ensemble is its `champion` plus every version holding an alias that starts with
`ensemble-` (`mlflow` aliases on the same registered model, e.g. `ensemble-spectral`); with no
such alias the champion scores alone. Combining rule: the mean of the members' *calibrated* unit
probabilities, then the usual media aggregate (`models.scoring.aggregate`) mapped through the
mean of the members' media calibrations; the verdict uses the
mean of the members' thresholds and the widest of their uncertain bands, so adding a member can
only widen the band where the members disagree about calibration.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from models.scoring import LoadedModel

ENSEMBLE_PREFIX = "ensemble-"
COMBINE_RULE = ("mean of the members' calibrated unit probabilities, then the media aggregate; "
                "threshold: mean of the members', band: the widest")


@dataclass
class Ensemble:
    """The champion (first member) and the `ensemble-*` members, behaving as one model (a
    `models.scoring.LoadedModel`)."""

    by_alias: list[tuple[str, LoadedModel]]  # (alias, loaded model), the champion first

    def members(self) -> list[tuple[str, LoadedModel]]:
        """(alias, model) of each member, the champion first."""
        return list(self.by_alias)

    @property
    def champion(self) -> LoadedModel:
        return self.by_alias[0][1]

    @property
    def name(self) -> str:
        return self.champion.name

    @property
    def version(self) -> str:
        """The champion's version: results and rescans are keyed by it."""
        return str(self.champion.version)

    @property
    def modality(self) -> str:
        return self.champion.modality

    @property
    def identity(self) -> str:
        """Every member's alias and version: changes whenever any alias moves."""
        return ",".join(f"{alias}:{m.version}" for alias, m in self.by_alias)

    @property
    def threshold(self) -> float:
        return float(np.mean([m.threshold for _, m in self.by_alias]))

    @property
    def uncertain_band(self) -> float:
        return float(max(m.uncertain_band for _, m in self.by_alias))

    @property
    def text_lm(self) -> Any:
        """Text: the champion's language models; every member scores features made with them."""
        return self.champion.text_lm

    @property
    def media_calibration(self) -> tuple[float, float]:
        """The mean of the members' media calibrations (each maps its own aggregate)."""
        params = [tuple(getattr(m, "media_calibration", (1.0, 0.0))) for _, m in self.by_alias]
        return float(np.mean([p[0] for p in params])), float(np.mean([p[1] for p in params]))

    def predict_members(self, x: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
        """The combined unit probabilities and each member's, shape (N,) each."""
        each = [np.asarray(m.predict(x), dtype=np.float64).reshape(-1) for _, m in self.by_alias]
        return np.mean(each, axis=0) if each else np.zeros(0), each

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.predict_members(x)[0]
