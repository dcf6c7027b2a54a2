"""The feature cache is keyed on the code that makes the units and lives where it is told."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from models.training import feature_cache, units


def test_digest_is_keyed_on_seed_recipe_and_the_unit_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    digest = feature_cache.data_digest("text", 0, True)
    assert digest == feature_cache.data_digest("text", 0, True) and len(digest) == 16
    assert len({digest, feature_cache.data_digest("text", 1, True),
                feature_cache.data_digest("text", 0, False),
                feature_cache.data_digest("audio", 0, True)}) == 4
    changed = tmp_path / "units.py"
    shutil.copy(units.__file__, changed)
    changed.write_text(changed.read_text() + "\n# another featurisation\n")
    monkeypatch.setattr(units, "__file__", str(changed))
    assert feature_cache.data_digest("text", 0, True) != digest


def test_cache_path_is_under_the_given_folder(tmp_path: Path) -> None:
    digest = feature_cache.data_digest("video", 2, True)
    assert feature_cache.cache_path(tmp_path, "video", 2, True) == (
        tmp_path / "units" / f"video-s2-quick-{digest}.npz")
    full = feature_cache.data_digest("video", 2, False)
    assert feature_cache.cache_path(tmp_path, "video", 2, False, "cv") == (
        tmp_path / "cv" / f"video-s2-{full}.npz")


def test_unknown_modality_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown modality"):
        feature_cache.load_or_prepare(tmp_path, "smell", 0, True)
    assert not any(tmp_path.iterdir())
