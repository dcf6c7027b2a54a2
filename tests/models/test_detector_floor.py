"""The committed detectors are useful: on catalogue items they never trained on they clear an
AUC floor and a ceiling on real items called synthetic.

The items are drawn with the training seed (so text's reference corpus, which the language
models and Markov generators learned from, stays out of the human side) in a smaller draw, and
only those whose group (recording, speaker, photo, document) is held out of every model's
training (`models.training.folds.holdout`) are scored, with the weights file exactly as the service
uses it (temperature, media calibration, threshold and band). A model whose score ignores its
input, or one that calls real media synthetic, fails here.
"""

from __future__ import annotations

import numpy as np
import pytest

from models import MODALITIES
from models.checkpoint import WEIGHTS_DIR, load_checkpoint
from models.training.evaluate import _checkpoint_network, _checkpoint_scores
from models.training.folds import holdout
from models.training.scores import auc
from models.training.units import featurize_samples

DRAW_PER_CLASS = {"text": 300, "image": 150, "audio": 120, "video": 80}
"""Media per class drawn; about 15% of them (their group held out) are scored."""
MIN_AUC = {"text": 0.9, "image": 0.6, "audio": 0.8, "video": 0.75}
"""Below what the committed weights reach here (2026-11-28: text 0.97, image 0.64, audio 0.90,
video 0.87 on 112 / 78 / 18 / 28 items) and above chance; the image detector is weak (its
out-of-family AUC is 0.68, docs/evaluation), so its floor only catches a broken model."""
MAX_REAL_FPR = 0.2
"""Loose on purpose (a few dozen items): a useless or real-hostile model fails, noise does not.
The real figures, on far more media, are in docs/evaluation."""


@pytest.fixture(scope="module")
def var_dir(tmp_path_factory: pytest.TempPathFactory) -> object:
    with pytest.MonkeyPatch.context() as mp:
        path = tmp_path_factory.mktemp("floor-var")
        mp.setenv("DETECTOR_VAR_DIR", str(path))
        yield path


@pytest.mark.parametrize("modality", MODALITIES)
def test_committed_weights_clear_the_floor_on_unseen_items(modality: str, var_dir) -> None:
    from models.training.data import generate

    samples = generate(modality, DRAW_PER_CLASS[modality], 0)
    held = holdout(np.array([s.group for s in samples]), seed=0)
    kept = [s for s, h in zip(samples, held, strict=True) if h]
    labels = np.array([s.label for s in kept])
    assert (labels == 0).sum() >= 5 and (labels == 1).sum() >= 5, "too few held-out items"
    ckpt = load_checkpoint(WEIGHTS_DIR / f"{modality}.pt")
    units = featurize_samples(modality, kept, np.random.default_rng(0), 10**6)
    scores = _checkpoint_scores(ckpt, _checkpoint_network(ckpt, modality), units)
    media_auc = auc(labels, scores)
    real = scores[labels == 0]
    fpr = float(np.mean(real > ckpt["threshold"] + ckpt["uncertain_band"]))
    print(f"{modality}: {len(real)} real / {int(labels.sum())} synthetic, AUC {media_auc}, "
          f"FPR {fpr}")
    assert media_auc is not None and media_auc >= MIN_AUC[modality], f"{modality} AUC {media_auc}"
    assert fpr <= MAX_REAL_FPR, f"{modality}: {fpr:.0%} of {len(real)} real items called synthetic"
