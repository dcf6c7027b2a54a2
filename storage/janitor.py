"""Removes what an upload cut short by a database outage or a crash left behind.

An upload stores its bytes, then its media documents, then its job, and undoes all of it when a
step fails; when MongoDB is gone at that moment the undo cannot run either. What remains is
found here once the database answers again: media documents no job names, and blobs under
MEDIA_ROOT (`<sha[:2]>/<sha>`, or an interrupted `.part`) no media document names, each older
than ORPHAN_GRACE_S (uploads in progress are younger). `detector serve` sweeps on start.
"""

from __future__ import annotations

import re
import time
from datetime import timedelta
from pathlib import Path

from pymongo.database import Database

from storage._common import utcnow

_SHARD = re.compile(r"^[0-9a-f]{2}$")
_BLOB = re.compile(r"^(\.)?[0-9a-f]{64}(\.[0-9a-f]{32}\.part)?$")


def sweep(db: Database, media_root: Path, grace_s: float) -> dict[str, int]:
    """Delete unreferenced media documents, then unreferenced blobs, older than `grace_s`;
    the counts removed."""
    cutoff = utcnow() - timedelta(seconds=grace_s)
    named = set()
    for job in db.jobs.find({}, {"_id": 0, "media_ids": 1}):
        named.update(job.get("media_ids") or [])
    stale = [d["media_id"] for d in db.media.find({"created_at": {"$lt": cutoff}},
                                                   {"_id": 0, "media_id": 1})
             if d["media_id"] not in named]
    removed_docs = db.media.delete_many({"media_id": {"$in": stale}}).deleted_count if stale else 0
    used = {d["path"] for d in db.media.find({}, {"_id": 0, "path": 1})}
    removed_files = 0
    oldest = time.time() - grace_s
    for shard in (p for p in media_root.iterdir() if p.is_dir() and _SHARD.match(p.name)) \
            if media_root.is_dir() else ():
        for blob in shard.iterdir():
            if not _BLOB.match(blob.name) or f"{shard.name}/{blob.name}" in used:
                continue
            if blob.stat().st_mtime <= oldest:
                blob.unlink(missing_ok=True)
                removed_files += 1
    return {"media": removed_docs, "files": removed_files}
