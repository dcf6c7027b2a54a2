"""Media and job documents, owner isolation."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from pymongo.database import Database

from storage import jobs, media


def _media(owner: str, **extra) -> dict:
    return {
        "owner": owner,
        "sha256": "ab" * 32,
        "modality": "image",
        "filename": "a.png",
        "size": 10,
        "path": "ab/" + "ab" * 32,
        "info": {"width": 64, "height": 64},
        **extra,
    }


def test_insert_and_get_media_with_owner_isolation(db: Database) -> None:
    media_id = media.insert_media(db, _media("alice"))
    assert len(media_id) == 32
    doc = media.get_media(db, media_id)
    assert doc["owner"] == "alice" and "_id" not in doc
    assert doc["created_at"].tzinfo is not None and doc["created_at"].utcoffset() == UTC.utcoffset(
        None
    )
    assert media.get_media(db, media_id, owner="alice")["media_id"] == media_id
    assert media.get_media(db, media_id, owner="bob") is None
    assert media.get_media(db, "nope") is None


@pytest.mark.parametrize("bad", [{"owner": None}, {"modality": "pdf"}, {"path": ""}])
def test_insert_media_validates(db: Database, bad: dict) -> None:
    with pytest.raises(ValueError):
        media.insert_media(db, {**_media("alice"), **bad})


def test_delete_media(db: Database) -> None:
    ids = [media.insert_media(db, _media("alice")) for _ in range(2)]
    assert media.delete_media(db, ids) == 2
    assert media.delete_media(db, []) == 0
    assert db.media.count_documents({}) == 0


def test_job_lifecycle_and_isolation(db: Database) -> None:
    job = jobs.create_job(db, "alice", ["m1", "m2"], engine="local", mode="sync")
    assert job["status"] == "queued" and job["nodes"] == {} and "_id" not in job
    assert jobs.get_job(db, job["job_id"], owner="alice")["media_ids"] == ["m1", "m2"]
    assert jobs.get_job(db, job["job_id"], owner="bob") is None

    updated = jobs.update_job(db, job["job_id"], status="running", argo_name="detect-x")
    assert updated["status"] == "running" and updated["argo_name"] == "detect-x"
    assert updated["updated_at"] >= job["updated_at"]

    jobs.set_node(db, job["job_id"], "infer-m1", status="running", attempts=1)
    jobs.set_node(db, job["job_id"], "infer-m1", status="failed", error="boom")
    jobs.set_node(db, job["job_id"], "preprocess-m1", status="succeeded")
    nodes = jobs.get_job(db, job["job_id"])["nodes"]
    assert nodes["infer-m1"] == {"status": "failed", "attempts": 1, "error": "boom"}
    assert nodes["preprocess-m1"] == {"status": "succeeded"}


@pytest.mark.parametrize(
    ("call", "kwargs"),
    [
        (jobs.update_job, {"status": "done"}),
        (jobs.update_job, {"owner": "mallory"}),
        (jobs.set_node, {"node": "a.b", "status": "running"}),
        (jobs.set_node, {"node": "infer", "colour": "red"}),
    ],
)
def test_job_updates_validate(db: Database, call, kwargs: dict) -> None:
    job = jobs.create_job(db, "alice", ["m1"], engine="local", mode="async")
    with pytest.raises(ValueError):
        call(db, job["job_id"], **kwargs)


def test_node_times_stay_datetimes(db: Database) -> None:
    job = jobs.create_job(db, "alice", ["m1"], engine="local", mode="sync")
    started = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    jobs.set_node(db, job["job_id"], "infer-m1", started_at=started)
    jobs.update_job(db, job["job_id"], status="running", started_at=started)
    stored = jobs.get_job(db, job["job_id"])
    assert stored["nodes"]["infer-m1"]["started_at"] == started
    assert stored["started_at"] == started and isinstance(stored["updated_at"], datetime)


def test_concurrent_node_updates_are_not_lost(db: Database) -> None:
    job = jobs.create_job(db, "alice", ["m1"], engine="local", mode="async")

    def work(i: int) -> None:
        for attempt in range(3):
            jobs.set_node(db, job["job_id"], f"node-{i}", attempts=attempt + 1)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    nodes = jobs.get_job(db, job["job_id"])["nodes"]
    assert {k: v["attempts"] for k, v in nodes.items()} == {f"node-{i}": 3 for i in range(4)}


def test_a_large_fan_out_writes_every_node(db: Database) -> None:
    """Many nodes of one job written at once (a 200-media job) all land, none conflicts."""
    job = jobs.create_job(db, "alice", [f"m{i}" for i in range(200)], engine="local", mode="async")

    def work(part: int) -> None:
        for i in range(part, 600, 8):  # 200 media x 3 steps
            jobs.set_node(db, job["job_id"], f"detect-one({i // 3})/step{i % 3}",
                          status="succeeded", attempts=1)

    threads = [threading.Thread(target=work, args=(p,)) for p in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    nodes = jobs.get_job(db, job["job_id"])["nodes"]
    assert len(nodes) == 600 and all(n["status"] == "succeeded" for n in nodes.values())


def test_job_created_running_and_finished_with_one_replace(db: Database) -> None:
    job = jobs.create_job(db, "alice", ["m1"], engine="inference", mode="sync", status="running")
    assert jobs.get_job(db, job["job_id"])["status"] == "running"
    done = jobs.update_created_job(db, job, status="succeeded")
    assert done["status"] == "succeeded"
    stored = db.jobs.find_one({"job_id": job["job_id"]})
    assert stored["_rev"] == 1 and stored["status"] == "succeeded"
    assert isinstance(stored["created_at"], datetime) and isinstance(stored["updated_at"], datetime)
    assert stored["created_at"] == job["created_at"] and stored["owner"] == "alice"
    with pytest.raises(ValueError):
        jobs.create_job(db, "alice", ["m1"], engine="x", mode="sync", status="succeeded")


def test_update_created_job_after_another_writer_reads_first(db: Database) -> None:
    """When the job changed after it was created, the guarded replace misses and the update is
    made on the stored job: the other writer's change is kept."""
    job = jobs.create_job(db, "alice", ["m1"], engine="inference", mode="sync", status="running")
    jobs.update_job(db, job["job_id"], error="stopped by user")
    done = jobs.update_created_job(db, job, status="failed")
    assert done["status"] == "failed" and done["error"] == "stopped by user"
    assert db.jobs.find_one({"job_id": job["job_id"]})["_rev"] == 2


def test_insert_first_writes_are_still_upserts(db: Database) -> None:
    """`insert_first=True` only skips the first read: a node or result that exists is updated."""
    from storage import results

    job_id = jobs.create_job(db, "alice", ["m1"], engine="inference", mode="sync")["job_id"]
    jobs.set_node(db, job_id, "inference(0)", insert_first=True, status="running", attempts=1)
    state = jobs.set_node(db, job_id, "inference(0)", insert_first=True, status="succeeded")
    assert state == {"status": "succeeded", "attempts": 1}
    assert db.job_nodes.count_documents({"job_id": job_id}) == 1
    base = {"job_id": job_id, "media_id": "m1", "owner": "alice", "sha256": "s",
            "modality": "text", "filename": "a.txt", "model": {"name": "m", "version": "1"}}
    first = results.upsert_result(db, {**base, "score": 0.1}, insert_first=True)
    second = results.upsert_result(db, {**base, "score": 0.9}, insert_first=True)
    assert second["score"] == 0.9 and second["created_at"] == first["created_at"]
    assert db.results.count_documents({"job_id": job_id}) == 1
