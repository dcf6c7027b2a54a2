"""Users: salted password hashes, authentication, disabling, token versions, the admin bootstrap.

A user document holds `token_version` (bumped by a password change or by disabling the user:
every token signed with an older version is refused) and `revoked_tokens` (the `jti` and
expiry of tokens logged out, pruned once they expire). Changes read the document and replace
it guarded by `_rev`, never `$set` (nx-27017 stores a `$set` True as 1; `storage._common`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from pymongo.database import Database
from pymongo.errors import DuplicateKeyError
from werkzeug.security import check_password_hash, generate_password_hash

from storage._common import NO_ID, new_id, page_of, utcnow

_PUBLIC = {"_id": 0, "_rev": 0, "password_hash": 0}
INTERNAL_FIELDS = ("_id", "_rev", "password_hash", "token_version", "revoked_tokens")
"""Fields that never leave the API (`public_user`)."""
# Compared against when the name is unknown, so both paths cost one hash check.
_DUMMY_HASH = generate_password_hash("not-a-real-password")
_ATTEMPTS = 50


class DuplicateUser(ValueError):
    """A user with that name exists already."""


def public_user(doc: dict[str, Any]) -> dict[str, Any]:
    """The user as the API shows it: no hash, no token version, no revoked tokens."""
    return {k: v for k, v in doc.items() if k not in INTERNAL_FIELDS}


def create_user(db: Database, name: str, password: str, admin: bool = False) -> dict[str, Any]:
    """Create a user (scrypt-salted hash) and return it without the hash."""
    name = (name or "").strip()
    if not name or len(name) > 128 or ":" in name:
        raise ValueError("user name must be 1-128 characters without ':'")
    if not password:
        raise ValueError("password must not be empty")
    doc = {
        "user_id": new_id(),
        "name": name,
        "password_hash": generate_password_hash(password),
        "admin": bool(admin),
        "disabled": False,
        "token_version": 0,
        "created_at": utcnow(),
        "_rev": 0,
    }
    try:
        db.users.insert_one(doc)
    except DuplicateKeyError as exc:
        raise DuplicateUser(f"user {name!r} exists already") from exc
    return public_user(doc)


def authenticate(db: Database, name: str, password: str) -> dict[str, Any] | None:
    """The user when name and password match and the user is not disabled, else None.

    An unknown name is checked against a dummy hash, so every answer costs one hash check."""
    doc = db.users.find_one({"name": name}, NO_ID) if name else None
    if not check_password_hash(doc["password_hash"] if doc else _DUMMY_HASH, password or ""):
        return None
    if doc is None or doc.get("disabled"):
        return None
    doc.pop("password_hash", None)
    return doc


def get_user(db: Database, user_id: str) -> dict[str, Any] | None:
    """The user by id (without the hash), or None."""
    return db.users.find_one({"user_id": user_id}, _PUBLIC)


def get_user_by_name(db: Database, name: str) -> dict[str, Any] | None:
    """The user by name (without the hash), or None."""
    return db.users.find_one({"name": name}, _PUBLIC)


def list_users(db: Database, page: int = 1, per_page: int = 20
               ) -> tuple[list[dict[str, Any]], int]:
    """One page (1-based) of every user by name, as `public_user`, and the total."""
    docs, total = page_of(db.users, {}, [("name", 1)], page, per_page, _PUBLIC)
    return [public_user(d) for d in docs], total


def _change(db: Database, user_id: str,
            change: Callable[[dict[str, Any]], None]) -> dict[str, Any] | None:
    """Apply `change` to the stored user and replace it guarded by `_rev` (retried when another
    writer got there first); the user as stored without the hash, or None when unknown."""
    for _ in range(_ATTEMPTS):
        doc = db.users.find_one({"user_id": user_id})
        if doc is None:
            return None
        guard = {"_id": doc["_id"], "_rev": doc["_rev"]} if "_rev" in doc else {
            "_id": doc["_id"], "_rev": {"$exists": False}}
        change(doc)
        doc["_rev"] = doc.get("_rev", 0) + 1
        if db.users.replace_one(guard, doc).matched_count:
            return {k: v for k, v in doc.items() if k not in ("_id", "_rev", "password_hash")}
    raise RuntimeError(f"could not update user {user_id}: too many concurrent writers")


def _bump_version(doc: dict[str, Any]) -> None:
    doc["token_version"] = int(doc.get("token_version", 0)) + 1
    doc["revoked_tokens"] = []  # the version refuses them all now


def update_user(db: Database, user_id: str, *, disabled: bool | None = None,
                admin: bool | None = None) -> dict[str, Any] | None:
    """Set `disabled` and/or `admin`; disabling revokes every token of the user for good (a
    re-enabled user logs in again). The user, or None when unknown."""

    def change(doc: dict[str, Any]) -> None:
        if disabled is not None:
            if disabled and not doc.get("disabled"):
                _bump_version(doc)
            doc["disabled"] = bool(disabled)
        if admin is not None:
            doc["admin"] = bool(admin)

    return _change(db, user_id, change)


def set_password(db: Database, user_id: str, password: str) -> dict[str, Any] | None:
    """A new salted hash; every token issued before is revoked. The user, or None."""
    if not password:
        raise ValueError("password must not be empty")
    new_hash = generate_password_hash(password)

    def change(doc: dict[str, Any]) -> None:
        doc["password_hash"] = new_hash
        _bump_version(doc)

    return _change(db, user_id, change)


def revoke_token(db: Database, user_id: str, jti: str, expires_at: float,
                 keep: int = 1000) -> dict[str, Any] | None:
    """Refuse the token `jti` (valid until `expires_at`, epoch s) from now on. Expired entries
    are dropped; past `keep` entries the token version is bumped instead (all tokens go)."""

    def change(doc: dict[str, Any]) -> None:
        now = time.time()
        kept = [t for t in doc.get("revoked_tokens", []) if t["exp"] > now]
        if len(kept) >= keep:
            _bump_version(doc)
        else:
            doc["revoked_tokens"] = [*kept, {"jti": jti, "exp": float(expires_at)}]

    return _change(db, user_id, change)


def token_is_current(user: dict[str, Any], version: int, jti: str) -> bool:
    """True when a token of `version` and `jti` is still good for `user` (not disabled, not
    older than the last password change or disabling, not logged out)."""
    if user.get("disabled") or int(user.get("token_version", 0)) != version:
        return False
    return all(t.get("jti") != jti for t in user.get("revoked_tokens", []))


def ensure_admin(db: Database, name: str, password: str) -> dict[str, Any]:
    """Create the admin `name` if missing; an existing user keeps its password and is made admin."""
    try:
        return create_user(db, name, password, admin=True)
    except DuplicateUser:
        user = db.users.find_one({"name": name.strip()})
        if not user.get("admin"):
            user = _change(db, user["user_id"], lambda doc: doc.update(admin=True))
        return public_user(user)
