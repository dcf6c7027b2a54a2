"""The two folders the steps share (MEDIA_ROOT, SCRATCH_ROOT) and the paths kept inside them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from config import Config

_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$")


def safe_id(value: str, what: str = "id") -> str:
    """`value` if it can be a file name (letters, digits, '-', '_'); ValueError otherwise."""
    if not _SAFE_ID.match(value):
        raise ValueError(f"invalid {what}: {value!r}")
    return value


def media_file(media_root: Path, media_path: str) -> Path:
    """`media_path` (relative to MEDIA_ROOT) as an absolute path that stays inside MEDIA_ROOT."""
    root = media_root.resolve()
    path = (root / media_path).resolve()
    if not path.is_relative_to(root):
        raise ValueError(f"media path leaves MEDIA_ROOT: {media_path!r}")
    return path


def stored_file(media_root: Path, rel: object) -> Path | None:
    """The file a document recorded at `rel` (relative to MEDIA_ROOT) when it is there and inside
    MEDIA_ROOT; None otherwise (not a path, gone, or a path that leaves the root)."""
    if not isinstance(rel, str) or not rel:
        return None
    root = media_root.resolve()
    path = (root / rel).resolve()
    return path if path.is_relative_to(root) and path.is_file() else None


@dataclass(frozen=True)
class Volumes:
    """MEDIA_ROOT (the media volume: /mnt/media in a pod, var/media on one machine) and
    SCRATCH_ROOT (intermediate files shared by the steps of one job), as one step run sees them.

    A step reads them once, when it starts (`from_config`): the local engine sets both for each
    step it runs in a warm worker, so they are not constants of the process."""

    media_root: Path
    scratch_root: Path

    @classmethod
    def from_config(cls, cfg: Config) -> Volumes:
        """The folders `cfg` names (MEDIA_ROOT, SCRATCH_ROOT, else under DETECTOR_VAR_DIR)."""
        return cls(cfg.media_root, cfg.scratch_root)

    def job_scratch(self, job_id: str) -> Path:
        """The scratch folder of one job: `<SCRATCH_ROOT>/<job_id>`."""
        return self.scratch_root / safe_id(job_id, "job_id")

    def media_file(self, media_path: str) -> Path:
        """`media_file` under this MEDIA_ROOT."""
        return media_file(self.media_root, media_path)

    def scratch_file(self, path: str) -> Path:
        """A path a previous step returned (absolute, or relative to SCRATCH_ROOT), kept in
        scratch."""
        root = self.scratch_root.resolve()
        resolved = (root / path).resolve()
        if not resolved.is_relative_to(root):
            raise ValueError(f"path leaves SCRATCH_ROOT: {path!r}")
        return resolved
