"""Hand-made image fakes: they change what their mask says, and only there."""

from __future__ import annotations

import numpy as np
import pytest

from models.training.data import image_fakes as fakes


def _noise(h: int = 120, w: int = 160, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


@pytest.mark.parametrize("kernel", [*fakes.UPSAMPLE_KERNELS, "transposed"])
@pytest.mark.parametrize("down", fakes.DOWNSAMPLERS)
def test_every_kernel_resamples_to_the_same_shape_and_smooths(kernel: str, down: str) -> None:
    photo = _noise()
    out = fakes.resample(photo, 2.0, kernel, down, np.random.default_rng(0))
    assert out.shape == photo.shape and out.dtype == np.uint8
    detail = np.abs(np.diff(photo.astype(int), axis=1)).mean()
    assert np.abs(np.diff(out.astype(int), axis=1)).mean() < 0.8 * detail


def test_nearest_upsampling_repeats_pixels() -> None:
    out = fakes.resample(_noise(64, 64), 2.0, "nearest", "area")
    assert np.array_equal(out[:, 0::2], out[:, 1::2]) and np.array_equal(out[0::2], out[1::2])


def test_unknown_kernel_or_downsampler_is_refused() -> None:
    with pytest.raises(ValueError, match="kernel"):
        fakes.resample(_noise(), 2.0, "sinc")
    with pytest.raises(ValueError, match="down-sampler"):
        fakes.resample(_noise(), 2.0, "nearest", "median")


@pytest.mark.parametrize("shape", fakes.MASK_SHAPES)
def test_mask_shapes_cover_their_region(shape: str) -> None:
    mask = fakes.region_mask(np.random.default_rng(1), (100, 150), (75, 50), (30, 20), shape)
    assert mask.shape == (100, 150) and mask.dtype == np.float32
    assert mask[50, 75] == 1.0  # the centre is inside
    assert mask[:, :30].max() == 0 and mask[:15].max() == 0  # far outside is not
    assert 0.02 < mask.mean() < 0.4
    with pytest.raises(ValueError, match="mask shape"):
        fakes.region_mask(np.random.default_rng(1), (100, 150), (75, 50), (30, 20), "star")


def _only_masked_pixels_changed(original: np.ndarray, out: np.ndarray, mask: np.ndarray) -> None:
    assert out.shape == original.shape and out.dtype == np.uint8
    assert mask.shape == original.shape[:2]
    outside = mask == 0
    assert outside.any() and np.array_equal(out[outside], original[outside])
    inside = mask > 0.99
    assert inside.any()
    assert np.abs(out[inside].astype(int) - original[inside].astype(int)).mean() > 10


@pytest.mark.parametrize("seed", range(4))
def test_self_blend_copy_move_and_splice_change_only_their_mask(seed: int) -> None:
    photo = _noise(seed=seed)
    _only_masked_pixels_changed(photo, *fakes.self_blend(np.random.default_rng(seed), photo))
    _only_masked_pixels_changed(photo, *fakes.copy_move(np.random.default_rng(seed), photo))
    donor = _noise(90, 100, seed=seed + 10)
    _only_masked_pixels_changed(photo, *fakes.splice(np.random.default_rng(seed), photo, donor))


def test_clone_with_a_donor_returns_an_aligned_mask() -> None:
    photo, donor = _noise(seed=1), _noise(seed=2)
    out, mask = fakes.clone(np.random.default_rng(0), photo, donor)
    assert out.shape == photo.shape and mask.shape == photo.shape[:2]
    assert np.array_equal(out[mask == 0], photo[mask == 0])
    assert (out != photo).any()


def test_colour_matching_moves_channel_statistics() -> None:
    rng = np.random.default_rng(0)
    source = rng.integers(0, 120, (50, 50, 3), dtype=np.uint8)
    target = rng.integers(100, 256, (60, 40, 3), dtype=np.uint8)
    out = fakes.match_colours(source, target)
    assert np.allclose(out.mean(axis=(0, 1)), target.mean(axis=(0, 1)), atol=2)
    assert np.allclose(out.std(axis=(0, 1)), target.std(axis=(0, 1)), atol=2)
