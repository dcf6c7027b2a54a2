"""Unit labelling and the new feature logic: mask-aware image crops, up-sampling traces,
n-gram tables of human text, sentence windows."""

from __future__ import annotations

import numpy as np
import torch

from models.features import featurize
from models.features.image import PATCH, noise_level, patch_channels
from models.features.text import DOC_STATS, NGRAM_IDS, TEXT_DIM, TEXT_WIDTH, ngram_ids, ngram_tokens
from models.training.data import Sample
from models.training.data.image import boundary, change_map, self_blend, upsample
from models.training.networks import NgramTable, build_network
from models.training.units import change_label, image_training_crops


def _textured(seed: int = 0, size: int = 256) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 256, (size // 8, size // 8, 3), dtype=np.uint8)
    image = np.repeat(np.repeat(base, 8, 0), 8, 1).astype(np.float32)
    return np.clip(image + rng.normal(0, 12, image.shape), 0, 255).astype(np.uint8)


def test_blend_crops_are_labelled_by_the_generator_mask() -> None:
    rng = np.random.default_rng(0)
    image = _textured()
    fake, mask = self_blend(rng, image)
    sample = Sample(fake, 1, "blend", group="g", mask=mask)
    crops = image_training_crops(sample, rng, 16)
    edge = boundary(mask)
    touched = edge | (mask > 0.03)
    assert {label for _, _, label in crops} == {0, 1}
    for x, y, label in crops:
        window = (slice(y, y + PATCH), slice(x, x + PATCH))
        if label:
            assert edge[window].mean() >= 0.03  # synthetic crops hold the blend's boundary
        else:
            assert not touched[window].any()  # authentic crops are pixels left untouched
            diff = np.abs(fake[window].astype(int) - image[window].astype(int))
            assert diff.max() <= 8 and diff.mean() < 0.5  # (the mask's faint tail)


def test_authentic_crops_are_all_authentic() -> None:
    rng = np.random.default_rng(1)
    crops = image_training_crops(Sample(_textured(1), 0, "photo", group="g"), rng, 8)
    assert len(crops) == 8 and all(label == 0 for _, _, label in crops)


def test_upsampled_flat_regions_count_as_untouched() -> None:
    rng = np.random.default_rng(2)
    image = _textured(2)
    image[:, :128] = 120  # a flat half: up-sampling leaves no trace there
    up = upsample(rng, image)
    change = change_map(image, up)
    assert change_label(change[:64, :64]) == 0
    assert change_label(change[:64, 160:224]) == 1
    sample = Sample(up, 1, "upsample", group="g", info={"change": change})
    for x, _, label in image_training_crops(sample, rng, 12):
        assert label == 0 or x + PATCH > 128


def test_patch_channels_remove_mean_colour() -> None:
    patch = np.full((PATCH, PATCH, 3), 200, np.uint8)
    channels = patch_channels(patch)
    assert channels.shape == (5, PATCH, PATCH)
    np.testing.assert_allclose(channels, 0, atol=1e-3)  # a flat patch carries no signal
    other = patch_channels(np.full((PATCH, PATCH, 3), 30, np.uint8))
    np.testing.assert_allclose(channels, other, atol=1e-3)


def test_relative_residual_shows_a_region_smoother_than_its_image() -> None:
    """The same blurred patch looks smooth (small relative residual) inside a noisy image
    and ordinary inside an equally blurred one; the absolute residual cannot tell them apart."""
    import cv2

    rng = np.random.default_rng(0)
    noisy = np.clip(128 + rng.normal(0, 12, (192, 192, 3)), 0, 255).astype(np.uint8)
    smooth = cv2.GaussianBlur(noisy, (0, 0), 1.5)
    patch = smooth[64:128, 64:128]
    in_noisy = patch_channels(patch, noise_level(noisy))
    in_smooth = patch_channels(patch, noise_level(smooth))
    np.testing.assert_array_equal(in_noisy[:4], in_smooth[:4])
    assert np.abs(in_noisy[4]).mean() < 0.5 * np.abs(in_smooth[4]).mean()


def test_ngram_table_marks_seen_ids() -> None:
    table = NgramTable(bits=12)
    table.fill([0, 7, 8, 4095])
    seen = table(torch.tensor([[0.0, 7, 8, 4095, 9, -1]]))
    assert seen.tolist() == [[1.0, 1.0, 1.0, 1.0, 0.0, 0.0]]


def test_text_network_sees_reused_transitions() -> None:
    human = "the quick brown fox jumps over the lazy dog"
    network = build_network("text", table_bits=16)
    tokens = ngram_tokens(human)
    network.bigrams.fill(i % (1 << 16) for i in ngram_ids(tokens, 2))
    network.trigrams.fill(i % (1 << 16) for i in ngram_ids(tokens, 3))

    def units(text: str) -> torch.Tensor:
        x = torch.from_numpy(featurize("text", text)["x"])
        start, end = TEXT_DIM + DOC_STATS, TEXT_DIM + DOC_STATS + 2 * NGRAM_IDS
        ids = x[:, start:end]
        x[:, start:end] = torch.where(ids >= 0, ids % (1 << 16), -1.0)
        return x

    seen = network.ngram_features(units("The quick brown fox jumps over the lazy dog."))
    assert seen[0, 0] == 1.0 and seen[0, 3] == 1.0  # every 2-gram and 3-gram was seen
    novel = network.ngram_features(units("A purple elephant sang opera loudly."))
    assert novel[0, 0] < 0.5 and novel[0, 3] < 0.5


def test_text_units_see_neighbouring_sentences() -> None:
    text = "Alpha beta gamma. Delta epsilon zeta. Eta theta iota."
    out = featurize("text", text)
    x = out["x"]
    assert x.shape == (3, TEXT_WIDTH)
    start = TEXT_DIM + DOC_STATS
    ids = [set(row[start : start + NGRAM_IDS][row[start : start + NGRAM_IDS] >= 0].tolist())
           for row in x]
    delta = ngram_ids(["delta", "epsilon"], 2)[0]
    assert delta in ids[0] and delta in ids[1] and delta in ids[2]
    alpha = ngram_ids(["alpha", "beta"], 2)[0]
    assert alpha in ids[0] and alpha not in ids[2]  # the window is one sentence either side
    # document statistics are the same for every unit
    np.testing.assert_array_equal(x[0, TEXT_DIM : start], x[2, TEXT_DIM : start])
    assert [s["text"] for s in out["meta"]["sentences"]][1] == "Delta epsilon zeta."


def test_ring_profile_sees_a_manipulated_centre() -> None:
    from models.training.networks import RingProfile

    rng = np.random.default_rng(3)
    frame = rng.normal(0, 0.05, (1, 4, PATCH, PATCH)).astype(np.float32)
    shifted = frame.copy()
    yy, xx = np.mgrid[0 : PATCH, 0 : PATCH]
    centre = (yy - 31.5) ** 2 + (xx - 31.5) ** 2 < 16**2
    shifted[0, 2][centre] += 0.4  # a colour cast on the central disc
    profile = RingProfile()
    plain, cast = profile(torch.from_numpy(frame)), profile(torch.from_numpy(shifted))
    assert plain.shape == (1, profile.out_features)
    rings = 10
    red = slice(2 * (rings + 1), 2 * (rings + 1) + rings)
    assert cast[0, red][0] - cast[0, red][-1] > 1.0  # inside brighter than the surround
    assert abs(plain[0, red][0] - plain[0, red][-1]) < 0.5
