"""Quick training writes loadable weights, calibration and metrics."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from models.checkpoint import load_checkpoint, network_from_checkpoint
from models.training.baseline import train_all
from models.training.calibration import fit_temperature
from models.training.feature_cache import cache_path


@pytest.mark.skipif(not Path("/usr/share/games/fortunes").exists(), reason="needs fortunes")
def test_quick_training_writes_weights_and_metrics(tmp_path: Path) -> None:
    report = train_all(tmp_path, seed=0, quick=True, modalities=["text"],
                       cache_dir=tmp_path / "cache")
    for kind in ("units", "cv"):  # the data set and the out-of-family scores are kept
        assert cache_path(tmp_path / "cache", "text", 0, True, kind).is_file()
    ckpt = load_checkpoint(tmp_path / "text.pt")
    assert ckpt["modality"] == "text" and 0 < ckpt["threshold"] < 1
    assert 0 < ckpt["uncertain_band"] <= 0.3 and ckpt["temperature"] > 0
    assert len(ckpt["media_calibration"]) == 2 and ckpt["media_calibration"][0] > 0
    network = network_from_checkpoint(ckpt)
    from models.features import featurize
    from models.features.text import TEXT_WIDTH

    assert network(__import__("torch").zeros(3, TEXT_WIDTH)).shape == (3,)
    assert int(ckpt["state_dict"]["bigrams.table"].sum()) > 0  # n-gram tables travel along
    x = featurize("text", "The cat sat on the mat. It was happy!")["x"]
    assert network(__import__("torch").from_numpy(x)).shape == (2,)
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics == json.loads(json.dumps(report))
    assert "text" in metrics["modalities"] and metrics["quick"] is True
    assert set(metrics["held_out_auc"]) == {"text"}
    from models.features.text import split_sentences
    from models.features.text_lm import (  # the features' language models, for serving
        HumanLM,
        human_lm,
    )

    saved = HumanLM.load(tmp_path / "text-lm.npz")
    text = "The cat sat on the mat. It was happy!"
    spans = split_sentences(text)
    np.testing.assert_array_equal(saved.features(text, spans), human_lm(0).features(text, spans))


def test_temperature_fits_overconfident_logits() -> None:
    rng = np.random.default_rng(0)
    true_logits = rng.normal(0, 2, 5000)  # calibrated: labels drawn with these probabilities
    labels = (rng.random(5000) < 1 / (1 + np.exp(-true_logits))).astype(float)
    t = fit_temperature(true_logits * 5, labels)  # 5x too confident
    assert 4 < t < 6
