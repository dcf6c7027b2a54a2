"""Callbacks: each user's signing secret, and the `callback` state of jobs (claims, attempts).

A job with a `callback_url` carries `callback` = {url, state, attempts, next_attempt_at,
delivered_at, lease_until}: `pending` until a sender claims it (`sending`, leased for a while so
that a sender that died is replaced), then `delivered`, or `pending` again with a later
`next_attempt_at`, or `failed` after the last attempt.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from storage._common import NO_ID, modify, utcnow

OPEN_STATES = ("pending", "sending")
FINISHED = ("succeeded", "failed")
SECRET_BYTES = 32
_PUBLIC_FIELDS = ("url", "state", "attempts", "next_attempt_at", "delivered_at")
_indexed: set[tuple[int, str]] = set()


def _ensure_indexes(db: Database) -> None:
    """The indexes this module's queries use, once per client and database."""
    key = (id(db.client), db.name)
    if key not in _indexed:
        db.webhook_secrets.create_index("user_id", unique=True)
        db.jobs.create_index("callback.state")
        _indexed.add(key)


def get_secret(db: Database, user_id: str) -> dict[str, Any]:
    """The user's signing secret {secret, created_at}; made on first use."""
    _ensure_indexes(db)
    doc = db.webhook_secrets.find_one({"user_id": user_id}, NO_ID)
    if doc is not None:
        return doc
    doc = {"user_id": user_id, "secret": secrets.token_hex(SECRET_BYTES), "created_at": utcnow()}
    try:
        db.webhook_secrets.insert_one(dict(doc))
    except DuplicateKeyError:  # made meanwhile by another request
        return db.webhook_secrets.find_one({"user_id": user_id}, NO_ID)
    return doc


def rotate_secret(db: Database, user_id: str) -> dict[str, Any]:
    """A new signing secret for the user; the old one signs nothing from now on."""
    _ensure_indexes(db)
    doc = {"user_id": user_id, "secret": secrets.token_hex(SECRET_BYTES), "created_at": utcnow()}
    db.webhook_secrets.replace_one({"user_id": user_id}, dict(doc), upsert=True)
    return doc


def new_callback(url: str) -> dict[str, Any]:
    """The `callback` of a new job that announces its end to `url`."""
    return {"url": url, "state": "pending", "attempts": [], "next_attempt_at": None,
            "delivered_at": None, "lease_until": None}


def public_callback(job: dict[str, Any]) -> dict[str, Any] | None:
    """The job's callback as clients see it (no lease), or None."""
    callback = job.get("callback")
    if not callback:
        return None
    return {k: callback.get(k) for k in _PUBLIC_FIELDS}


def open_callbacks(db: Database, limit: int) -> list[dict[str, Any]]:
    """Jobs whose callback is not delivered nor given up yet (oldest first)."""
    _ensure_indexes(db)
    query = {"callback.state": {"$in": list(OPEN_STATES)}}
    cursor = db.jobs.find(query, {"_id": 0, "job_id": 1, "status": 1, "callback": 1,
                                  "created_at": 1}).sort("created_at", 1)
    return list(cursor.limit(limit))


def is_due(job: dict[str, Any], now: datetime) -> bool:
    """The job ended and its callback may be attempted now."""
    callback = job.get("callback") or {}
    if job.get("status") not in FINISHED:
        return False
    if callback.get("state") == "pending":
        due = callback.get("next_attempt_at")
        return due is None or due <= now
    lease = callback.get("lease_until")
    return callback.get("state") == "sending" and (lease is None or lease <= now)


def claim(db: Database, job_id: str, lease_s: float) -> dict[str, Any] | None:
    """Take the job's callback for one attempt (state `sending` for `lease_s`); the job, or None
    when it is not due (another sender has it, or it is done)."""
    claimed: list[bool] = []

    def change(job: dict[str, Any]) -> None:
        claimed.clear()
        now = utcnow()
        if is_due(job, now):
            job["callback"].update(state="sending", lease_until=now + timedelta(seconds=lease_s))
            claimed.append(True)

    job = modify(db.jobs, {"job_id": job_id}, change)
    return job if job is not None and claimed else None


def record_attempt(db: Database, job_id: str, status_code: int | None, error: str | None,
                   delivered: bool, max_attempts: int, backoff_s: float,
                   backoff_max_s: float) -> dict[str, Any] | None:
    """Append an attempt; the callback ends `delivered`, or `failed` after `max_attempts`, or
    waits `backoff_s * 2**(n-1)` (at most `backoff_max_s`) for the next. The job after it."""

    def change(job: dict[str, Any]) -> None:
        callback = job["callback"]
        now = utcnow()
        callback["attempts"] = [*callback.get("attempts", []),
                                {"at": now, "status_code": status_code, "error": error}]
        callback["lease_until"] = None
        n = len(callback["attempts"])
        if delivered:
            callback.update(state="delivered", delivered_at=now, next_attempt_at=None)
        elif n >= max_attempts:
            callback.update(state="failed", next_attempt_at=None)
        else:
            wait = min(backoff_max_s, backoff_s * 2 ** (n - 1))
            callback.update(state="pending", next_attempt_at=now + timedelta(seconds=wait))

    return modify(db.jobs, {"job_id": job_id}, change)
