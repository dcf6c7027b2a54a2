"""Turn unit probabilities into a media score, a verdict and a per-unit explanation."""

from __future__ import annotations

import math
from typing import Any, Protocol

import numpy as np

from models.features.types import Features

TOP_FRACTION = 0.25
MAX_EXPLAINED_UNITS = 256


class LoadedModel(Protocol):
    """What scores a modality: one registered version (`models.registry.client.RegisteredModel`)
    or several scored together (`models.ensemble.Ensemble`)."""

    @property
    def name(self) -> str: ...

    @property
    def version(self) -> str: ...

    @property
    def identity(self) -> str:
        """Every alias and version that scores with it: changes whenever one of them moves."""
        ...

    @property
    def threshold(self) -> float: ...

    @property
    def uncertain_band(self) -> float: ...

    @property
    def media_calibration(self) -> tuple[float, float]: ...

    @property
    def text_lm(self) -> Any:
        """Text: the language models its features are computed with (None: the served ones)."""
        ...

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Calibrated unit probabilities, shape (N,)."""
        ...

    def members(self) -> list[tuple[str, LoadedModel]]:
        """(alias, model) of each member, the champion first; a single model is its only one."""
        ...

    def predict_members(self, x: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
        """The combined unit probabilities and each member's."""
        ...


def aggregate(probabilities: np.ndarray) -> float:
    """Media score from unit probabilities: the mean of the top quarter (at least one unit).

    A manipulation often touches only some patches, segments, frames or sentences, so the
    most suspicious units decide; averaging the top quarter rather than taking the maximum
    keeps one noisy unit from deciding alone. No units gives 0.5 (no evidence).
    """
    p = np.sort(np.asarray(probabilities, dtype=np.float64).reshape(-1))[::-1]
    if len(p) == 0:
        return 0.5
    k = max(1, math.ceil(len(p) * TOP_FRACTION))
    return float(p[:k].mean())


def media_score(probabilities: np.ndarray, loaded: LoadedModel) -> float:
    """The calibrated media score: `aggregate` of the unit probabilities, mapped through the
    model's media calibration (`models.training.calibration.calibrate`; identity for models
    without)."""
    from models.training.calibration import calibrate

    params = tuple(loaded.media_calibration)
    return float(calibrate(aggregate(probabilities), params))  # type: ignore[arg-type]


def verdict(score: float, threshold: float, band: float) -> str:
    """`uncertain` within `band` of `threshold` (inclusive), else synthetic/authentic."""
    if abs(score - threshold) <= band:
        return "uncertain"
    return "synthetic" if score > threshold else "authentic"


def _units(modality: str, meta: dict[str, Any], probs: np.ndarray) -> list[dict[str, Any]]:
    units: list[dict[str, Any]] = []
    for i, p in enumerate(probs[:MAX_EXPLAINED_UNITS]):
        unit: dict[str, Any] = {"index": i, "score": round(float(p), 4)}
        if modality == "image" and i < len(meta.get("patches", [])):
            unit["box"] = meta["patches"][i]
        elif modality == "audio" and i < len(meta.get("segments", [])):
            unit["start_s"], unit["end_s"] = meta["segments"][i]
        elif modality == "video" and i < len(meta.get("times", [])):
            unit["time_s"] = meta["times"][i]
            unit["box"] = meta["crops"][i]
            unit["faces"] = meta["faces"][i]
        elif modality == "text" and i < len(meta.get("sentences", [])):
            unit.update(meta["sentences"][i])
        units.append(unit)
    return units


NOT_APPLICABLE = "not_applicable"
"""The verdict when the detector was not built for the media (`models.applicability`)."""
UNITS = {"image": "patch", "audio": "segment", "video": "frame", "text": "sentence"}


def not_applicable_result(modality: str, loaded: LoadedModel, reason_code: str,
                          reason: str) -> dict[str, Any]:
    """The result for media the detector does not apply to: no score, the reason instead.

    `model` is the one that would have scored it; `explanation` says nothing was examined."""
    return {
        "score": None,
        "verdict": NOT_APPLICABLE,
        "reason": reason,
        "reason_code": reason_code,
        "model": {"name": loaded.name, "version": str(loaded.version)},
        "explanation": {"unit": UNITS.get(modality, "unit"), "units": [], "n_units": 0,
                        "not_applicable": reason_code},
    }


def score(modality: str, features: Features, loaded: LoadedModel) -> dict[str, Any]:
    """Score featurised media with a loaded model.

    `score` is the probability that the media is synthetic: `aggregate` (mean of the top
    quarter) of the unit probabilities from `loaded.predict(features["x"])`, calibrated at the
    media level (`media_score`).
    `verdict` is `uncertain` within `loaded.uncertain_band` of `loaded.threshold`, otherwise
    `synthetic` or `authentic`. For several members (`models.ensemble.Ensemble`) the score is
    the combined one and `ensemble` lists each member's score and verdict beside it.
    `explanation` lists each unit's score with its box, time span, frame time or sentence,
    plus the face boxes found.
    """
    from models.screening import refusal

    refused = refusal(features)  # screened out before featurising: no model runs
    if refused is not None:
        return not_applicable_result(modality, loaded, *refused)
    members = None
    if len(loaded.members()) > 1:  # every member's view
        probs, each = loaded.predict_members(features["x"])
        members = [(alias, m, media_score(p, m)) for (alias, m), p in zip(loaded.members(), each,
                                                                           strict=True)]
    else:
        probs = loaded.predict(features["x"])
    probs = np.asarray(probs, dtype=np.float64).reshape(-1)
    calibrated = media_score(probs, loaded)
    threshold, band = float(loaded.threshold), float(loaded.uncertain_band)
    meta = dict(features.get("meta") or {})
    explanation: dict[str, Any] = {
        "unit": {"image": "patch", "audio": "segment", "video": "frame", "text": "sentence"}.get(
            modality, "unit"
        ),
        "aggregate": f"mean of top {int(TOP_FRACTION * 100)}% unit scores",
        "threshold": threshold,
        "uncertain_band": band,
        "units": _units(modality, meta, probs),
        "n_units": len(probs),
    }
    if modality == "image":
        explanation["faces"] = meta.get("faces", [])
    if len(probs):
        explanation["top_unit"] = int(np.argmax(probs))
    result = {
        "score": round(calibrated, 6),
        "verdict": verdict(calibrated, threshold, band),
        "model": {"name": loaded.name, "version": str(loaded.version)},
        "explanation": explanation,
    }
    if members is not None:
        from models.ensemble import COMBINE_RULE

        result["ensemble"] = {
            "combined": {"score": round(calibrated, 6), "threshold": threshold,
                         "uncertain_band": band, "rule": COMBINE_RULE},
            "members": [{"alias": alias, "name": m.name, "version": str(m.version),
                         "score": round(s, 6),
                         "verdict": verdict(s, float(m.threshold), float(m.uncertain_band))}
                        for alias, m, s in members],
        }
    return result
