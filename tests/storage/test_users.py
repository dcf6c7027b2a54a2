"""Users: hashes, duplicates, authentication, admin bootstrap."""

from __future__ import annotations

import pytest
from pymongo.database import Database

from storage import users


def test_create_and_authenticate(db: Database) -> None:
    user = users.create_user(db, "alice", "s3cret")
    assert len(user["user_id"]) == 32 and user["admin"] is False
    assert "password_hash" not in user and "_id" not in user
    stored = db.users.find_one({"name": "alice"})
    assert stored["password_hash"] != "s3cret" and stored["password_hash"].startswith("scrypt:")
    assert users.authenticate(db, "alice", "s3cret")["user_id"] == user["user_id"]
    assert users.authenticate(db, "alice", "wrong") is None
    assert users.authenticate(db, "nobody", "s3cret") is None
    got = users.get_user(db, user["user_id"])
    assert got["name"] == "alice" and "password_hash" not in got and "_id" not in got


def test_same_password_gets_different_salts(db: Database) -> None:
    users.create_user(db, "a", "same")
    users.create_user(db, "b", "same")
    hashes = {d["password_hash"] for d in db.users.find()}
    assert len(hashes) == 2


def test_duplicate_user(db: Database) -> None:
    users.create_user(db, "bob", "pw")
    with pytest.raises(users.DuplicateUser):
        users.create_user(db, "bob", "other")


@pytest.mark.parametrize(("name", "password"), [("", "pw"), ("a:b", "pw"), ("carol", "")])
def test_bad_user_input(db: Database, name: str, password: str) -> None:
    with pytest.raises(ValueError):
        users.create_user(db, name, password)


def test_ensure_admin(db: Database) -> None:
    admin = users.ensure_admin(db, "root", "pw1")
    assert admin["admin"] is True
    again = users.ensure_admin(db, "root", "pw2")
    assert again["user_id"] == admin["user_id"]
    assert users.authenticate(db, "root", "pw1") is not None
    assert db.users.count_documents({}) == 1
    users.create_user(db, "dave", "pw")
    assert users.ensure_admin(db, "dave", "other")["admin"] is True
    assert users.get_user(db, users.authenticate(db, "dave", "pw")["user_id"])["admin"] is True
