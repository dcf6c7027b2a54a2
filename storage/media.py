"""Media documents: one per uploaded file, the bytes content-addressed under MEDIA_ROOT."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pymongo.database import Database

from models import MODALITIES
from storage._common import NO_ID, new_id, utcnow

REQUIRED = ("owner", "sha256", "modality", "filename", "size", "path")


def insert_media(db: Database, doc: dict[str, Any]) -> str:
    """Insert a media document and return its `media_id` (generated when absent)."""
    missing = [k for k in REQUIRED if doc.get(k) in (None, "")]
    if missing:
        raise ValueError(f"media document lacks {', '.join(missing)}")
    if doc["modality"] not in MODALITIES:
        raise ValueError(f"unknown modality {doc['modality']!r}")
    stored = {"info": {}, **doc}
    stored.setdefault("media_id", new_id())
    stored.setdefault("created_at", utcnow())
    stored.pop("_id", None)
    db.media.insert_one(stored)
    return stored["media_id"]


def get_media(db: Database, media_id: str, owner: str | None = None) -> dict[str, Any] | None:
    """The media document, or None; with `owner`, None for another owner's media."""
    query: dict[str, Any] = {"media_id": media_id}
    if owner is not None:
        query["owner"] = owner
    return db.media.find_one(query, NO_ID)


def delete_media(db: Database, media_ids: Iterable[str]) -> int:
    """Delete media documents (rolls back a request that failed half-way); returns the count."""
    ids = list(media_ids)
    if not ids:
        return 0
    return db.media.delete_many({"media_id": {"$in": ids}}).deleted_count


def bytes_in_use(db: Database, rel: str) -> bool:
    """Whether any media document still references the stored bytes at `rel` (uploads are
    stored by content, so two media may share them)."""
    return db.media.find_one({"path": rel}, {"_id": 1}) is not None
