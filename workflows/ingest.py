"""Ingestion without Flask: probe files, store bytes content-addressed, record media and a job.

The API's upload route and `detector detect` both go through here, so a file is validated,
stored and submitted the same way whichever door it came in by.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import uuid
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pymongo.database import Database

from config import Limits
from models.media.probe import MediaInfo, probe_media
from storage import jobs, logs, media

PRIVATE_FILE, PRIVATE_DIR = 0o600, 0o700
"""Stored media are readable by the service's user alone (the workers run as the same user)."""


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


def stage(path: Path, filename: str, limits: Limits, decode_images: bool = True) -> Staged:
    """Probe one file from its headers alone (raises `models.media.probe.MediaError`) and hash it.

    Nothing is decoded here, whatever `decode_images` says (kept for callers): this process
    holds JWT_SECRET and ARGO_TOKEN, so untrusted media are decoded only by the inference
    service and by the workers' preprocess step (`steps.preprocess`), which hold neither."""
    info = probe_media(path, filename, limits, decode_images=False, header_only=True)
    return Staged(path, filename, info, path.stat().st_size, sha256_of(path))


def store_blob(item: Staged, media_root: Path, move: bool = True) -> tuple[str, bool]:
    """Put the bytes at MEDIA_ROOT/<sha[:2]>/<sha>; (relative path, whether it is new).

    `move=False` copies (the CLI leaves the user's file where it is).
    """
    rel = f"{item.sha256[:2]}/{item.sha256}"
    dest = media_root / rel
    if dest.exists():
        return rel, False
    dest.parent.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    part = dest.with_name(f".{dest.name}.{uuid.uuid4().hex}.part")
    try:
        try:
            if not move:
                raise OSError("copy requested")
            os.replace(item.path, part)
        except OSError:  # another file system, or a copy was asked for: created 0600 at once
            fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
            with item.path.open("rb") as src, os.fdopen(fd, "wb") as out:
                shutil.copyfileobj(src, out, 1 << 20)
        part.chmod(PRIVATE_FILE)  # an upload's temp file is 0600 already; a moved file may not be
        os.replace(part, dest)
    except BaseException:  # the volume is full (ENOSPC) or gone: no partial file stays
        part.unlink(missing_ok=True)
        raise
    return rel, True


def media_doc(item: Staged, owner: str, rel: str) -> dict[str, Any]:
    """The media document for a stored input."""
    return {
        "owner": owner, "sha256": item.sha256, "modality": item.info.modality,
        "mime": item.info.mime, "filename": item.filename, "size": item.size, "path": rel,
        "info": item.info.as_dict(),
    }


@dataclass
class Stored:
    """What `store_media_and_job` recorded: the job, its media documents (in order) and the
    blobs it created.

    With a `background` executor the job is still being inserted: `wait()` before anything
    that needs it stored (its results, its status)."""

    job: dict[str, Any]
    media: list[dict[str, Any]]
    new_blobs: list[str]
    pending: Future | None = None

    def wait(self) -> None:
        """Until the job is stored; re-raises what its insert raised."""
        if self.pending is not None:
            pending, self.pending = self.pending, None
            pending.result()


def store_media_and_job(
    db: Database, staged: list[Staged], owner: str, engine_name: str, mode: str,
    media_root: Path, move: bool = True, status: str = "queued",
    background: Executor | None = None,
) -> Stored:
    """Store bytes and media documents, then create the job (`status` queued, or running for a
    job scored at once); undo all of it if a step fails.

    `background`: the job and its event are inserted there while the caller goes on (the sync
    path scores meanwhile); the media and their bytes are stored before this returns, so a
    crash never loses an upload. `Stored.wait()` raises if the insert failed, after the undo."""
    new_blobs: list[str] = []
    docs: list[dict[str, Any]] = []
    try:
        for item in staged:
            rel, created = store_blob(item, media_root, move=move)
            if created:
                new_blobs.append(rel)
            doc = media_doc(item, owner, rel)
            doc["media_id"] = media.insert_media(db, doc)
            docs.append(doc)
        job = jobs.job_document(owner, [d["media_id"] for d in docs], engine=engine_name,
                                mode=mode, status=status)
    except Exception:
        _remove(db, [d["media_id"] for d in docs], new_blobs, media_root)
        raise

    def insert_job() -> None:
        try:
            jobs.insert_job(db, job)
        except Exception:
            _remove(db, [d["media_id"] for d in docs], new_blobs, media_root)
            raise
        logs.log_event(db, "info", "job.created", job_id=job["job_id"], owner=owner, mode=mode,
                       media=len(docs))

    stored = Stored(dict(job), docs, new_blobs)
    if background is None:
        insert_job()
    else:
        stored.pending = background.submit(insert_job)
    return stored


def store_media_and_queued_job(
    db: Database, staged: list[Staged], owner: str, engine_name: str, mode: str,
    media_root: Path, move: bool = True,
) -> dict[str, Any]:
    """`store_media_and_job` with the job queued and inserted before this returns; the job
    document."""
    return store_media_and_job(db, staged, owner, engine_name, mode, media_root, move=move).job


def discard(db: Database, stored: Stored, media_root: Path) -> None:
    """Remove what `store_media_and_job` recorded: the job (its nodes and results), the media
    documents and the blobs no other media document uses. For input found bad after it was
    stored."""
    jobs.delete_job(db, stored.job["job_id"])
    _remove(db, [d["media_id"] for d in stored.media], stored.new_blobs, media_root)


def _remove(db: Database, media_ids: list[str], new_blobs: list[str], media_root: Path) -> None:
    media.delete_media(db, media_ids)
    for rel in new_blobs:
        if not media.bytes_in_use(db, rel):
            (media_root / rel).unlink(missing_ok=True)
