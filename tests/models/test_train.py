"""Quick training writes loadable weights, calibration and metrics."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from models.checkpoint import load_checkpoint, network_from_checkpoint
from models.train import choose_threshold, fit_temperature, train_all


@pytest.mark.skipif(not Path("/usr/share/games/fortunes").exists(), reason="needs fortunes")
def test_quick_training_writes_weights_and_metrics(tmp_path: Path) -> None:
    report = train_all(tmp_path, seed=0, quick=True, modalities=["text"])
    ckpt = load_checkpoint(tmp_path / "text.pt")
    assert ckpt["modality"] == "text" and 0 < ckpt["threshold"] < 1
    assert 0 < ckpt["uncertain_band"] <= 0.25 and ckpt["temperature"] > 0
    network = network_from_checkpoint(ckpt)
    from models.features import TEXT_WIDTH, featurize

    assert network(__import__("torch").zeros(3, TEXT_WIDTH)).shape == (3,)
    assert int(ckpt["state_dict"]["bigrams.table"].sum()) > 0  # n-gram tables travel along
    x = featurize("text", "The cat sat on the mat. It was happy!")["x"]
    assert network(__import__("torch").from_numpy(x)).shape == (2,)
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics == json.loads(json.dumps(report))
    assert "text" in metrics["modalities"] and metrics["quick"] is True
    assert set(metrics["held_out_auc"]) == {"text"}
    from models.features import split_sentences
    from models.text_lm import HumanLM, human_lm  # the features' language models, for serving

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


def test_threshold_separates_and_band_is_narrow_when_easy() -> None:
    scores = np.array([0.1, 0.2, 0.15, 0.3, 0.7, 0.8, 0.9, 0.75])
    labels = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    threshold, band = choose_threshold(scores, labels)
    assert 0.3 < threshold < 0.7 and band == pytest.approx(0.02)
    noisy = np.array([0.45, 0.55, 0.48, 0.52, 0.1, 0.9, 0.05, 0.95])
    _, wide = choose_threshold(noisy, np.array([0, 0, 1, 1, 0, 1, 0, 1]))
    assert wide > 0.03 and not math.isnan(wide)


def test_band_is_where_precision_drops_below_90_percent() -> None:
    rng = np.random.default_rng(0)
    authentic = rng.uniform(0.0, 0.45, 200)
    synthetic = rng.uniform(0.55, 1.0, 200)
    # mixed media near the threshold: 10 authentic just above 0.5, 10 synthetic just below
    scores = np.concatenate([authentic, synthetic, rng.uniform(0.5, 0.6, 30),
                             rng.uniform(0.4, 0.5, 30)])
    labels = np.concatenate([np.zeros(200), np.ones(200), np.zeros(30), np.ones(30)])
    threshold, band = choose_threshold(scores, labels)
    high, low = scores > threshold + band, scores < threshold - band
    assert (labels[high] == 1).mean() >= 0.9 and (labels[low] == 0).mean() >= 0.9
    assert 0.02 <= band <= 0.15
    inside = ~(high | low)
    assert inside.mean() < 0.3  # a modest share of the media is left undecided
    # hopeless scores: the band is capped
    _, capped = choose_threshold(rng.uniform(0, 1, 100), rng.integers(0, 2, 100))
    assert capped <= 0.15
