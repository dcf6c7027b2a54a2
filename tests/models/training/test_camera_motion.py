"""Filming a photo with a simulated hand-held camera: moving, exposed, noisy frames."""

from __future__ import annotations

import numpy as np
import pytest

from models.training.data.camera_motion import _motion_blur, film_photo


def _photo(h: int = 120, w: int = 160) -> np.ndarray:
    rng = np.random.default_rng(1)
    photo = np.full((h, w, 3), 110, np.uint8)
    photo[40:80, 50:110] = (200, 60, 40)
    return np.clip(photo + rng.normal(0, 3, photo.shape), 0, 255).astype(np.uint8)


def test_frames_keep_the_photo_shape_and_move() -> None:
    photo = _photo()
    clip = film_photo(np.random.default_rng(0), photo, 6)
    assert len(clip) == 6
    assert all(f.shape == photo.shape and f.dtype == np.uint8 for f in clip)
    pairs = zip(clip[:-1], clip[1:], strict=True)
    steps = [np.abs(a.astype(np.int16) - b).mean() for a, b in pairs]
    assert min(steps) > 0.5  # every frame differs from the one before: motion and noise
    assert abs(float(np.mean(clip[0])) - float(np.mean(photo))) < 25  # the same scene


def test_sensor_noise_reaches_a_flat_photo() -> None:
    flat = np.full((60, 80, 3), 128, np.uint8)
    clip = film_photo(np.random.default_rng(2), flat, 3)
    assert all(f[5:-5, 5:-5].std() > 0.3 for f in clip)


def test_seeded() -> None:
    photo = _photo()
    a = film_photo(np.random.default_rng(5), photo, 4)
    b = film_photo(np.random.default_rng(5), photo, 4)
    c = film_photo(np.random.default_rng(6), photo, 4)
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert not all(np.array_equal(x, y) for x, y in zip(a, c, strict=True))


def test_motion_blur_smears_along_the_motion_only() -> None:
    frame = np.zeros((41, 41, 3), np.uint8)
    frame[20, 20] = 255
    smeared = _motion_blur(frame, 8.0, 0.0)[:, :, 0]
    assert smeared[20].astype(int).sum() > 0 and (smeared[20] > 0).sum() >= 7
    assert (smeared[:, 20] > 0).sum() <= 2  # nothing vertical
    assert np.array_equal(_motion_blur(frame, 0.5, 0.5), frame)  # sub-pixel motion: sharp


@pytest.mark.parametrize("photo,n", [(np.zeros((10, 10), np.uint8), 4),
                                     (np.zeros((10, 10, 3), np.float32), 4),
                                     (np.zeros((10, 10, 3), np.uint8), 1)])
def test_bad_input_is_refused(photo: np.ndarray, n: int) -> None:
    with pytest.raises(ValueError):
        film_photo(np.random.default_rng(0), photo, n)
