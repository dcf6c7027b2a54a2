"""Data generation: both classes, the right decoded shapes, deterministic for a seed."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from models.training.data import generate, split_of
from models.training.data import image as image_data

needs_opencv_doc = pytest.mark.skipif(
    not image_data.OPENCV_DATA.exists(), reason="opencv-doc not installed (make data)"
)
needs_speech = pytest.mark.skipif(
    not Path("/usr/share/pocketsphinx/test/data").exists()
    or any(shutil.which(t) is None for t in ("espeak-ng", "flite", "text2wave", "ffmpeg")),
    reason="speech packages not installed (make data)",
)
needs_fortunes = pytest.mark.skipif(
    not Path("/usr/share/games/fortunes").exists(), reason="fortunes not installed (make data)"
)


def _both_classes(samples: list) -> None:
    labels = [s.label for s in samples]
    assert labels.count(0) == labels.count(1) == len(samples) // 2
    assert {s.kind for s in samples if s.label == 0}.isdisjoint(
        {s.kind for s in samples if s.label == 1}
    )


@needs_opencv_doc
def test_image_samples() -> None:
    samples = generate("image", 8, seed=3)
    _both_classes(samples)
    for s in samples:
        assert s.media.dtype == np.uint8 and s.media.ndim == 3 and s.media.shape[2] == 3
        assert min(s.media.shape[:2]) >= 64
        if s.mask is not None:
            assert s.mask.shape == s.media.shape[:2] and s.label == 1
    again = generate("image", 8, seed=3)
    assert all(np.array_equal(a.media, b.media) for a, b in zip(samples, again, strict=True))


def test_upsampling_leaves_artefacts() -> None:
    rng = np.random.default_rng(0)
    photo = rng.integers(0, 256, (96, 96, 3), dtype=np.uint8)
    up = image_data.upsample(rng, photo)
    assert up.shape == photo.shape
    # up-sampled pixels are smoother than the original noise
    assert np.abs(np.diff(up.astype(int), axis=1)).mean() < np.abs(
        np.diff(photo.astype(int), axis=1)
    ).mean()


@needs_speech
def test_audio_samples() -> None:
    samples = generate("audio", 4, seed=1)
    _both_classes(samples)
    for s in samples:
        audio, sr = s.media
        assert sr == 16000 and audio.dtype == np.float32 and audio.ndim == 1
        assert 0.5 * sr <= len(audio) <= 4.5 * sr
        assert np.abs(audio).max() > 0.01
        assert s.family and s.group and s.info["source"]


@needs_opencv_doc
def test_video_samples() -> None:
    samples = generate("video", 3, seed=2)
    _both_classes(samples)
    for s in samples:
        frames, fps = s.media
        assert fps in (2.0, 1.0) and len(frames) >= 2  # 1.0: the frame-rate-halving augmentation
        assert all(f.shape == frames[0].shape and f.dtype == np.uint8 for f in frames)


@needs_fortunes
def test_text_samples() -> None:
    samples = generate("text", 20, seed=0)
    _both_classes(samples)
    assert all(isinstance(s.media, str) and len(s.media.split()) >= 3 for s in samples)
    from models.training.data import text as text_data

    assert {s.kind for s in samples if s.label} <= set(text_data.SYNTHETIC_KINDS)
    # human samples never come from the reference corpus the generators learned from
    from models.training.data.text import is_reference

    assert not any(is_reference(s.group, 0) for s in samples if not s.label)


@needs_opencv_doc
def test_autoencoder_images_replace_only_their_own_samples(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The auto-encoder kind is a separate draw: every other sample is what it was without it,
    and an auto-encoder image keeps its source photo's group (so its split) and has a change map.
    """
    monkeypatch.setenv("DETECTOR_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("JWT_SECRET", "x" * 40)
    neural = image_data.neural_draw(8, 3)
    assert any(neural) and not any(neural[0::2])
    samples = generate("image", 8, seed=3)
    monkeypatch.setattr(image_data, "neural_draw", lambda n, seed: [False] * (2 * n))
    without = generate("image", 8, seed=3)
    for flag, s, w in zip(neural, samples, without, strict=True):
        assert s.group == w.group and s.label == w.label
        if not flag:
            assert s.kind == w.kind and np.array_equal(s.media, w.media)
            continue
        assert s.kind == "autoencoder" and s.mask is None and w.kind != "autoencoder"
        assert s.media.shape == w.media.shape and s.media.dtype == np.uint8
        assert s.info["change"].shape == s.media.shape[:2]
        assert s.info["change"].dtype == np.float32 and s.info["change"].mean() > 0
    assert list(tmp_path.glob("cache/generators/autoencoder-3-*.pt"))


@needs_fortunes
def test_charlm_texts_replace_only_their_own_samples(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from models.training.data import text as text_data

    monkeypatch.setenv("DETECTOR_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("JWT_SECRET", "x" * 40)
    neural = text_data.neural_draw(20, 0)
    assert any(neural) and not any(neural[0::2])
    samples = generate("text", 20, seed=0)
    monkeypatch.setattr(text_data, "neural_draw", lambda n, seed: [False] * (2 * n))
    without = generate("text", 20, seed=0)
    for flag, s, w in zip(neural, samples, without, strict=True):
        if not flag:
            assert (s.kind, s.media, s.group) == (w.kind, w.media, w.group)
            continue
        assert s.kind == "charlm" and s.label == 1 and s.group.startswith("charlm-")
        assert s.media.strip() and len(s.media.split()) >= 3
    assert list(tmp_path.glob("cache/generators/charlm-0-*.pt"))


def test_split_is_stable() -> None:
    assert split_of("x", 0) == split_of("x", 0)
    splits = [split_of(f"g{i}") for i in range(2000)]
    assert 0.6 < splits.count("train") / 2000 < 0.8
    assert splits.count("val") > 150 and splits.count("test") > 150
