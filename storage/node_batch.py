"""Batched reads and writes for the local engine: node states, and a job's media in one query.

Node states are written in batches by an engine that is the only writer of its nodes.

Same documents as `storage.jobs.set_node` (collection `job_nodes`, one per (job, node):
`{job_id, node, state, updated_at, _rev}`), so `get_job` reads them unchanged. Where `set_node`
costs a read and a guarded replace per change (nx-27017: ~2 ms of server CPU each), an engine
that keeps its nodes' states in memory writes many at once: new nodes with one `insert_many`,
known ones with one `bulk_write` of replaces guarded by `_id` and `_rev` (never `$set`, which
nx-27017 corrupts; never an upsert, which it runs as a scan). Whatever a batch cannot write
(a node written meanwhile by someone else, a duplicate) falls back to `set_node`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bson import ObjectId
from pymongo import InsertOne, ReplaceOne
from pymongo.database import Database
from pymongo.errors import BulkWriteError

from storage._common import utcnow
from storage.jobs import set_node


@dataclass
class StoredNode:
    """A node's state as last stored: its document id and revision (None: not stored yet)."""

    job_id: str
    node: str
    state: dict[str, Any] = field(default_factory=dict)
    doc_id: Any = None
    rev: int = 0


def load_nodes(db: Database, job_id: str) -> dict[str, StoredNode]:
    """The nodes a job already has (a retried job), by node name: one query."""
    return {
        doc["node"]: StoredNode(job_id, doc["node"], dict(doc.get("state") or {}), doc["_id"],
                                int(doc.get("_rev", 0)))
        for doc in db.job_nodes.find({"job_id": job_id}, {"node": 1, "state": 1, "_rev": 1})
    }


def write_nodes(db: Database, nodes: list[StoredNode]) -> None:
    """Store every node's `state` (whole, as the caller holds it); updates `doc_id` and `rev`.

    Two round trips for the batch at most; when a node could not be written that way, it is
    written with `set_node` (a read and a guarded replace) and its `doc_id`/`rev` re-read.
    """
    now = utcnow()
    ops: list[Any] = []
    planned: list[tuple[StoredNode, Any, int]] = []
    for n in nodes:
        if n.doc_id is None:
            doc = {"_id": ObjectId(), "job_id": n.job_id, "node": n.node, "state": dict(n.state),
                   "updated_at": now, "_rev": 0}
            ops.append(InsertOne(doc))
            planned.append((n, doc, 0))
        else:
            doc = {"job_id": n.job_id, "node": n.node, "state": dict(n.state), "updated_at": now,
                   "_rev": n.rev + 1}
            ops.append(ReplaceOne({"_id": n.doc_id, "_rev": n.rev}, doc))
            planned.append((n, doc, n.rev + 1))
    if not ops:
        return
    failed: set[int] = set()
    replaces = [i for i, op in enumerate(ops) if isinstance(op, ReplaceOne)]
    inserts = [i for i, op in enumerate(ops) if isinstance(op, InsertOne)]
    if inserts:
        try:
            db.job_nodes.bulk_write([ops[i] for i in inserts], ordered=False)
        except BulkWriteError as exc:
            failed.update(inserts[e["index"]] for e in exc.details.get("writeErrors", []))
    if replaces:
        # a failed guard shows as a missing match, not an error: when the count falls short,
        # every replace of the batch is written again through set_node, which merges our state
        # into what is stored (the ones that landed do not change)
        result = db.job_nodes.bulk_write([ops[i] for i in replaces], ordered=False)
        if result.matched_count != len(replaces):
            failed.update(replaces)
    for i, (n, doc, rev) in enumerate(planned):
        if i in failed:
            continue
        if n.doc_id is None:
            n.doc_id = doc["_id"]  # set by insert
        n.rev = rev
    for i in sorted(failed):
        n = planned[i][0]
        # someone else wrote this node: theirs merged with ours, as set_node always does
        set_node(db, n.job_id, n.node, **n.state)
        stored = db.job_nodes.find_one({"job_id": n.job_id, "node": n.node}, {"_rev": 1})
        n.doc_id, n.rev = stored["_id"], int(stored.get("_rev", 0))


def media_by_id(db: Database, media_ids: list[str]) -> dict[str, dict[str, Any]]:
    """The media documents of `media_ids` by id, in one query (a job's workflow arguments);
    ids without a document are left out."""
    if not media_ids:
        return {}
    fields = {"_id": 0, "media_id": 1, "modality": 1, "path": 1}
    return {d["media_id"]: d for d in db.media.find({"media_id": {"$in": list(media_ids)}},
                                                    fields)}


def job_status(db: Database, job_id: str) -> str | None:
    """The job's status alone (not its nodes: `get_job` reads every node), or None."""
    job = db.jobs.find_one({"job_id": job_id}, {"_id": 0, "status": 1})
    return job["status"] if job else None
