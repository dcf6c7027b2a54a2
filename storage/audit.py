"""Audit trail: who did what from where (logins, uploads, deletions, promotions, admin acts)."""

from __future__ import annotations

from typing import Any

from pymongo.database import Database

from storage import logs
from storage._common import NO_ID

ACTIONS = (
    "auth.login", "auth.login_failed", "auth.login_throttled", "auth.logout",
    "auth.password_changed", "auth.password_change_failed",
    "user.created", "user.updated",
    "detection.created", "media.deleted", "result.deleted", "model.promoted", "rescan.started",
    "admin.action",
)
"""The actions recorded so far; others may be added (a name is `area.verb`)."""


def record(db: Database, action: str, *, user_id: str | None = None,
           address: str | None = None, level: str = "info", **details: Any) -> None:
    """Store one audit event in the logs collection: `{audit: True, event: action, user_id,
    address, level, created_at, **details}`; like every log write it never fails the caller."""
    logs.log_event(db, level, action, audit=True, user_id=user_id, address=address, **details)


def record_workflow_audit(action: str, **details: Any) -> None:
    """An audit event for an act of a workflow step (no user, address "cli") in the configured
    MongoDB; nothing when none is configured (a step run without a database)."""
    from storage.db import get_db

    try:
        db = get_db()
    except RuntimeError:
        return
    record(db, action, user_id=None, address="cli", **details)


def events(db: Database, action: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
    """The newest audit events first, all or of one action."""
    query: dict[str, Any] = {"audit": True}
    if action is not None:
        query["event"] = action
    newest = [("created_at", -1), ("_id", -1)]  # _id: in order within one millisecond
    return list(db.logs.find(query, NO_ID).sort(newest).limit(limit))
