"""The image data set: families and sources on every sample, fakes from their own family,
augmentation drawn alike for both classes."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest

from models.training.data import catalog
from models.training.data import image as image_data
from models.training.data.photo_sources import Photo

needs_image_packages = pytest.mark.skipif(
    any(subprocess.run(["dpkg", "-s", p], capture_output=True).returncode
        for s in catalog.select("image", "real") for p in s.debian),
    reason="the catalogue's image packages are not installed (make data)",
)


@pytest.fixture()
def no_neural(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(image_data, "neural_draw", lambda n, seed: [False] * (2 * n))


@needs_image_packages
@pytest.mark.usefixtures("no_neural")
def test_samples_carry_their_photo_family_and_catalogue_source() -> None:
    samples = image_data.generate(30, seed=1)
    real_families = {s.family for s in catalog.select("image", "real")}
    assert [s.label for s in samples] == [0, 1] * 30
    for s in samples:
        assert s.family in real_families  # a fake keeps its photo's family
        assert catalog.by_name(s.info["source"]).family == s.family
        assert s.group.startswith(f"{s.family}/")
        assert s.kind == "photo" if s.label == 0 else s.kind in image_data.SYNTHETIC_KINDS
        assert s.media.dtype == np.uint8 and min(s.media.shape[:2]) >= 64
        if s.mask is not None:
            assert s.mask.shape == s.media.shape[:2]
        if "change" in s.info:
            assert s.info["change"].shape == s.media.shape[:2]
    assert len({s.family for s in samples}) >= 5
    assert len({s.kind for s in samples if s.label}) >= 4


@needs_image_packages
@pytest.mark.usefixtures("no_neural")
def test_every_sample_of_both_classes_is_augmented_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    geometry, photometric = image_data.augment_geometry, image_data.augment_photometric

    def counted(stage: str, step):  # noqa: ANN001, ANN202 - a test double
        def wrapped(rng: np.random.Generator, image: np.ndarray) -> np.ndarray:
            calls.append(stage)
            return step(rng, image)
        return wrapped

    monkeypatch.setattr(image_data, "augment_geometry", counted("geometry", geometry))
    monkeypatch.setattr(image_data, "augment_photometric", counted("pixels", photometric))
    samples = image_data.generate(6, seed=0)
    assert calls == ["geometry", "pixels"] * len(samples)


def _flat(value: int, family: str, group: str) -> Photo:
    return Photo(group, group, family, "test", np.full((200, 240, 3), value, np.uint8))


def test_donor_is_another_photo_of_the_same_family() -> None:
    family = [_flat(10, "f", "f/a"), _flat(200, "f", "f/b")]
    rng = np.random.default_rng(0)
    for _ in range(5):
        donor = image_data._donor(rng, family[0], family)
        assert (donor == 200).all()
    lone = [_flat(50, "g", "g/only")]
    assert (image_data._donor(rng, lone[0], lone) == 50).all()


def test_families_are_drawn_by_the_square_root_of_their_size() -> None:
    photos = (*[_flat(0, "big", f"big/{i}") for i in range(16)], _flat(0, "small", "small/0"))
    names, weights, members = image_data._families(photos)
    assert names == ["big", "small"] and len(members["big"]) == 16
    assert np.allclose(weights, [4 / 5, 1 / 5])


def test_unknown_generator_is_refused() -> None:
    photo = _flat(0, "f", "f/a")
    with pytest.raises(ValueError, match="unknown image generator"):
        image_data._fake(np.random.default_rng(0), "diffusion", photo.image, photo, [photo])


@needs_image_packages
@pytest.mark.usefixtures("no_neural")
def test_fakes_of_greyscale_photos_stay_grey(monkeypatch: pytest.MonkeyPatch) -> None:
    # without the pixel steps (which may tint both classes alike), a grey photo's fake is grey
    monkeypatch.setattr(image_data, "augment_photometric", lambda rng, image: image)
    samples = image_data.generate(40, seed=2)
    grey_fakes = [s for s in samples if s.label and s.family == "opencv-calibration"]
    assert len({s.kind for s in grey_fakes}) >= 2
    assert all(image_data.is_grey(s.media) for s in grey_fakes)


def test_is_grey() -> None:
    grey = np.full((8, 8, 3), 90, np.uint8)
    assert image_data.is_grey(grey)
    grey[0, 0, 2] = 91
    assert not image_data.is_grey(grey)
