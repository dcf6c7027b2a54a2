"""Heatmap explanations: patches tinted by score, faces outlined, PNG kept on the media volume."""

from __future__ import annotations

import cv2
import numpy as np

from config import Config
from steps.explain import heatmap_image, write_heatmap


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


def test_write_heatmap_only_for_images(detector_env: Config):
    media_root = detector_env.media_root
    (media_root / "ab").mkdir(parents=True)
    assert cv2.imwrite(str(media_root / "ab" / "photo.png"), _photo())
    media = {"media_id": "m1", "modality": "image", "path": "ab/photo.png"}
    result = {"explanation": {"units": [{"box": [0, 0, 64, 64], "score": 0.7}], "faces": []}}
    rel = write_heatmap("job1", media, result)
    assert rel == "explanations/job1/m1.png"
    assert cv2.imread(str(media_root / rel)).shape == (120, 160, 3)
    assert write_heatmap("job1", {**media, "modality": "text"}, result) is None
    assert write_heatmap("job1", media, {"explanation": {"units": [{"score": 1.0}]}}) is None
