"""Ingestion without Flask: probe files, store bytes content-addressed, record media and a job.

The API's upload route and `detector detect` both go through here, so a file is validated,
stored and submitted the same way whichever door it came in by.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pymongo.database import Database

from config import Limits
from steps.probe import MediaInfo, probe_media
from storage import jobs, logs, media


@dataclass
class Staged:
    """One validated input waiting to be stored."""

    path: Path
    filename: str
    info: MediaInfo
    size: int
    sha256: str


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def stage(path: Path, filename: str, limits: Limits) -> Staged:
    """Probe one file (raises `steps.probe.MediaError`) and hash it."""
    info = probe_media(path, filename, limits)
    return Staged(path, filename, info, path.stat().st_size, sha256_of(path))


def store_blob(item: Staged, media_root: Path, move: bool = True) -> tuple[str, bool]:
    """Put the bytes at MEDIA_ROOT/<sha[:2]>/<sha>; (relative path, whether it is new).

    `move=False` copies (the CLI leaves the user's file where it is).
    """
    rel = f"{item.sha256[:2]}/{item.sha256}"
    dest = media_root / rel
    if dest.exists():
        return rel, False
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(f".{dest.name}.{uuid.uuid4().hex}.part")
    try:
        if not move:
            raise OSError("copy requested")
        os.replace(item.path, part)
    except OSError:  # another file system, or a copy was asked for
        shutil.copyfile(item.path, part)
    part.chmod(0o644)
    os.replace(part, dest)
    return rel, True


def media_doc(item: Staged, owner: str, rel: str) -> dict[str, Any]:
    """The media document for a stored input."""
    return {
        "owner": owner, "sha256": item.sha256, "modality": item.info.modality,
        "mime": item.info.mime, "filename": item.filename, "size": item.size, "path": rel,
        "info": item.info.as_dict(),
    }


def store_job(
    db: Database, staged: list[Staged], owner: str, engine_name: str, mode: str,
    media_root: Path, move: bool = True,
) -> dict[str, Any]:
    """Store bytes and media documents, then create the job; undo all of it if a step fails."""
    new_blobs: list[str] = []
    media_ids: list[str] = []
    try:
        for item in staged:
            rel, created = store_blob(item, media_root, move=move)
            if created:
                new_blobs.append(rel)
            media_ids.append(media.insert_media(db, media_doc(item, owner, rel)))
        job = jobs.create_job(db, owner, media_ids, engine=engine_name, mode=mode)
    except Exception:
        media.delete_media(db, media_ids)
        for rel in new_blobs:
            if db.media.count_documents({"path": rel}, limit=1) == 0:
                (media_root / rel).unlink(missing_ok=True)
        raise
    logs.log_event(db, "info", "job.created", job_id=job["job_id"], owner=owner, mode=mode,
                   media=len(media_ids))
    return job
