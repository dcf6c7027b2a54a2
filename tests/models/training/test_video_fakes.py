"""Video fake generators: each alters the chosen region of a real clip and little else."""

from __future__ import annotations

import numpy as np
import pytest

from models.training.data.video_fakes import SYNTHETIC_KINDS, fake_clip


def _clip(n: int = 6) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:120, 0:160].astype(np.float32)
    frames = []
    for k in range(n):
        scene = np.stack([128 + 50 * np.sin((xx + 3 * k) / 5), 128 + 50 * np.cos(yy / 4),
                          np.full_like(xx, 90 + 5 * k)], axis=-1)
        frames.append(np.clip(scene + rng.normal(0, 4, scene.shape), 0, 255).astype(np.uint8))
    return frames


def _change(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.abs(a.astype(np.int16) - b).mean(axis=2)


@pytest.mark.parametrize("kind", SYNTHETIC_KINDS)
def test_each_generator_changes_the_centre_not_the_corners(kind: str) -> None:
    clip = _clip()
    fake = fake_clip(np.random.default_rng(3), clip, kind)
    assert len(fake) == len(clip)
    assert all(f.shape == c.shape and f.dtype == np.uint8 for f, c in zip(fake, clip, strict=True))
    changes = [_change(f, c) for f, c in zip(fake, clip, strict=True)]
    centre = np.mean([c[45:75, 65:95].mean() for c in changes])
    corners = np.mean([c[:8, :8].mean() + c[-8:, -8:].mean() for c in changes]) / 2
    assert centre > 1.0 and corners < 0.05


def test_interpolation_ghosts_the_in_between_frames_only() -> None:
    clip = _clip()
    fake = fake_clip(np.random.default_rng(4), clip, "interpolate")
    changed = [float(_change(f, c).max()) for f, c in zip(fake, clip, strict=True)]
    assert all(changed[k] == 0 for k in (0, 2, 4))
    assert all(changed[k] > 5 for k in (1, 3))


def test_resynthesis_differs_frame_to_frame() -> None:
    """Independently re-rendered frames: the fake's frame-to-frame change exceeds the real's."""
    clip = [_clip(1)[0]] * 4  # a still scene
    fake = fake_clip(np.random.default_rng(5), clip, "resynth")
    real_step = np.mean([_change(a, b).mean() for a, b in zip(clip[:-1], clip[1:], strict=True)])
    fake_pairs = zip(fake[:-1], fake[1:], strict=True)
    fake_step = np.mean([_change(a, b)[45:75, 65:95].mean() for a, b in fake_pairs])
    assert real_step == 0 and fake_step > 1.0


def test_unknown_kind_and_short_clips_are_refused() -> None:
    with pytest.raises(ValueError, match="generator"):
        fake_clip(np.random.default_rng(0), _clip(), "morph")
    with pytest.raises(ValueError):
        fake_clip(np.random.default_rng(0), _clip(1), "blend")
