"""Connections and indexes."""

from __future__ import annotations

import pytest
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from storage import db as storage_db


def test_get_db_uses_config_and_caches_client(db: Database, detector_env) -> None:
    assert db.name == detector_env.mongo_db
    assert storage_db.get_db().client is db.client
    storage_db.ping(db)


def test_get_db_without_uri_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MONGO_URI", raising=False)
    monkeypatch.setattr(storage_db, "_default_uri", None)
    with pytest.raises(RuntimeError, match="MONGO_URI"):
        storage_db.get_db()


def test_use_uri_is_the_fallback(mongo_uri: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MONGO_URI", raising=False)
    monkeypatch.setattr(storage_db, "_default_uri", None)
    storage_db.use_uri(mongo_uri)
    assert storage_db.get_db(name="fallback_check").command("ping")["ok"] == 1


@pytest.mark.parametrize(
    ("collection", "doc"),
    [
        ("users", {"name": "x", "user_id": "u1"}),
        ("media", {"media_id": "m1"}),
        ("jobs", {"job_id": "j1"}),
        ("results", {"job_id": "j1", "media_id": "m1"}),
    ],
)
def test_unique_indexes(db: Database, collection: str, doc: dict) -> None:
    db[collection].insert_one(dict(doc))
    with pytest.raises(DuplicateKeyError):
        db[collection].insert_one(dict(doc))


def test_ensure_indexes_is_idempotent(db: Database) -> None:
    before = sum(1 for _ in db.results.list_indexes())
    storage_db.ensure_indexes(db)
    assert sum(1 for _ in db.results.list_indexes()) == before
