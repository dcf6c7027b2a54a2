"""(7) A heavy user: what each upload and each history page costs when one user already has
many jobs and results (the in-flight cap's count, the newest page of results with its total).

Runs on a MongoDB of its own (a fresh nx-27017 in a temporary folder), so the figures do not
depend on how much earlier benchmark runs left behind.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pymongo.database import Database

from benchmarks.report import Report, figure

OWNER = "heavy-user"
INSERT_BATCH = 10_000


def _fill(db: Database, n: int) -> None:
    """`n` finished jobs of OWNER, each with one result, one second apart."""
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for first in range(0, n, INSERT_BATCH):
        rows = [(i, start + timedelta(seconds=i))
                for i in range(first, min(n, first + INSERT_BATCH))]
        db.jobs.insert_many([{"job_id": f"j{i}", "owner": OWNER, "status": "succeeded",
                              "media_ids": [f"m{i}"], "created_at": when} for i, when in rows])
        db.results.insert_many([{"job_id": f"j{i}", "media_id": f"m{i}", "owner": OWNER,
                                 "modality": "image", "verdict": "real", "score": 0.1,
                                 "model": {"name": "image", "version": "1"}, "created_at": when}
                                for i, when in rows])


def _ms(call: Callable[[], object], repeats: int) -> list[float]:
    call()  # warm
    out = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        out.append((time.perf_counter() - started) * 1e3)
    return out


def history(quick: bool, report: Report) -> None:
    from storage.db import ensure_indexes, get_client
    from storage.embedded import EmbeddedMongo
    from storage.jobs import count_in_flight
    from storage.results import list_results

    n, repeats = (2_000, 3) if quick else (20_000, 9)
    with tempfile.TemporaryDirectory() as folder, EmbeddedMongo(Path(folder)) as mongo:
        db = get_client(mongo.uri)["bench_history"]
        ensure_indexes(db)
        _fill(db, n)
        page, total = list_results(db, OWNER)
        if total != n or len(page) != 20 or count_in_flight(db, OWNER) != 0:
            raise RuntimeError(f"the queries do not see what was filled: {total} results of {n}, "
                               f"a page of {len(page)}")
        report.add(figure(f"in-flight cap check, {n} jobs of the user",
                          _ms(lambda: count_in_flight(db, OWNER), repeats), "<=", 50, "ms"))
        report.add(figure(f"newest page of results with total, {n} results of the user",
                          _ms(lambda: list_results(db, OWNER), repeats), "<=", 200, "ms"))
        report.details.update(jobs=n, results=n, repeats=repeats)
