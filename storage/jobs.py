"""Jobs: one per detection request, with a status and the state of each workflow node."""

from __future__ import annotations

from typing import Any

from pymongo.database import Database

from storage._common import NO_ID, insert, modify, new_id, utcnow

STATUSES = ("queued", "running", "succeeded", "failed")
NODE_FIELDS = ("status", "started_at", "finished_at", "attempts", "error")


def create_job(
    db: Database, owner: str, media_ids: list[str], engine: str, mode: str
) -> dict[str, Any]:
    """Create a `queued` job for `media_ids` and return it."""
    now = utcnow()
    doc = {
        "job_id": new_id(),
        "owner": owner,
        "media_ids": list(media_ids),
        "engine": engine,
        "mode": mode,
        "status": "queued",
        "error": None,
        "nodes": {},
        "created_at": now,
        "updated_at": now,
    }
    return insert(db.jobs, doc)


def get_job(db: Database, job_id: str, owner: str | None = None) -> dict[str, Any] | None:
    """The job, or None; with `owner`, None for another owner's job."""
    query: dict[str, Any] = {"job_id": job_id}
    if owner is not None:
        query["owner"] = owner
    return db.jobs.find_one(query, NO_ID)


def update_job(db: Database, job_id: str, **fields: Any) -> dict[str, Any] | None:
    """Set top-level fields (status, error, engine ids ...); returns the job after the update."""
    if "status" in fields and fields["status"] not in STATUSES:
        raise ValueError(f"unknown job status {fields['status']!r}")
    for key in ("job_id", "_id", "owner"):
        if key in fields:
            raise ValueError(f"{key} cannot be changed")
    fields["updated_at"] = utcnow()
    return modify(db.jobs, {"job_id": job_id}, lambda job: job.update(fields))


def set_node(db: Database, job_id: str, node: str, **fields: Any) -> dict[str, Any] | None:
    """Record a workflow node's state (status, started_at, finished_at, attempts, error)."""
    if not node or "." in node or node.startswith("$"):
        raise ValueError(f"bad node name {node!r}")
    unknown = set(fields) - set(NODE_FIELDS)
    if unknown:
        raise ValueError(f"unknown node fields {sorted(unknown)}")

    def change(job: dict[str, Any]) -> None:
        job.setdefault("nodes", {}).setdefault(node, {}).update(fields)
        job["updated_at"] = utcnow()

    return modify(db.jobs, {"job_id": job_id}, change)
