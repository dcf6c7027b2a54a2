"""Event log: structured events kept in MongoDB (logging must never break a request)."""

from __future__ import annotations

import logging
from typing import Any

from pymongo.database import Database
from pymongo.errors import PyMongoError

from storage._common import NO_ID, utcnow

LEVELS = ("debug", "info", "warning", "error")
_log = logging.getLogger(__name__)


def log_event(db: Database, level: str, event: str, **fields: Any) -> None:
    """Store one event `{level, event, created_at, **fields}`; a database error is only logged."""
    if level not in LEVELS:
        raise ValueError(f"unknown level {level!r}")
    doc = {**fields, "level": level, "event": event, "created_at": utcnow()}
    try:
        db.logs.insert_one(doc)
    except PyMongoError as exc:
        _log.warning("could not store event %s: %s", event, exc)


def recent_events(db: Database, limit: int = 100) -> list[dict[str, Any]]:
    """The newest events first."""
    return list(db.logs.find({}, NO_ID).sort("created_at", -1).limit(limit))
