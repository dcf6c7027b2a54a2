"""Connections and indexes: a cached MongoClient per URI and the collections' indexes."""

from __future__ import annotations

import os
import threading

from pymongo import ASCENDING, DESCENDING, MongoClient
from pymongo.database import Database

from config import get_config

_lock = threading.Lock()
_clients: dict[tuple[int, str], MongoClient] = {}
_indexed: set[tuple[str, str]] = set()
_default_uri: str | None = None

SERVER_SELECTION_TIMEOUT_MS = 5000


def use_uri(uri: str | None) -> None:
    """Make `uri` the default when MONGO_URI is unset (the CLI calls this after it starts
    the embedded server); `None` forgets it."""
    global _default_uri
    _default_uri = uri


def get_client(uri: str) -> MongoClient:
    """One MongoClient per URI and process (clients are not fork-safe), UTC-aware datetimes."""
    key = (os.getpid(), uri)
    with _lock:
        client = _clients.get(key)
        if client is None:
            client = MongoClient(
                uri, tz_aware=True, serverSelectionTimeoutMS=SERVER_SELECTION_TIMEOUT_MS
            )
            _clients[key] = client
        return client


def get_db(uri: str | None = None, name: str | None = None) -> Database:
    """The detector's database; defaults from `config` (MONGO_URI, MONGO_DB).

    Raises RuntimeError when no URI is configured and no embedded server was started.
    Indexes are ensured once per (uri, database) and process.
    """
    if not uri or not name:  # reading the configuration costs ~1 ms: only when needed
        cfg = get_config()
        uri = uri or cfg.mongo_uri or _default_uri
        name = name or cfg.mongo_db
    if not uri:
        raise RuntimeError(
            "no MongoDB: set MONGO_URI, or start storage.embedded.EmbeddedMongo and pass its "
            "uri to storage.db.use_uri()"
        )
    db = get_client(uri)[name]
    key = (uri, db.name)
    if key not in _indexed:
        ensure_indexes(db)
        with _lock:
            _indexed.add(key)
    return db


def ensure_indexes(db: Database) -> None:
    """Create every index the queries rely on (idempotent). Never depend on index names."""
    db.users.create_index([("name", ASCENDING)], unique=True)
    db.users.create_index([("user_id", ASCENDING)], unique=True)
    db.media.create_index([("media_id", ASCENDING)], unique=True)
    db.media.create_index([("owner", ASCENDING), ("created_at", DESCENDING)])
    db.jobs.create_index([("job_id", ASCENDING)], unique=True)
    db.jobs.create_index([("owner", ASCENDING)])
    db.jobs.create_index([("owner", ASCENDING), ("status", ASCENDING)])  # the in-flight cap
    db.job_nodes.create_index([("job_id", ASCENDING), ("node", ASCENDING)], unique=True)
    db.job_nodes.create_index([("job_id", ASCENDING)])
    db.results.create_index([("job_id", ASCENDING), ("media_id", ASCENDING)], unique=True)
    # nx-27017 does not use the compound index above for `job_id` alone (results_for_job, on every
    # sync answer): without this one that query scans and grows with the collection.
    db.results.create_index([("job_id", ASCENDING)])
    # one result per media and model version: a retried persist or a second rescan adds none
    db.results.create_index([("media_id", ASCENDING), ("model.name", ASCENDING),
                             ("model.version", ASCENDING)], unique=True)
    db.results.create_index([("owner", ASCENDING), ("created_at", DESCENDING)])
    db.results.create_index([("media_id", ASCENDING)])
    db.logs.create_index([("created_at", ASCENDING)])
    db.logs.create_index([("audit", ASCENDING), ("created_at", DESCENDING)])
    db.rate_limits.create_index([("expires", ASCENDING)], expireAfterSeconds=0)


def ping(db: Database) -> None:
    """Raise a pymongo error unless the server answers `ping`."""
    db.command("ping")


def close_all() -> None:
    """Close every cached client (tests, shutdown)."""
    with _lock:
        for client in _clients.values():
            client.close()
        _clients.clear()
        _indexed.clear()
