"""Rate-limit counters in MongoDB: windows, expiry, replicas sharing them, `limits` on top."""

from __future__ import annotations

import time

from limits import parse
from limits.strategies import FixedWindowRateLimiter
from pymongo.database import Database

from storage.ratelimits import COLLECTION, MongoCounterStorage


def test_counter_window(db: Database) -> None:
    store = MongoCounterStorage(database=lambda: db)
    assert store.get("k") == 0 and store.check()
    assert [store.incr("k", 60) for _ in range(3)] == [1, 2, 3]
    assert store.get("k") == 3
    assert time.time() + 55 < store.get_expiry("k") <= time.time() + 60
    store.clear("k")
    assert store.get("k") == 0


def test_an_expired_window_starts_again(db: Database) -> None:
    store = MongoCounterStorage(database=lambda: db)
    store.incr("k", 60, amount=5)
    db[COLLECTION].update_one({"_id": "k"}, {"$set": {"expire_at": time.time() - 1}})
    assert store.get("k") == 0
    assert store.incr("k", 60) == 1


def test_two_replicas_share_counters(db: Database) -> None:
    limit = parse("3/minute")
    first = FixedWindowRateLimiter(MongoCounterStorage(database=lambda: db))
    second = FixedWindowRateLimiter(MongoCounterStorage(database=lambda: db))
    assert [first.hit(limit, "alice"), second.hit(limit, "alice"), first.hit(limit, "alice")] \
        == [True, True, True]
    assert not second.hit(limit, "alice") and not first.test(limit, "alice")
    assert second.hit(limit, "bob")
    assert MongoCounterStorage(database=lambda: db).reset() == 2
