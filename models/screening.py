"""Decoded media to model input, or a not-applicable marker when the detector does not apply.

Every scoring path featurises through `screen` (the inference service's `Scorer`, the detect
workflow's preprocess step) and builds its result with `models.scoring.score`, which turns the
marker into a `not_applicable` result without running a model.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from models.applicability import check
from models.features import featurize
from models.features.types import Features

MARKER = "not_applicable"
"""The `meta` key holding {"reason_code", "reason"} in the features of refused media."""


def screen(modality: str, decoded: Any) -> Features:
    """`featurize(modality, decoded)`, or, when `models.applicability.check` refuses the media,
    features with no units and the refusal in `meta` (not featurised: refusals cost little)."""
    refused = check(modality, decoded)
    if refused is None:
        return featurize(modality, decoded)
    code, reason = refused
    return {"x": np.zeros((0, 0), np.float32), "meta": {MARKER: {"reason_code": code,
                                                                 "reason": reason}}}


def refusal(features: Features) -> tuple[str, str] | None:
    """(reason_code, reason) when `features` are `screen`'s marker of refused media, else None."""
    marker = (features.get("meta") or {}).get(MARKER)
    if not marker:
        return None
    return str(marker["reason_code"]), str(marker["reason"])
