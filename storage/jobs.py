"""Jobs: one per detection request, with a status and the state of each workflow node.

Node states live in their own collection, one document per (job, node), and are attached as
`nodes` when a job is read: a job's many parallel nodes then never contend for one document
(with every node in the job document, a 200-media job failed on write conflicts).

Every job records the process that created it (`created_by`: host and pid); an engine that
takes it records itself in `engine_ref`. A job still `queued` or `running` whose responsible
process (the engine's, else the creator's) is dead on this host is an *orphan*: the local
engine claims it (`claim_orphan`) and requeues it, at most MAX_JOB_RECOVERIES times, then fails
it with the reason (docs/security.md "## Faults").
"""

from __future__ import annotations

import os
import socket
from typing import Any

from pymongo.database import Database

from storage._common import NO_ID, count, insert, modify, new_id, utcnow

STATUSES = ("queued", "running", "succeeded", "failed")
IN_FLIGHT = ("queued", "running")
RECOVERABLE_ENGINES = ("local", "inference")
"""Engines whose jobs live in one process of this host (Argo keeps its own state)."""
NODE_FIELDS = ("status", "started_at", "finished_at", "attempts", "error")


def create_job(
    db: Database, owner: str, media_ids: list[str], engine: str, mode: str,
    status: str = "queued",
) -> dict[str, Any]:
    """Create a job for `media_ids` (`queued`, or `running` for a job scored at once) and
    return it."""
    return insert_job(db, job_document(owner, media_ids, engine, mode, status))


def job_document(
    owner: str, media_ids: list[str], engine: str, mode: str, status: str = "queued",
) -> dict[str, Any]:
    """A new job as `create_job` stores it (with its `job_id`), not stored yet."""
    if status not in ("queued", "running"):
        raise ValueError(f"a job starts queued or running, not {status!r}")
    now = utcnow()
    return {
        "job_id": new_id(),
        "owner": owner,
        "media_ids": list(media_ids),
        "engine": engine,
        "mode": mode,
        "status": status,
        "error": None,
        "nodes": {},
        "created_by": this_process(),
        "created_at": now,
        "updated_at": now,
    }


def insert_job(db: Database, doc: dict[str, Any]) -> dict[str, Any]:
    """Store a `job_document`; returns it."""
    return insert(db.jobs, doc)


def get_job(db: Database, job_id: str, owner: str | None = None) -> dict[str, Any] | None:
    """The job with its `nodes`, or None; with `owner`, None for another owner's job."""
    query: dict[str, Any] = {"job_id": job_id}
    if owner is not None:
        query["owner"] = owner
    job = db.jobs.find_one(query, NO_ID)
    if job is not None:
        job["nodes"] = {
            doc["node"]: doc["state"] for doc in db.job_nodes.find({"job_id": job_id}, NO_ID)}
    return job


def update_job(db: Database, job_id: str, **fields: Any) -> dict[str, Any] | None:
    """Set top-level fields (status, error, engine ids ...); returns the job after the update."""
    return _update(db, job_id, None, fields)


def update_created_job(db: Database, job: dict[str, Any], **fields: Any) -> dict[str, Any] | None:
    """`update_job` for a job exactly as `create_job` returned it and not changed since (the sync
    path's own job): one guarded replace instead of a read and a replace. When someone changed
    the job meanwhile (a stop), the guard fails and the job is read and updated as usual."""
    return _update(db, job["job_id"], (job, 0), fields)


def _update(db: Database, job_id: str, last_stored: tuple[dict[str, Any], int] | None,
            fields: dict[str, Any]) -> dict[str, Any] | None:
    if "status" in fields and fields["status"] not in STATUSES:
        raise ValueError(f"unknown job status {fields['status']!r}")
    for key in ("job_id", "_id", "owner"):
        if key in fields:
            raise ValueError(f"{key} cannot be changed")
    fields["updated_at"] = utcnow()
    return modify(db.jobs, {"job_id": job_id}, lambda job: job.update(fields),
                  last_stored=last_stored)


