"""Known shortcuts are closed: what distribution does to a real item does not move the committed
model's score toward synthetic (the weights file exactly as the service uses it).

- audio: noise-gating a real recording to exact digital zeros (text-to-speech pauses are
  zeros: before the fix a gated real recording scored 0.63-0.95), and telephone band-limiting
  (resampling through 8 kHz);
- image: re-saving a real photo as JPEG (new quantisation tables) and halving its size.

For each, on real held-out recordings / photos of several families, the mean score may not
rise by more than `MAX_MEAN_RISE`, and no item may turn `synthetic`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from models.checkpoint import WEIGHTS_DIR, load_checkpoint
from models.media.decode import SAMPLE_RATE
from models.training.data import Sample
from models.training.evaluate import _checkpoint_network, _checkpoint_scores
from models.training.units import featurize_samples

MAX_MEAN_RISE = 0.1
ITEMS = 12


def _scores(modality: str, media: list) -> np.ndarray:
    ckpt = load_checkpoint(WEIGHTS_DIR / f"{modality}.pt")
    samples = [Sample(m, 0, "real", group=str(i)) for i, m in enumerate(media)]
    units = featurize_samples(modality, samples, np.random.default_rng(0), 10**6)
    return _checkpoint_scores(ckpt, _checkpoint_network(ckpt, modality), units), ckpt


def _assert_stays(modality: str, media: list, change: Callable) -> None:
    before, ckpt = _scores(modality, media)
    after, _ = _scores(modality, [change(m) for m in media])
    limit = ckpt["threshold"] + ckpt["uncertain_band"]
    assert float(np.mean(after - before)) <= MAX_MEAN_RISE, (before.round(3), after.round(3))
    assert not np.any((after > limit) & (before <= limit)), (before.round(3), after.round(3))


def _real_speech() -> list:
    from models.training.data import speech

    rng = np.random.default_rng(7)
    pool = [r for c in speech.collections() for r in c.recordings]
    chosen = [pool[int(i)] for i in rng.choice(len(pool), ITEMS, replace=False)]
    out = []
    for recording in chosen:
        samples, _stored_rate = speech.load(recording.path)  # mono float32 at 16 kHz
        out.append((samples[: SAMPLE_RATE * 4], SAMPLE_RATE))
    return out


@pytest.mark.parametrize("name", ["noise-gate", "telephone-8k"])
def test_audio_shortcuts_do_not_move_real_speech(name: str) -> None:
    from models.training.data import augment_audio

    change = {"noise-gate": lambda a: augment_audio.noise_gate(a, -35.0),
              "telephone-8k": lambda a: augment_audio.resample_round_trip(a, 8000)}[name]
    _assert_stays("audio", _real_speech(), change)


def _real_photos() -> list:
    from models.training.data.photo_sources import real_photos

    rng = np.random.default_rng(7)
    photos = real_photos()
    return [photos[int(i)].image for i in rng.choice(len(photos), ITEMS, replace=False)]


@pytest.mark.parametrize("name", ["jpeg-90", "half-size"])
def test_image_shortcuts_do_not_move_real_photos(name: str) -> None:
    import cv2

    from models.training.data import jpeg

    change = {"jpeg-90": lambda im: jpeg(im, 90),
              "half-size": lambda im: cv2.resize(im, (im.shape[1] // 2, im.shape[0] // 2),
                                                 interpolation=cv2.INTER_AREA)}[name]
    _assert_stays("image", _real_photos(), change)
