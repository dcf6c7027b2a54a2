"""Folders the steps use (MEDIA_ROOT, SCRATCH_ROOT), atomic writes and scratch cleanup."""

import os
import re
import shutil
from pathlib import Path

from hera.workflows import script

# No `from __future__ import annotations` in step modules: Hera reads the live annotations.

_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$")


def _root(env_name: str, attribute: str) -> Path:
    value = os.environ.get(env_name)
    if value:
        return Path(value).resolve()
    from config import get_config

    return getattr(get_config(), attribute)


def media_root() -> Path:
    """MEDIA_ROOT (the media volume: /mnt/media in a pod, var/media on one machine)."""
    return _root("MEDIA_ROOT", "media_root")


def scratch_root() -> Path:
    """SCRATCH_ROOT (intermediate files shared by the steps of one job)."""
    return _root("SCRATCH_ROOT", "scratch_root")


def safe_id(value: str, what: str = "id") -> str:
    """`value` if it can be a file name (letters, digits, '-', '_'); ValueError otherwise."""
    if not _SAFE_ID.match(value):
        raise ValueError(f"invalid {what}: {value!r}")
    return value


def job_scratch(job_id: str) -> Path:
    """The scratch folder of one job: `<SCRATCH_ROOT>/<job_id>`."""
    return scratch_root() / safe_id(job_id, "job_id")


def media_file(media_path: str) -> Path:
    """`media_path` (relative to MEDIA_ROOT) as an absolute path that stays inside MEDIA_ROOT."""
    root = media_root()
    path = (root / media_path).resolve()
    if not path.is_relative_to(root):
        raise ValueError(f"media path leaves MEDIA_ROOT: {media_path!r}")
    return path


def scratch_file(path: str) -> Path:
    """A path a previous step returned (absolute, or relative to SCRATCH_ROOT), kept in scratch."""
    root = scratch_root()
    resolved = (root / path).resolve()
    if not resolved.is_relative_to(root):
        raise ValueError(f"path leaves SCRATCH_ROOT: {path!r}")
    return resolved


@script(constructor="runner")
def cleanup_scratch(job_id: str) -> None:
    """Remove `<SCRATCH_ROOT>/<job_id>` (the workflow's exit handler; uploaded media stay)."""
    shutil.rmtree(job_scratch(job_id), ignore_errors=True)
