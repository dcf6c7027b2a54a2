"""Video augmentations: each changes a clip as intended and keeps the decoded-video contract."""

from __future__ import annotations

import numpy as np
import pytest

from models.training.data import augment_video as aug


def _clip(n: int = 6, h: int = 120, w: int = 160, seed: int = 0) -> aug.Video:
    """A textured scene drifting right: smooth gradients, edges and fine noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w + 4 * n].astype(np.float32)
    scene = np.stack([128 + 60 * np.sin(xx / 9), 128 + 60 * np.cos(yy / 7),
                      (xx + yy) % 256 * 0.5 + 60], axis=-1)
    scene[30:70, 40:90] = (30, 200, 90)
    scene += rng.normal(0, 6, scene.shape)
    frames = [np.clip(scene[:, 4 * k : 4 * k + w], 0, 255).astype(np.uint8) for k in range(n)]
    return frames, 2.0


def _error(a: aug.Video, b: aug.Video) -> float:
    return float(np.mean([np.abs(x.astype(np.int16) - y).mean() for x, y in zip(a[0], b[0],
                                                                                 strict=True)]))


def _contract(media: aug.Video, shape: tuple[int, ...] | None = None) -> None:
    frames, fps = media
    assert fps > 0 and len(frames) >= 2
    assert all(f.dtype == np.uint8 and f.ndim == 3 and f.shape == frames[0].shape for f in frames)
    if shape is not None:
        assert frames[0].shape == shape


@pytest.mark.parametrize("codec", aug.CODECS)
def test_reencode_degrades_more_at_lower_bit_rates_and_keeps_the_shape(codec: str) -> None:
    clip = _clip(h=121, w=161)  # odd sizes are padded for the encoder and cropped back
    low = aug.reencode(clip, codec, 0.05)
    high = aug.reencode(clip, codec, 1.0)
    _contract(low, clip[0][0].shape)
    _contract(high, clip[0][0].shape)
    assert len(low[0]) == len(clip[0]) and low[1] == clip[1]
    assert 0.3 < _error(clip, high) < _error(clip, low)


def test_reencode_is_reproducible() -> None:
    clip = _clip()
    first, second = aug.reencode(clip, "libx264", 0.1), aug.reencode(clip, "libx264", 0.1)
    assert all(np.array_equal(a, b) for a, b in zip(first[0], second[0], strict=True))


def test_fps_half_drops_every_other_frame() -> None:
    clip = _clip(n=6)
    frames, fps = aug.fps_half(clip)
    assert fps == 1.0 and len(frames) == 3
    assert all(np.array_equal(a, b) for a, b in zip(frames, clip[0][::2], strict=True))
    short = _clip(n=3)
    assert aug.fps_half(short)[1] == 2.0 and len(aug.fps_half(short)[0]) == 3


def test_resize_scales_every_frame_but_not_below_the_crop_size() -> None:
    clip = _clip(h=120, w=160)
    _contract(aug.resize(clip, 0.75), (90, 120, 3))
    _contract(aug.resize(clip, 0.1), (aug.MIN_SIDE, round(160 * aug.MIN_SIDE / 120), 3))


def test_jpeg_frames_loses_more_at_lower_quality() -> None:
    clip = _clip()
    low, high = aug.jpeg_frames(clip, 20), aug.jpeg_frames(clip, 95)
    _contract(low, clip[0][0].shape)
    assert 0 < _error(clip, high) < _error(clip, low)


def test_brightness_gain_and_gamma_move_the_levels() -> None:
    clip = _clip()
    mean = np.mean([f.mean() for f in clip[0]])
    brighter, darker = aug.brightness(clip, 1.2), aug.brightness(clip, 0.7, 1.2)
    _contract(darker, clip[0][0].shape)
    assert np.mean([f.mean() for f in brighter[0]]) > mean + 10
    assert np.mean([f.mean() for f in darker[0]]) < mean - 20


def test_augment_is_seeded_and_keeps_the_contract() -> None:
    clip = _clip()
    outputs = [aug.augment(np.random.default_rng(seed), clip) for seed in range(12)]
    for media in outputs:
        _contract(media)
    again = aug.augment(np.random.default_rng(3), clip)
    assert all(np.array_equal(a, b) for a, b in zip(again[0], outputs[3][0], strict=True))
    kept = [m for m in outputs if m[0][0].shape == clip[0][0].shape and len(m[0]) == 6]
    assert sum(_error(clip, m) > 0.5 for m in kept) >= 4
    assert any(len(m[0]) == 3 and m[1] == 1.0 for m in outputs)  # some clips at half the rate


def test_robustness_transforms_are_deterministic_and_keep_the_contract() -> None:
    assert 4 <= len(aug.ROBUSTNESS) <= 6
    clip = _clip()
    for name, transform in aug.ROBUSTNESS.items():
        first, second = transform(clip), transform(clip)
        _contract(first)
        assert all(np.array_equal(a, b) for a, b in zip(first[0], second[0], strict=True)), name
        changed = (len(first[0]) != len(clip[0]) or first[0][0].shape != clip[0][0].shape
                   or _error(clip, first) > 0.5)
        assert changed, name


@pytest.mark.parametrize("media", [([], 2.0), ([np.zeros((8, 8, 3), np.uint8)], 0.0),
                                   ([np.zeros((8, 8, 3), np.uint8), np.zeros((9, 8, 3), np.uint8)],
                                    2.0),
                                   ([np.zeros((8, 8, 3), np.float32)], 2.0)])
def test_bad_clips_are_refused(media: aug.Video) -> None:
    with pytest.raises(ValueError):
        aug.jpeg_frames(media, 80)


def test_bad_parameters_are_refused() -> None:
    clip = _clip()
    with pytest.raises(ValueError, match="codec"):
        aug.reencode(clip, "vp9", 0.1)
    with pytest.raises(ValueError):
        aug.reencode(clip, "libx264", 0)
    with pytest.raises(ValueError):
        aug.brightness(clip, -1.0)
    with pytest.raises(ValueError):
        aug.resize(clip, 0)
