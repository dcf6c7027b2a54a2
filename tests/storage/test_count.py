"""storage._common.count: the `count` command agrees with pymongo's `count_documents`."""

from datetime import UTC, datetime, timedelta

from pymongo.database import Database

from storage._common import count
from storage.jobs import IN_FLIGHT, count_in_flight
from storage.results import count_for_jobs


def test_count_agrees_with_count_documents(db: Database) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    db.jobs.insert_many([{"job_id": f"j{i}", "owner": f"u{i % 3}",
                          "status": ("queued", "running", "succeeded", "failed")[i % 4],
                          "nested": {"n": i}, "created_at": start + timedelta(hours=i)}
                         for i in range(40)])
    queries = [{}, {"owner": "u1"}, {"owner": "u1", "status": {"$in": list(IN_FLIGHT)}},
               {"nested.n": {"$gte": 10, "$lt": 25}}, {"missing": {"$exists": True}},
               {"owner": "nobody"},
               {"owner": "u2", "created_at": {"$gte": start + timedelta(hours=5),
                                              "$lt": start + timedelta(hours=30)}}]
    for query in queries:
        assert count(db.jobs, query) == db.jobs.count_documents(query), query
    assert count(db.jobs, queries[-1]) == 9  # u2 is every third job; hours 5 to 29
    assert count(db.empty_collection, {}) == 0


def test_in_flight_and_job_counts(db: Database) -> None:
    db.jobs.insert_many([{"job_id": "a", "owner": "u", "status": "queued"},
                         {"job_id": "b", "owner": "u", "status": "running"},
                         {"job_id": "c", "owner": "u", "status": "succeeded"},
                         {"job_id": "d", "owner": "v", "status": "running"}])
    assert count_in_flight(db, "u") == 2 and count_in_flight(db, "w") == 0
    db.results.insert_many([{"job_id": j, "media_id": m} for j, m in
                            (("a", "1"), ("a", "2"), ("b", "3"), ("c", "4"))])
    assert count_for_jobs(db, ["a", "b"]) == 3 and count_for_jobs(db, []) == 0
