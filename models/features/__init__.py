"""Per-unit featurisers, one module per modality (image patches, audio segments, video frames,
sentences), and `featurize`, which picks the modality's."""

from __future__ import annotations

from typing import Any

from models.features.audio import audio_features
from models.features.image import image_features
from models.features.text import text_features
from models.features.types import Features
from models.features.video import video_features

FEATURE_VERSION = 4

_FEATURIZERS = {
    "image": image_features,
    "audio": audio_features,
    "video": video_features,
    "text": text_features,
}


def featurize(modality: str, decoded: Any) -> Features:
    """Features of decoded media: `x` (float32 model input, one row per unit) and `meta`."""
    if modality not in _FEATURIZERS:
        raise ValueError(f"unknown modality {modality!r}")
    return _FEATURIZERS[modality](decoded)

