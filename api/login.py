"""Password checks: a cap on concurrent hashing, one answer for every failure, each audited."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask, current_app, g
from werkzeug.exceptions import ServiceUnavailable

from api.address import client_address
from api.context import db, settings
from storage import audit, users

RETRY_AFTER_BUSY_S = 1


def register_login(app: Flask) -> None:
    """LOGIN_HASH_CONCURRENCY slots for password hashing (each scrypt holds 32 MiB)."""
    app.extensions["login_hashing"] = threading.BoundedSemaphore(
        app.config["DETECTOR"].auth.login_hash_concurrency)


@contextmanager
def hashing_slot() -> Iterator[None]:
    """Hold one hashing slot; 503 with Retry-After when none frees within LOGIN_HASH_WAIT_S."""
    slots: threading.BoundedSemaphore = current_app.extensions["login_hashing"]
    if not slots.acquire(timeout=max(0.0, settings().auth.login_hash_wait_s)):
        raise ServiceUnavailable("too many password checks in progress; retry shortly",
                                 retry_after=RETRY_AFTER_BUSY_S)
    try:
        yield
    finally:
        slots.release()


def check_password(name: str, password: str, action: str = "auth.login",
                   audit_success: bool = True) -> dict[str, Any] | None:
    """The user for `name` and `password`, or None for every kind of failure alike (unknown
    name, wrong password, disabled user; each costs one hash). Audits `action` (unless
    `audit_success` is False) or `action`_failed, and marks a failure for the LOGIN_FAILURES_*
    limits (`api.ratelimit`)."""
    with hashing_slot():
        user = users.authenticate(db(), name, password) if name and password else None
    if user is None:
        g.password_check_failed = True
        audit.record(db(), f"{action}_failed", address=client_address(), level="warning",
                     name=(name or "")[:128])
    elif audit_success:
        audit.record(db(), action, user_id=user["user_id"], address=client_address())
    return user
