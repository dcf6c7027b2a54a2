"""Results (idempotent upsert, pagination newest first, isolation) and the event log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pymongo.database import Database

from storage import jobs, logs, media, results

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _result(job_id: str, media_id: str, **extra) -> dict:
    return {
        "job_id": job_id,
        "media_id": media_id,
        "score": 0.9,
        "verdict": "synthetic",
        "model": {"name": "detector-image", "version": "1"},
        "explanation": {"patches": []},
        "modality": "image",
        **extra,
    }


def _add_media(db: Database, owner: str, name: str = "a.png") -> str:
    return media.insert_media(
        db,
        {"owner": owner, "sha256": "cd" * 32, "modality": "image", "filename": name,
         "size": 5, "path": "cd/" + "cd" * 32},
    )


def test_upsert_fills_from_media_and_never_duplicates(db: Database) -> None:
    media_id = _add_media(db, "alice")
    first = results.upsert_result(db, _result("j1", media_id))
    assert first["owner"] == "alice" and first["sha256"] == "cd" * 32
    assert first["modality"] == "image" and first["filename"] == "a.png" and "_id" not in first
    again = results.upsert_result(db, _result("j1", media_id, score=0.2, verdict="authentic"))
    assert again["score"] == 0.2 and again["created_at"] == first["created_at"]
    assert db.results.count_documents({}) == 1


def test_results_for_job_in_media_order(db: Database) -> None:
    ids = [_add_media(db, "alice", f"{i}.png") for i in range(3)]
    job = jobs.create_job(db, "alice", ids, engine="local", mode="sync")
    for media_id in reversed(ids):
        results.upsert_result(db, _result(job["job_id"], media_id))
    assert [r["media_id"] for r in results.results_for_job(db, job["job_id"])] == ids
    assert results.results_for_job(db, "other") == []


def test_list_results_pages_newest_first_and_isolated(db: Database) -> None:
    for i in range(7):
        results.upsert_result(
            db, _result("j", f"m{i}", owner="alice", created_at=T0 + timedelta(minutes=i))
        )
    results.upsert_result(db, _result("j", "bobs", owner="bob", created_at=T0))
    page1, total = results.list_results(db, "alice", page=1, per_page=3)
    page3, _ = results.list_results(db, "alice", page=3, per_page=3)
    assert total == 7
    assert [r["media_id"] for r in page1] == ["m6", "m5", "m4"]
    assert [r["media_id"] for r in page3] == ["m0"]
    assert results.list_results(db, "alice", page=4, per_page=3) == ([], 7)
    assert results.list_results(db, "bob", 1, 10)[1] == 1


def test_latest_result_per_owner(db: Database) -> None:
    results.upsert_result(db, _result("j1", "m", owner="alice", score=0.1, created_at=T0))
    later = T0 + timedelta(hours=1)
    results.upsert_result(db, _result("j2", "m", owner="alice", score=0.7, created_at=later))
    assert results.latest_result(db, "m", "alice")["score"] == 0.7
    assert results.latest_result(db, "m", "bob") is None


def test_latest_by_media_picks_each_media_newest_result(db: Database) -> None:
    results.upsert_result(db, _result("j1", "a", owner="u", created_at=T0))
    results.upsert_result(db, _result("j2", "a", owner="u", created_at=T0 + timedelta(hours=1),
                                      model={"name": "detector-image", "version": "2"}))
    results.upsert_result(db, _result("j1", "b", owner="u", created_at=T0))
    latest = results.latest_by_media(db, "image")
    assert {m: r["model"]["version"] for m, r in latest.items()} == {"a": "2", "b": "1"}
    assert set(results.latest_by_media(db, "image", ["b"])) == {"b"}
    assert results.latest_by_media(db, "text") == {}


def test_log_event(db: Database) -> None:
    logs.log_event(db, "info", "job.submitted", job_id="j1")
    logs.log_event(db, "error", "job.failed", job_id="j1", error="boom")
    events = logs.recent_events(db)
    assert [e["event"] for e in events] == ["job.failed", "job.submitted"]
    assert events[0]["created_at"].tzinfo is not None and "_id" not in events[0]
