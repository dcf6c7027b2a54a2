"""The video data set: catalogue sources and families, real footage only as real, seeded."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from models.media.decode import VIDEO_SAMPLE_FPS
from models.training.data import catalog
from models.training.data import video as video_data
from models.training.data.video_footage import footage

REAL_VIDEO = catalog.select("video", "real")
installed = pytest.mark.skipif(
    not all(s.files() for s in REAL_VIDEO), reason="video sources not installed (make data)"
)


def test_filmed_photos_are_the_image_data_camera_photos() -> None:
    from models.training.data.photo_sources import real_photos

    filmed = video_data.camera_photos()
    photos = {p.name: p for p in real_photos()}
    assert filmed and {name for name, *_ in filmed} == set(photos)
    for name, family, source, _ in filmed:
        assert (family, source) == (photos[name].family, photos[name].source)
    assert len({family for _, family, _, _ in filmed}) >= 8


@installed
def test_every_real_video_source_is_decoded_with_its_family() -> None:
    videos = footage("real")
    assert {v.source for v in videos} == {s.name for s in REAL_VIDEO}
    assert len({v.family for v in videos}) >= 4
    for v in videos:
        assert v.fps > 0 and len(v.frames) >= 60
        assert max(v.frames[0].shape[:2]) <= 320 and v.frames[0].dtype == np.uint8
    non_camera = {p.name for s in catalog.select("video", "non-camera") for p in s.files()}
    assert non_camera and not non_camera & {v.name for v in videos}


def test_unknown_class_is_refused() -> None:
    with pytest.raises(ValueError, match="class"):
        footage("fake")


@installed
def test_samples_carry_family_source_and_the_decoded_form() -> None:
    samples = video_data.generate(12, seed=3)
    assert Counter(s.label for s in samples) == {0: 12, 1: 12}
    names = {s.name: s for s in catalog.load()}
    real_families = {s.family for s in names.values() if s.cls == "real"}
    non_camera = {p.name for s in catalog.select("video", "non-camera") for p in s.files()}
    for s in samples:
        frames, fps = s.media
        assert fps in (VIDEO_SAMPLE_FPS, VIDEO_SAMPLE_FPS / 2) and len(frames) >= 2
        assert all(f.shape == frames[0].shape and f.dtype == np.uint8 for f in frames)
        assert s.family in real_families  # fakes keep their real clip's family
        assert s.info["source"] in names and s.info["real_source"] in names
        assert names[s.info["real_source"]].family == s.family
        assert s.group not in non_camera
        if s.label:
            assert s.kind in video_data.SYNTHETIC_KINDS
            assert s.info["source"] == video_data.GENERATOR_SOURCE
        else:
            assert s.kind in ("footage", "photo-motion")
            assert names[s.info["source"]].cls == "real"


@installed
def test_generate_is_reproducible_and_seed_dependent() -> None:
    a, b = video_data.generate(4, seed=7), video_data.generate(4, seed=7)
    c = video_data.generate(4, seed=8)
    for x, y in zip(a, b, strict=True):
        assert (x.kind, x.group, x.family) == (y.kind, y.group, y.family)
        assert all(np.array_equal(p, q) for p, q in zip(x.media[0], y.media[0], strict=True))
    assert [x.group for x in a] != [x.group for x in c]


def test_bad_size_is_refused() -> None:
    with pytest.raises(ValueError):
        video_data.generate(0)
