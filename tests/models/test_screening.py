"""`screen`: featurise applicable media, mark refused ones without featurising them."""

from __future__ import annotations

import numpy as np
import pytest

from models import screening
from models.features import featurize

TEXT = ("The committee met on Tuesday to discuss the budget. Several members raised concerns "
        "about the cost of the new bridge, and the chair promised a report by spring.")


def test_applicable_media_is_featurised_as_before() -> None:
    features = screening.screen("text", TEXT)
    np.testing.assert_array_equal(features["x"], featurize("text", TEXT)["x"])
    assert screening.refusal(features) is None


def test_refused_media_is_not_featurised(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*_: object) -> None:
        raise AssertionError("refused media must not be featurised")

    monkeypatch.setattr(screening, "featurize", fail)
    features = screening.screen("image", np.zeros((480, 640, 3), np.uint8))
    assert features["x"].shape == (0, 0)
    code, reason = screening.refusal(features)
    assert code == "image_flat" and "flat" in reason


def test_the_marker_survives_the_scratch_file(tmp_path) -> None:
    from models.files import load_features, save_features

    features = screening.screen("audio", (np.zeros(16_000, np.float32), 16_000))
    loaded = load_features(save_features(tmp_path / "f.npz", features))
    assert screening.refusal(loaded) == screening.refusal(features)
    assert screening.refusal(loaded)[0] == "audio_silent"
