"""Node states written in batches (storage.node_batch, LocalEngine's NodeWriter) read back by
get_job exactly as set_node's, against the real embedded MongoDB."""

from __future__ import annotations

from datetime import UTC, datetime

from config import Config
from storage.db import get_db
from storage.jobs import create_job, get_job, set_node
from storage.media import insert_media
from storage.node_batch import StoredNode, job_status, load_nodes, media_by_id, write_nodes
from workflows.local.node_writer import NodeWriter


def _job() -> str:
    return create_job(get_db(), "u1", [], engine="local", mode="async")["job_id"]


def test_write_nodes_inserts_then_replaces(detector_env: Config) -> None:
    db = get_db()
    job_id = _job()
    started = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    nodes = [StoredNode(job_id, f"detect-one({i})/infer",
                        {"status": "running", "started_at": started, "attempts": 1})
             for i in range(3)]
    write_nodes(db, nodes)
    assert all(n.doc_id is not None and n.rev == 0 for n in nodes)
    nodes[0].state.update(status="succeeded", finished_at=started, error=None)
    write_nodes(db, nodes[:1])
    assert nodes[0].rev == 1
    stored = get_job(db, job_id)["nodes"]
    assert stored["detect-one(0)/infer"] == {"status": "succeeded", "started_at": started,
                                             "finished_at": started, "attempts": 1,
                                             "error": None}
    assert isinstance(stored["detect-one(1)/infer"]["started_at"], datetime)  # not a string
    assert stored["detect-one(2)/infer"]["status"] == "running"
    assert {n: s.rev for n, s in load_nodes(db, job_id).items()} == {
        "detect-one(0)/infer": 1, "detect-one(1)/infer": 0, "detect-one(2)/infer": 0}


def test_a_node_written_meanwhile_is_merged_not_lost(detector_env: Config) -> None:
    db = get_db()
    job_id = _job()
    mine = StoredNode(job_id, "a", {"status": "running", "attempts": 1})
    write_nodes(db, [mine])
    set_node(db, job_id, "a", error="someone else")  # the stored revision moves on
    set_node(db, job_id, "b", status="running")  # exists, unknown to this writer
    mine.state["status"] = "succeeded"
    other = StoredNode(job_id, "b", {"attempts": 2})
    write_nodes(db, [mine, other])
    nodes = get_job(db, job_id)["nodes"]
    assert nodes["a"] == {"status": "succeeded", "attempts": 1, "error": "someone else"}
    assert nodes["b"] == {"status": "running", "attempts": 2}
    assert mine.rev == load_nodes(db, job_id)["a"].rev  # ready for the next write


def test_node_writer_merges_changes_and_flush_stores_them(detector_env: Config) -> None:
    db = get_db()
    job_id = _job()
    set_node(db, job_id, "old", status="failed", error="first run", attempts=3)
    writer = NodeWriter(get_db, linger_s=60.0)  # only a flush makes it write before a minute
    try:
        writer.start_job(job_id)
        writer.record(job_id, "old", status="running", attempts=1)
        for attempt in (1, 2):
            writer.record(job_id, "new", status="running", attempts=attempt)
        writer.record(job_id, "new", status="succeeded", error=None)
        writer.flush(job_id)
        nodes = get_job(db, job_id)["nodes"]
        assert nodes["old"] == {"status": "running", "error": "first run", "attempts": 1}
        assert nodes["new"] == {"status": "succeeded", "attempts": 2, "error": None}
        writer.record(job_id, "new", status="failed")  # after a flush: from the stored state
        writer.flush(job_id)
        assert get_job(db, job_id)["nodes"]["new"]["status"] == "failed"
    finally:
        writer.close()
    writer.record(job_id, "late", status="running")  # after close: a new thread writes it
    writer.flush(job_id)
    writer.close()
    assert get_job(db, job_id)["nodes"]["late"] == {"status": "running"}


def test_job_status_and_media_by_id(detector_env: Config) -> None:
    db = get_db()
    media_id = insert_media(db, {"owner": "u1", "sha256": "0" * 64, "modality": "text",
                                 "filename": "a.txt", "size": 3, "path": "uploads/a.txt"})
    found = media_by_id(db, [media_id, "missing"])
    assert found == {media_id: {"media_id": media_id, "modality": "text",
                                "path": "uploads/a.txt"}}
    assert media_by_id(db, []) == {}
    assert job_status(db, _job()) == "queued"
    assert job_status(db, "nope") is None
