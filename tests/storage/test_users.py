"""Users: hashes, duplicates, authentication, admin bootstrap."""

from __future__ import annotations

import time

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


def test_disabled_user_cannot_authenticate(db: Database) -> None:
    user = users.create_user(db, "alice", "s3cret")
    assert users.token_is_current(users.get_user(db, user["user_id"]), 0, "j1")
    off = users.update_user(db, user["user_id"], disabled=True)
    assert off["disabled"] is True and off["token_version"] == 1
    assert users.authenticate(db, "alice", "s3cret") is None
    assert not users.token_is_current(users.get_user(db, user["user_id"]), 1, "j1")
    on = users.update_user(db, user["user_id"], disabled=False)
    assert on["token_version"] == 1  # old tokens stay revoked
    assert users.authenticate(db, "alice", "s3cret") is not None
    assert users.update_user(db, "0" * 32, disabled=True) is None


def test_set_password_revokes_tokens(db: Database) -> None:
    user = users.create_user(db, "alice", "old-password")
    changed = users.set_password(db, user["user_id"], "new-password")
    assert changed["token_version"] == 1 and "password_hash" not in changed
    assert users.authenticate(db, "alice", "old-password") is None
    assert users.authenticate(db, "alice", "new-password") is not None


def test_revoke_token_prunes_and_caps(db: Database) -> None:
    user = users.create_user(db, "alice", "pw")
    uid = user["user_id"]
    users.revoke_token(db, uid, "gone", time.time() - 1, keep=2)  # already expired
    users.revoke_token(db, uid, "a", time.time() + 60, keep=2)
    doc = users.get_user(db, uid)
    assert [t["jti"] for t in doc["revoked_tokens"]] == ["a"]  # the expired one pruned
    assert not users.token_is_current(doc, 0, "a") and users.token_is_current(doc, 0, "b")
    users.revoke_token(db, uid, "b", time.time() + 60, keep=2)
    users.revoke_token(db, uid, "c", time.time() + 60, keep=2)  # over the cap: all go
    doc = users.get_user(db, uid)
    assert doc["token_version"] == 1 and doc["revoked_tokens"] == []


def test_updates_of_a_user_without_revision(db: Database) -> None:
    """Users stored before `_rev` existed are updated all the same."""
    db.users.insert_one({"user_id": "u1", "name": "old", "admin": False,
                         "password_hash": users.generate_password_hash("pw")})
    assert users.update_user(db, "u1", admin=True)["admin"] is True
    assert db.users.find_one({"user_id": "u1"})["admin"] is True


def test_list_users_pages(db: Database) -> None:
    for name in ("c", "a", "b"):
        users.create_user(db, name, "pw")
    items, total = users.list_users(db, page=2, per_page=2)
    assert total == 3 and [u["name"] for u in items] == ["c"]
    assert all("password_hash" not in u and "token_version" not in u for u in items)