def check_node(node: str, fields: dict[str, Any]) -> None:
    """A node state's name is usable as a MongoDB value (no `.`, no leading `$`, not empty) and
    its fields are known ones; ValueError otherwise."""
    if not node or "." in node or node.startswith("$"):
        raise ValueError(f"bad node name {node!r}")
    unknown = set(fields) - set(NODE_FIELDS)
    if unknown:
        raise ValueError(f"unknown node fields {sorted(unknown)}")


def set_node(db: Database, job_id: str, node: str, insert_first: bool = False,
             **fields: Any) -> dict[str, Any]:
    """Record a workflow node's state (status, started_at, finished_at, attempts, error);
    returns the node's whole state. `insert_first`: the node has no state yet (inserted without a
    read first; still correct when it has)."""
    check_node(node, fields)

    def change(doc: dict[str, Any]) -> None:
        doc["state"].update(fields)
        doc["updated_at"] = utcnow()

    stored = modify(db.job_nodes, {"job_id": job_id, "node": node}, change,
                    new=lambda: {"job_id": job_id, "node": node, "state": {}},
                    insert_first=insert_first)
    return stored["state"]


def this_process() -> dict[str, Any]:
    """This process as a job records it: host name and pid."""
    return {"host": socket.gethostname(), "pid": os.getpid()}


def count_in_flight(db: Database, owner: str) -> int:
    """How many of `owner`'s jobs are queued or running."""
    return count(db.jobs, {"owner": owner, "status": {"$in": list(IN_FLIGHT)}})


def responsible_pid(job: dict[str, Any], host: str) -> int | None:
    """The pid of the process on `host` that runs (or was to submit) the job; None when the
    job is not in the hands of a process of this host."""
    if job.get("engine") not in RECOVERABLE_ENGINES:
        return None
    for ref in (job.get("engine_ref"), job.get("created_by")):
        if ref:
            return int(ref["pid"]) if ref.get("host") == host and "pid" in ref else None
    return None


def in_flight_jobs(db: Database) -> list[dict[str, Any]]:
    """Every queued or running job (without nodes): what recovery looks at on start."""
    return list(db.jobs.find({"status": {"$in": list(IN_FLIGHT)}}, NO_ID))


def claim_orphan(db: Database, job_id: str, dead_pid: int, max_recoveries: int,
                 reason: str) -> str | None:
    """Take over a job whose responsible process `dead_pid` died: `"requeued"` (status queued,
    `recoveries` + 1, engine local) or, once it was requeued `max_recoveries` times,
    `"failed"` with `reason`. None when the job changed meanwhile (another process claimed
    it, it ended): one guarded replace, so only one claimer wins."""
    doc = db.jobs.find_one({"job_id": job_id})
    if doc is None or doc.get("status") not in IN_FLIGHT:
        return None
    if responsible_pid(doc, socket.gethostname()) != dead_pid:
        return None
    rev = doc.pop("_rev", 0)
    doc_id = doc.pop("_id")
    recoveries = int(doc.get("recoveries", 0))
    now = utcnow()
    if recoveries >= max_recoveries:
        outcome = "failed"
        doc.update(status="failed", finished_at=now,
                   error=f"{reason} (requeued {recoveries} times already; retry it)")
    else:
        outcome = "requeued"
        doc.update(status="queued", engine="local", error=None, recoveries=recoveries + 1,
                   engine_ref=None, created_by=this_process())
    doc.update(updated_at=now, _rev=rev + 1)
    if db.jobs.replace_one({"_id": doc_id, "_rev": rev}, doc).matched_count != 1:
        return None
    return outcome


def delete_job(db: Database, job_id: str) -> None:
    """Remove a job with its node states and the results it wrote (an upload undone)."""
    db.results.delete_many({"job_id": job_id})
    db.job_nodes.delete_many({"job_id": job_id})
    db.jobs.delete_one({"job_id": job_id})
