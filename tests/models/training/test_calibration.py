"""Media-level calibration and the real-first threshold rule."""

from __future__ import annotations

import math

import numpy as np
import pytest

from models.training.calibration import (
    MAX_BAND,
    calibrate,
    choose_threshold,
    expected_calibration_error,
    fit_platt,
    reliability,
)


def test_platt_scaling_recovers_a_known_calibration() -> None:
    rng = np.random.default_rng(0)
    raw = rng.uniform(0.01, 0.99, 4000)
    # the truth: P(synthetic | raw) = sigmoid(2 * logit(raw) - 1)
    truth = calibrate(raw, (2.0, -1.0))
    labels = (rng.uniform(0, 1, len(raw)) < truth).astype(int)
    a, b = fit_platt(raw, labels)
    assert a == pytest.approx(2.0, abs=0.25) and b == pytest.approx(-1.0, abs=0.25)
    assert expected_calibration_error(calibrate(raw, (a, b)), labels) < 0.05
    assert expected_calibration_error(raw, labels) > 0.05  # uncalibrated it was off


def test_platt_scaling_stays_finite_and_identity_without_both_classes() -> None:
    separable = fit_platt(np.array([0.1, 0.2, 0.8, 0.9]), np.array([0, 0, 1, 1]))
    assert all(math.isfinite(v) for v in separable) and separable[0] > 0
    assert fit_platt(np.array([0.2, 0.3]), np.array([1, 1])) == (1.0, 0.0)
    assert calibrate(0.3, (1.0, 0.0)) == pytest.approx(0.3)


def test_threshold_separates_and_band_is_narrow_when_easy() -> None:
    scores = np.array([0.05, 0.1, 0.2, 0.3, 0.7, 0.8, 0.9, 0.95])
    labels = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    threshold, band = choose_threshold(scores, labels)
    assert 0.5 <= threshold < 0.7 and band == pytest.approx(0.02)


def test_band_is_where_precision_drops_below_90_percent() -> None:
    rng = np.random.default_rng(0)
    scores = np.concatenate([rng.uniform(0.0, 0.45, 200), rng.uniform(0.55, 1.0, 200),
                             rng.uniform(0.5, 0.6, 30), rng.uniform(0.4, 0.5, 30)])
    labels = np.concatenate([np.zeros(200), np.ones(200), np.zeros(30), np.ones(30)])
    threshold, band = choose_threshold(scores, labels)
    high, low = scores > threshold + band, scores < threshold - band
    assert (labels[high] == 1).mean() >= 0.9 and (labels[low] == 0).mean() >= 0.9
    assert (scores[labels == 0] > threshold + band).mean() <= 0.03


def test_real_false_positives_bound_the_threshold_when_nothing_else_does() -> None:
    rng = np.random.default_rng(1)
    real, fake = rng.uniform(0, 1, 300), rng.uniform(0.3, 1, 300)  # hopeless overlap
    scores = np.concatenate([real, fake])
    labels = np.concatenate([np.zeros(300), np.ones(300)])
    threshold, band = choose_threshold(scores, labels, max_real_fpr=0.05)
    assert band == MAX_BAND
    assert (real > threshold + band).mean() <= 0.05 + 1e-9
    loose, _ = choose_threshold(scores, labels, max_real_fpr=0.5)
    assert threshold >= loose  # asking for fewer false alarms never lowers the threshold


def test_reliability_bins_count_every_score() -> None:
    scores = np.array([0.05, 0.15, 0.15, 0.95])
    r = reliability(scores, np.array([0, 0, 1, 1]), bins=10)
    assert sum(r["count"]) == 4 and r["fraction_synthetic"] == [0.0, 0.5, 1.0]


def test_scores_without_a_ranking_keep_the_identity_calibration() -> None:
    rng = np.random.default_rng(3)
    raw = rng.uniform(0.01, 0.99, 400)
    labels = rng.integers(0, 2, 400)  # unrelated to the scores
    assert fit_platt(raw, labels) == (1.0, 0.0)
    reversed_ = fit_platt(np.array([0.9, 0.8, 0.2, 0.1] * 20), np.array([0, 0, 1, 1] * 20))
    assert reversed_ == (1.0, 0.0)  # never a calibration that flips the detector
