"""Users: creation with salted password hashes, authentication, the admin bootstrap."""

from __future__ import annotations

from typing import Any

from pymongo.database import Database
from pymongo.errors import DuplicateKeyError
from werkzeug.security import check_password_hash, generate_password_hash

from storage._common import NO_ID, new_id, utcnow

_PUBLIC = {"_id": 0, "password_hash": 0}
# Compared against when the name is unknown, so both paths cost one hash check.
_DUMMY_HASH = generate_password_hash("not-a-real-password")


class DuplicateUser(ValueError):
    """A user with that name exists already."""


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
        "created_at": utcnow(),
    }
    try:
        db.users.insert_one(doc)
    except DuplicateKeyError as exc:
        raise DuplicateUser(f"user {name!r} exists already") from exc
    return {k: v for k, v in doc.items() if k not in ("_id", "password_hash")}


def authenticate(db: Database, name: str, password: str) -> dict[str, Any] | None:
    """The user when name and password match, else None."""
    doc = db.users.find_one({"name": name}, NO_ID) if name else None
    if not check_password_hash(doc["password_hash"] if doc else _DUMMY_HASH, password or ""):
        return None
    if doc is None:
        return None
    doc.pop("password_hash", None)
    return doc


def get_user(db: Database, user_id: str) -> dict[str, Any] | None:
    """The user by id (without the hash), or None."""
    return db.users.find_one({"user_id": user_id}, _PUBLIC)


def get_user_by_name(db: Database, name: str) -> dict[str, Any] | None:
    """The user by name (without the hash), or None."""
    return db.users.find_one({"name": name}, _PUBLIC)


def ensure_admin(db: Database, name: str, password: str) -> dict[str, Any]:
    """Create the admin `name` if missing; an existing user keeps its password and is made admin."""
    try:
        return create_user(db, name, password, admin=True)
    except DuplicateUser:  # replace, not $set: nx-27017 stores a $set True as 1
        user = db.users.find_one({"name": name.strip()})
        if not user.get("admin"):
            user["admin"] = True
            db.users.replace_one({"_id": user["_id"]}, user)
        return {k: v for k, v in user.items() if k not in ("_id", "password_hash")}
