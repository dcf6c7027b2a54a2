"""Image augmentation: random distribution steps for both classes, named robustness transforms."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from models.training.data import augment_image as aug


def _photo(h: int = 150, w: int = 200, seed: int = 0) -> np.ndarray:
    """Smooth content plus sensor-like noise (so compression and blur visibly change it)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    base = np.stack([100 + 60 * np.sin(x / 17 + c) * np.cos(y / 23) for c in range(3)], axis=2)
    return np.clip(base + rng.normal(0, 12, base.shape), 0, 255).astype(np.uint8)


def _detail(image: np.ndarray) -> float:
    """Mean absolute Laplacian: high-frequency energy."""
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    return float(np.abs(cv2.Laplacian(grey.astype(np.float32), cv2.CV_32F)).mean())


def test_augment_keeps_the_image_contract_and_is_seeded() -> None:
    photo = _photo()
    changed = 0
    for seed in range(30):
        out = aug.augment(np.random.default_rng(seed), photo)
        assert out.dtype == np.uint8 and out.ndim == 3 and out.shape[2] == 3
        assert min(out.shape[:2]) >= aug.MIN_SIDE
        again = aug.augment(np.random.default_rng(seed), photo)
        assert np.array_equal(out, again)
        changed += out.shape != photo.shape or not np.array_equal(out, photo)
    assert changed >= 20  # most draws change something (P_JPEG alone is 0.6)


def test_pixel_steps_keep_the_size_so_masks_stay_aligned() -> None:
    photo = _photo(97, 131)
    for seed in range(30):
        out = aug.augment_photometric(np.random.default_rng(seed), photo)
        assert out.shape == photo.shape and out.dtype == np.uint8


def test_geometric_steps_never_go_below_the_minimum_side() -> None:
    photo = _photo(aug.MIN_SIDE, aug.MIN_SIDE + 40)
    for seed in range(40):
        out = aug.augment_geometry(np.random.default_rng(seed), photo)
        assert min(out.shape[:2]) >= aug.MIN_SIDE


@pytest.mark.parametrize("bad", [np.zeros((64, 64), np.uint8), np.zeros((64, 64, 3), np.float32),
                                 np.zeros((64, 64, 4), np.uint8)])
def test_bad_images_are_refused(bad: np.ndarray) -> None:
    with pytest.raises(ValueError, match="BGR uint8"):
        aug.augment(np.random.default_rng(0), bad)


def test_robustness_set_is_small_deterministic_and_keeps_the_form() -> None:
    assert 4 <= len(aug.ROBUSTNESS) <= 6
    photo = _photo()
    for name, transform in aug.ROBUSTNESS.items():
        out = transform(photo)
        assert out.dtype == np.uint8 and out.ndim == 3 and out.shape[2] == 3, name
        assert min(out.shape[:2]) >= aug.ROBUST_MIN_SIDE, name
        assert out.shape != photo.shape or not np.array_equal(out, photo), name
        assert np.array_equal(out, transform(photo)), name


def test_jpeg_70_recompresses() -> None:
    photo = _photo()
    out = aug.ROBUSTNESS["jpeg-70"](photo)
    assert out.shape == photo.shape
    assert 0.5 < np.abs(out.astype(int) - photo.astype(int)).mean() < 15


def test_resize_halves_the_sides_but_keeps_a_patch() -> None:
    out = aug.ROBUSTNESS["resize-0.5"](_photo(150, 200))
    assert out.shape == (75, 100, 3)
    small = aug.ROBUSTNESS["resize-0.5"](_photo(80, 120))
    assert min(small.shape[:2]) == aug.ROBUST_MIN_SIDE


def test_centre_crop_is_the_middle_of_the_image() -> None:
    photo = _photo(150, 200)
    out = aug.ROBUSTNESS["crop-center"](photo)
    assert out.shape == (90, 120, 3)
    assert np.array_equal(out, photo[30:120, 40:160])


def test_gamma_below_one_brightens_mid_tones() -> None:
    photo = _photo()
    out = aug.ROBUSTNESS["gamma-0.8"](photo)
    assert out.shape == photo.shape and out.mean() > photo.mean() + 5
    assert (out.astype(int) >= photo.astype(int) - 1).all()  # monotone: nothing gets darker


def test_blur_removes_detail_and_sharpening_adds_it() -> None:
    photo = _photo()
    assert _detail(aug.ROBUSTNESS["blur-1"](photo)) < 0.6 * _detail(photo)
    assert _detail(aug.sharpen(photo, 1.0)) > 1.2 * _detail(photo)


def test_screenshot_is_a_lossless_rescaled_copy() -> None:
    photo = _photo(160, 200)
    out = aug.ROBUSTNESS["screenshot-png"](photo)
    assert out.shape == (120, 150, 3)
    assert np.array_equal(aug.png(out), out)  # PNG keeps it exactly: no JPEG blocks
    plain = cv2.resize(photo, (150, 120), interpolation=cv2.INTER_LINEAR)
    assert _detail(out) > _detail(plain)  # the display pipeline's sharpening


def test_crop_and_resize_parameters() -> None:
    photo = _photo(200, 300)
    assert aug.crop(photo, 0.5, 0.5, 0.0, 1.0).shape == (100, 150, 3)
    assert np.array_equal(aug.crop(photo, 0.5, 0.5, 0.0, 1.0), photo[:100, 150:])
    assert aug.resize(photo, 1.5).shape == (300, 450, 3)
    assert aug.resize(photo, 0.1).shape[0] == aug.MIN_SIDE
