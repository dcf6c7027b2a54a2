"""Result history on the real embedded MongoDB: one result per media and model version (a
unique index), kept across rescores, newest first, and removed with the media."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from storage import media, results

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def _media(db: Database, owner: str = "alice") -> str:
    return media.insert_media(db, {"owner": owner, "sha256": "ef" * 32, "modality": "image",
                                   "filename": "a.png", "size": 5, "path": "ef/x"})


def _doc(job: str, media_id: str, version: str, verdict: str = "synthetic", minutes: int = 0):
    return {"job_id": job, "media_id": media_id, "score": 0.9, "verdict": verdict,
            "model": {"name": "detector-image", "version": version},
            "created_at": T0 + timedelta(minutes=minutes)}


def test_a_retried_persist_leaves_one_result_per_media_and_version(db: Database) -> None:
    media_id = _media(db)
    first = results.upsert_result(db, _doc("upload", media_id, "1"))
    for _ in range(3):  # the batch retried, and a second rescan job scoring it again
        results.upsert_result(db, {**_doc("rescan-a", media_id, "2", minutes=5)})
    again = results.upsert_result(db, {**_doc("rescan-b", media_id, "2", "authentic", 5)})
    assert db.results.count_documents({"media_id": media_id}) == 2
    assert again["job_id"] == "rescan-a" and again["verdict"] == "authentic"
    assert first["job_id"] == "upload"


def test_the_unique_index_refuses_a_second_result_for_one_version(db: Database) -> None:
    media_id = _media(db)
    results.upsert_result(db, _doc("j1", media_id, "1"))
    with pytest.raises(DuplicateKeyError):
        db.results.insert_one({"job_id": "j9", "media_id": media_id,
                               "model": {"name": "detector-image", "version": "1"}})


def test_history_is_newest_first_and_the_newest_is_current(db: Database) -> None:
    media_id = _media(db)
    results.upsert_result(db, _doc("j1", media_id, "1"))
    results.upsert_result(db, _doc("j2", media_id, "2", minutes=10))
    results.upsert_result(db, _doc("j3", media_id, "3", minutes=20))
    history = results.result_history(db, media_id, "alice")
    assert [r["model"]["version"] for r in history] == ["3", "2", "1"]
    assert results.latest_result(db, media_id, "alice")["job_id"] == "j3"
    assert results.result_history(db, media_id, "bob") == []


def test_delete_for_media_removes_every_version(db: Database) -> None:
    keep, gone = _media(db), _media(db)
    for media_id in (keep, gone):
        results.upsert_result(db, _doc("j1", media_id, "1"))
        results.upsert_result(db, _doc("j2", media_id, "2", minutes=1))
    assert len(results.delete_for_media(db, gone)) == 2
    assert db.results.count_documents({"media_id": gone}) == 0
    assert db.results.count_documents({"media_id": keep}) == 2
