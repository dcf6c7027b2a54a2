"""Deleting media for good: the media document, its results, their evidence files and, when no other
media references the same bytes, the bytes on the volume; and the retention purge."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from pymongo.database import Database

from storage.evidence import EVIDENCE_KEYS
from storage.media import bytes_in_use, delete_media, get_media
from storage.paths import stored_file
from storage.results import delete_for_media


def _remove(root: Path, rel: str | None) -> bool:
    """Remove MEDIA_ROOT/`rel` if it is a file inside the root; whether it was removed."""
    path = stored_file(root, rel)
    if path is None:
        return False
    path.unlink(missing_ok=True)
    return True


def delete_media_fully(db: Database, media_root: Path, media_id: str,
                       owner: str | None = None) -> dict[str, Any] | None:
    """Delete one media (with `owner`: only that owner's) and everything made from it; what was
    removed {media_id, results, heatmaps, evidence (peak frames and waveforms), bytes_removed},
    or None when there is no such media."""
    media = get_media(db, media_id, owner)
    if media is None:
        return None
    results = delete_for_media(db, media_id)
    heatmaps = sum(_remove(media_root, (r.get("explanation") or {}).get("heatmap"))
                   for r in results)
    evidence = sum(_remove(media_root, (r.get("explanation") or {}).get(key))
                   for r in results for key in EVIDENCE_KEYS)
    delete_media(db, [media_id])
    shared = bytes_in_use(db, media["path"])
    removed = False if shared else _remove(media_root, media["path"])
    return {"media_id": media_id, "results": len(results), "heatmaps": heatmaps,
            "evidence": evidence, "bytes_removed": removed, "bytes_shared": shared}


def expired_media(db: Database, cutoff: datetime, limit: int) -> list[str]:
    """Ids of media uploaded before `cutoff`, oldest first."""
    docs = db.media.find({"created_at": {"$lt": cutoff}}, {"_id": 0, "media_id": 1}
                         ).sort("created_at", 1).limit(limit)
    return [d["media_id"] for d in docs]


def purge_expired(db: Database, media_root: Path, retention_days: float, now: datetime,
                  limit: int = 500) -> list[str]:
    """Delete media older than `retention_days` at `now` (at most `limit` a call), with their
    results, heatmaps and unshared bytes; the deleted ids (logged as `media.deleted`)."""
    from storage import audit

    gone = []
    for media_id in expired_media(db, now - timedelta(days=retention_days), limit):
        if delete_media_fully(db, media_root, media_id) is not None:
            gone.append(media_id)
    if gone:
        audit.record(db, "media.deleted", user_id="system", address="scheduler", reason="retention",
                  media_ids=gone, retention_days=retention_days)
    return gone
