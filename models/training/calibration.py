"""Media-level calibration and a decision threshold chosen for few false alarms on real media.

A detector's media score starts as the aggregate of its unit probabilities
(`models.scoring.aggregate`). That number is not a probability of the media: a quarter of a
recording's segments looking odd says little about the recording. So the score a user sees is
`calibrate(raw, (a, b)) = sigmoid(a * logit(raw) + b)`, with `(a, b)` fitted by logistic
regression (Platt scaling) on media whose families the model never saw in training (the
out-of-fold scores of `models.training.cross_validation.cross_validate`), so that a score of
0.8 means about 80% of such media were synthetic.

The threshold and the uncertain band are then chosen on the same calibrated scores with the
costliest error first: calling a real recording, photo, clip or text synthetic. See
`choose_threshold`.
"""

from __future__ import annotations

import math

import numpy as np

IDENTITY = (1.0, 0.0)
"""`(a, b)` that leaves a raw score unchanged (old checkpoints, user models)."""
EPS = 1e-6
MAX_REAL_FPR = 0.03
"""Largest share of calibration real media allowed above `threshold + band` (verdict
`synthetic`). The product's target is 5% on real media from unseen sources; 3% on the
calibration media leaves room for families that look less like the training ones."""
BAND_PRECISION = 0.9
"""Media outside the band must be at least this precise on either side (as before)."""
MIN_THRESHOLD = 0.5
"""A calibrated probability below one half never reads as synthetic."""
MIN_BAND, MAX_BAND = 0.02, 0.3
REGULARISATION = 1e-3
"""A tiny L2 penalty keeps Platt scaling finite when the classes separate."""
MIN_SLOPE = 0.05
"""Below this slope the calibration would squash every score to about one value."""


def logit(p: np.ndarray | float) -> np.ndarray:
    """log(p / (1 - p)) with p clipped to [EPS, 1 - EPS]."""
    q = np.clip(np.asarray(p, dtype=np.float64), EPS, 1 - EPS)
    return np.log(q / (1 - q))


def calibrate(raw: np.ndarray | float, params: tuple[float, float] = IDENTITY) -> np.ndarray:
    """sigmoid(a * logit(raw) + b): the calibrated probability of each raw media score."""
    a, b = params
    z = a * logit(raw) + b
    return 1.0 / (1.0 + np.exp(-z))


