"""Explanation images: patches tinted by score and the rest greyed, faces outlined."""

from __future__ import annotations

import numpy as np

from models.explain import heatmap_image


def _photo() -> np.ndarray:
    y, x = np.mgrid[0:120, 0:160]
    return np.dstack([x, y, (x + y) // 2]).astype(np.uint8)


def test_patches_are_tinted_by_score_and_the_rest_greyed():
    units = [{"box": [0, 0, 40, 40], "score": 0.95}, {"box": [100, 60, 40, 40], "score": 0.05}]
    out = heatmap_image(_photo(), units, faces=[[50, 20, 30, 30]])
    hot, cold = out[10:30, 10:30].mean(axis=(0, 1)), out[70:90, 110:130].mean(axis=(0, 1))
    assert hot[2] > hot[0]  # red dominates where the score is high (BGR)
    assert cold[0] > cold[2]  # blue where it is low
    untouched = out[100:118, 60:90]
    assert np.allclose(untouched[..., 0], untouched[..., 2], atol=1)  # grey: not looked at
    assert (out[20, 50:80] == 255).all()  # the face box's top edge
