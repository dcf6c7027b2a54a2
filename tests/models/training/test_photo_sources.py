"""Real photos come only from the catalogue's allow-listed real image sources."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from models.training.data import catalog, photo_sources

REAL = catalog.select("image", "real")


def _installed(package: str) -> bool:
    return subprocess.run(["dpkg", "-s", package], capture_output=True).returncode == 0


needs_image_packages = pytest.mark.skipif(
    not all(_installed(p) for s in REAL for p in s.debian),
    reason="the catalogue's image packages are not installed (make data)",
)


def test_real_sources_list_their_photos_by_name() -> None:
    """An allow-list: no real image source takes a whole folder of whatever is there."""
    for source in REAL:
        assert source.paths, source.name
        for path in source.paths:
            name = Path(path).name
            assert not name.startswith("*") and "**" not in path, (source.name, path)


def test_real_and_non_camera_sources_never_share_a_file() -> None:
    real = {path for s in REAL for path in s.paths}
    non_camera = {path for s in catalog.select("image", "non-camera") for path in s.paths}
    assert non_camera and real.isdisjoint(non_camera)


def test_pypi_sources_resolve_inside_their_installed_package() -> None:
    source = catalog.by_name("scikit-image-photos")
    files = source.files()
    assert len(files) == len(source.paths)
    assert all("skimage" in f.parts for f in files)
    missing = catalog.Source(name="x", family="x", modality="image", cls="real", licence="x",
                             what="x", pypi=("no-such-distribution",), paths=("x/*.png",))
    assert missing.files() == []


def test_unreadable_photo_is_a_clear_error(tmp_path: Path) -> None:
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not an image")
    with pytest.raises(ValueError, match="cannot decode"):
        photo_sources.read_photo(broken)


def test_large_photos_are_scaled_and_keep_a_native_crop() -> None:
    rng = np.random.default_rng(0)
    big = rng.integers(0, 256, (2000, 3000, 3), dtype=np.uint8)
    views = dict(photo_sources._views("f/big", big))
    assert set(views) == {"f/big", "f/big@native"}
    assert max(views["f/big"].shape[:2]) == photo_sources.MAX_SIDE
    half = photo_sources.NATIVE_CROP // 2
    centre = big[1000 - half : 1000 + half, 1500 - half : 1500 + half]
    assert np.array_equal(views["f/big@native"], centre)
    small = rng.integers(0, 256, (300, 400, 3), dtype=np.uint8)
    assert [name for name, _ in photo_sources._views("f/small", small)] == ["f/small"]


@needs_image_packages
def test_real_photos_cover_at_least_eight_families_and_no_non_camera_item() -> None:
    photos = photo_sources.real_photos()
    families = {p.family for p in photos}
    assert families == {s.family for s in REAL}
    assert len(families) >= 8
    names = [p.name for p in photos]
    assert len(names) == len(set(names))
    non_camera = {name for name, _ in photo_sources.non_camera_images()}
    assert non_camera and non_camera.isdisjoint(names)
    assert not any("Megamind" in n or "Blender" in n or "logo" in n.lower() for n in names)
    for p in photos:
        assert p.image.dtype == np.uint8 and p.image.ndim == 3 and p.image.shape[2] == 3
        assert max(p.image.shape[:2]) <= photo_sources.MAX_SIDE
        assert p.name.startswith(p.group) and p.group.startswith(f"{p.family}/")
        assert catalog.by_name(p.source).family == p.family
    assert any(p.name.endswith("@native") for p in photos)  # the 4K photos kept native crops