def fit_platt(raw: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """`(a, b)` minimising the binary log-loss of `calibrate(raw, (a, b))`: a logistic
    regression on logit(raw) (scikit-learn, lbfgs) with Platt's smoothed targets drawn as
    sample weights, so separable data keep a finite slope. Identity when both classes are not
    present, or when the fitted slope is not clearly positive (the scores carry no usable
    ranking on these media: a flat calibration would make every verdict the same)."""
    from sklearn.linear_model import LogisticRegression

    raw, labels = np.asarray(raw, dtype=np.float64), np.asarray(labels).astype(int)
    n_pos, n_neg = int(labels.sum()), int(len(labels) - labels.sum())
    if len(raw) == 0 or n_pos == 0 or n_neg == 0:
        return IDENTITY
    hi, lo = (n_pos + 1) / (n_pos + 2), 1 / (n_neg + 2)  # Platt's targets for 1 and 0
    target = np.where(labels == 1, hi, lo)
    x = logit(raw).reshape(-1, 1)
    xs = np.concatenate([x, x])  # each media once as synthetic, once as real, weighted
    ys = np.concatenate([np.ones(len(x)), np.zeros(len(x))])
    weights = np.concatenate([target, 1 - target])
    model = LogisticRegression(C=1.0 / REGULARISATION, max_iter=1000)
    model.fit(xs, ys, sample_weight=weights)
    a, b = float(model.coef_[0, 0]), float(model.intercept_[0])
    if not (math.isfinite(a) and math.isfinite(b)) or a < MIN_SLOPE:
        return IDENTITY
    return a, b


def choose_threshold(scores: np.ndarray, labels: np.ndarray,
                     max_real_fpr: float = MAX_REAL_FPR) -> tuple[float, float]:
    """Threshold and uncertain band for calibrated media scores, real media's errors first.

    1. Threshold: the middle of the thresholds that maximise balanced accuracy, at least
       `MIN_THRESHOLD`.
    2. Band: the narrowest `b` in [MIN_BAND, MAX_BAND] (steps of 0.01) such that media above
       `threshold + b` are at least `BAND_PRECISION` synthetic, media below `threshold - b` at
       least `BAND_PRECISION` real, and at most `max_real_fpr` of the real media lie above
       `threshold + b`.
    3. If no band reaches that, the band is `MAX_BAND` and the threshold rises until at most
       `max_real_fpr` of the real media lie above `threshold + MAX_BAND`.
    """
    scores, labels = np.asarray(scores, dtype=np.float64), np.asarray(labels)
    if len(scores) == 0 or len(np.unique(labels)) < 2:
        return 0.5, 0.1
    values = np.unique(np.concatenate([[0.0, 1.0], scores]))
    candidates = (values[:-1] + values[1:]) / 2
    real, fake = scores[labels == 0], scores[labels == 1]
    accs = np.array([0.5 * ((fake > t).mean() + (real <= t).mean()) for t in candidates])
    best = candidates[np.flatnonzero(accs >= accs.max() - 1e-9)]
    threshold = float(np.clip(np.median(best), MIN_THRESHOLD, 0.95))
    for b in np.arange(MIN_BAND, MAX_BAND + 1e-9, 0.01):
        high, low = scores > threshold + b, scores < threshold - b
        precise_high = not high.any() or (labels[high] == 1).mean() >= BAND_PRECISION
        precise_low = not low.any() or (labels[low] == 0).mean() >= BAND_PRECISION
        if precise_high and precise_low and (real > threshold + b).mean() <= max_real_fpr:
            return round(threshold, 4), round(float(b), 2)
    allowed = float(np.quantile(real, 1 - max_real_fpr)) - MAX_BAND
    return round(float(np.clip(max(threshold, allowed), MIN_THRESHOLD, 0.99)), 4), MAX_BAND


def reliability(scores: np.ndarray, labels: np.ndarray, bins: int = 10) -> dict[str, list]:
    """Reliability diagram data: per score bin, the mean score, the share synthetic, the count."""
    scores, labels = np.asarray(scores, dtype=np.float64), np.asarray(labels)
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(scores, edges[1:-1]), 0, bins - 1)
    out: dict[str, list] = {"mean_score": [], "fraction_synthetic": [], "count": []}
    for k in range(bins):
        inside = which == k
        if inside.any():
            out["mean_score"].append(round(float(scores[inside].mean()), 4))
            out["fraction_synthetic"].append(round(float(labels[inside].mean()), 4))
            out["count"].append(int(inside.sum()))
    return out


def expected_calibration_error(scores: np.ndarray, labels: np.ndarray, bins: int = 10) -> float:
    """Count-weighted mean |mean score - share synthetic| over the reliability bins."""
    r = reliability(scores, labels, bins)
    total = sum(r["count"]) or 1
    return round(sum(c * abs(m - f) for m, f, c in zip(r["mean_score"], r["fraction_synthetic"],
                                                       r["count"], strict=True)) / total, 4)


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """Temperature minimising the binary NLL on validation units (grid search, 0.1-20)."""
    if len(logits) == 0 or len(np.unique(labels)) < 2:
        return 1.0
    best_t, best_nll = 1.0, math.inf
    for t in np.exp(np.linspace(math.log(0.1), math.log(20.0), 121)):
        z = logits / t
        nll = float(np.mean(np.logaddexp(0, z) - labels * z))
        if nll < best_nll - 1e-12:
            best_t, best_nll = float(t), nll
    return best_t
