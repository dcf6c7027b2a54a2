"""Rate-limit counters in MongoDB: a `limits` storage (fixed windows) that nx-27017 can run.

`limits`' own MongoDB storage updates with aggregation pipelines and `$not`, which nx-27017 does
not implement; this one uses a guarded `$inc`, a guarded replace and an insert only, and keeps
times as epoch seconds (nx-27017 would store a datetime from an update as a string). Counters
live in the `rate_limits` collection of the app's database, so every api replica shares them;
MongoDB's TTL index on `expires` removes old windows (`storage.db.ensure_indexes`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from limits.storage import Storage
from pymongo import ReturnDocument
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError, PyMongoError

COLLECTION = "rate_limits"
SCHEME = "detector-mongodb"
_ATTEMPTS = 20


class MongoCounterStorage(Storage):
    """`limits` storage `detector-mongodb://`; option `database`: a callable giving the DB."""

    STORAGE_SCHEME = [SCHEME]

    def __init__(self, uri: str = f"{SCHEME}://", wrap_exceptions: bool = False,
                 database: Callable[[], Database] | None = None, **options: Any) -> None:
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        if database is None:
            raise ValueError("MongoCounterStorage needs database=<callable returning a Database>")
        self._database = database

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return PyMongoError

    @property
    def _counters(self) -> Any:
        return self._database()[COLLECTION]

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        """Add `amount` to the counter of the current window; a new window lasts `expiry` s."""
        for _ in range(_ATTEMPTS):
            now = time.time()
            doc = self._counters.find_one_and_update(
                {"_id": key, "expire_at": {"$gt": now}}, {"$inc": {"count": amount}},
                return_document=ReturnDocument.AFTER)
            if doc is not None:
                return int(doc["count"])
            fresh = {"count": amount, "expire_at": now + expiry,  # `expires`: the TTL index's
                     "expires": datetime.fromtimestamp(now + expiry, UTC)}
            if self._counters.replace_one({"_id": key, "expire_at": {"$lte": now}},
                                          fresh).matched_count:
                return amount
            try:
                self._counters.insert_one({"_id": key, **fresh})
                return amount
            except DuplicateKeyError:
                continue  # another replica opened the window first: count in it
        raise RuntimeError(f"rate-limit counter {key!r}: too many concurrent writers")

    def get(self, key: str) -> int:
        """The count of the current window (0 when none is open)."""
        doc = self._counters.find_one({"_id": key, "expire_at": {"$gt": time.time()}})
        return int(doc["count"]) if doc else 0

    def get_expiry(self, key: str) -> float:
        """When the current window ends (epoch seconds; now when none is open)."""
        doc = self._counters.find_one({"_id": key})
        return float(doc["expire_at"]) if doc else time.time()

    def check(self) -> bool:
        """True when MongoDB answers."""
        try:
            self._database().command("ping")
            return True
        except PyMongoError:
            return False

    def reset(self) -> int | None:
        """Forget every counter."""
        return self._counters.delete_many({}).deleted_count

    def clear(self, key: str) -> None:
        """Forget one counter."""
        self._counters.delete_one({"_id": key})
