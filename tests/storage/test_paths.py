"""The steps' folders: ids that can be file names, paths that cannot leave their root."""

from __future__ import annotations

from pathlib import Path

import pytest

from config import Config
from storage.paths import Volumes, safe_id, stored_file


def test_volumes_are_the_configured_folders(detector_env: Config):
    volumes = Volumes.from_config(detector_env)
    assert volumes == Volumes(detector_env.media_root, detector_env.scratch_root)
    assert volumes.job_scratch("job-1") == detector_env.scratch_root / "job-1"


def test_paths_cannot_leave_their_roots(tmp_path: Path):
    volumes = Volumes(tmp_path / "media", tmp_path / "scratch")
    assert volumes.media_file("ab/x") == (tmp_path / "media" / "ab" / "x").resolve()
    assert volumes.scratch_file(str(tmp_path / "scratch" / "j" / "f")) == (
        tmp_path / "scratch" / "j" / "f").resolve()
    with pytest.raises(ValueError, match="MEDIA_ROOT"):
        volumes.media_file("../scratch/x")
    with pytest.raises(ValueError, match="SCRATCH_ROOT"):
        volumes.scratch_file(str(tmp_path / "media" / "x"))
    with pytest.raises(ValueError, match="job_id"):
        volumes.job_scratch("../job")
    assert safe_id("a_b-1") == "a_b-1"
    with pytest.raises(ValueError, match="media_id"):
        safe_id("a/b", "media_id")


def test_stored_file_is_an_existing_file_inside_the_root(tmp_path: Path):
    root = tmp_path / "media"
    (root / "explanations").mkdir(parents=True)
    (root / "explanations" / "m.png").write_bytes(b"png")
    (tmp_path / "secret").write_bytes(b"no")
    assert stored_file(root, "explanations/m.png") == (root / "explanations" / "m.png").resolve()
    assert stored_file(root, "explanations/gone.png") is None
    assert stored_file(root, "../secret") is None
    assert stored_file(root, "explanations") is None  # a folder
    assert stored_file(root, None) is None and stored_file(root, "") is None
