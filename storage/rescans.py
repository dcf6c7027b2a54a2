"""Rescan jobs: open one, read them, and their progress and summary (selected, rescored,
verdict changed, failed, missing bytes) from the results they made."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pymongo.database import Database

from storage._common import page_of
from storage.jobs import create_job, get_job, update_job
from storage.paths import safe_id
from storage.results import count_for_job

RESCAN_OWNER = "system"
RESCAN_MODE = "rescan"
SUMMARY_KEYS = ("selected", "rescored", "changed", "failed", "missing")
_NODE = re.compile(r"rescan-batch\((\d+)\)/detect-one\((\d+)\)/(\w+)$")


def open_rescan(db: Database, engine: str, filters: dict[str, Any],
                started_by: str | None = None) -> dict[str, Any]:
    """A queued rescan job (owner `system`, mode `rescan`) with no media yet."""
    job = create_job(db, RESCAN_OWNER, [], engine=engine, mode=RESCAN_MODE)
    return update_job(db, job["job_id"], filters=filters, started_by=started_by,
                      missing=[], batch_size=None) or job


def list_rescans(db: Database, page: int, per_page: int) -> tuple[list[dict[str, Any]], int]:
    """One page of rescan jobs, newest first, and their total."""
    return page_of(db.jobs, {"mode": RESCAN_MODE}, [("created_at", -1)], page, per_page)


def get_rescan(db: Database, job_id: str) -> dict[str, Any] | None:
    """The rescan job with its nodes, or None (also for a job that is not a rescan)."""
    job = get_job(db, job_id)
    return job if job is not None and job.get("mode") == RESCAN_MODE else None


def failures(job: dict[str, Any]) -> dict[str, str]:
    """{media_id: error} of the media whose step failed for good, from the job's nodes."""
    size, ids = job.get("batch_size"), job.get("media_ids") or []
    out: dict[str, str] = {}
    for node, state in (job.get("nodes") or {}).items():
        found = _NODE.search(node)
        if not found or not size or state.get("status") != "failed":
            continue
        index = int(found.group(1)) * int(size) + int(found.group(2))
        if index < len(ids):
            out[ids[index]] = f"{found.group(3)}: {state.get('error') or 'failed'}"
    return out


def summary(db: Database, job: dict[str, Any], finished: bool | None = None
            ) -> dict[str, Any]:
    """Counts (SUMMARY_KEYS), `missing_ids` and `failures` [{media_id, error}] of a rescan job.

    While it runs, media neither rescored nor failed are `pending`; once `finished` (default:
    the job's status is terminal) every media without a result from it counts as failed."""
    if finished is None:
        finished = job.get("status") in ("succeeded", "failed")
    ids = job.get("media_ids") or []
    missing = job.get("missing") or []
    rescored = count_for_job(db, job["job_id"]) if ids else 0
    errors = failures(job)
    if finished and rescored < len(ids):
        done = {r["media_id"] for r in db.results.find({"job_id": job["job_id"]},
                                                       {"_id": 0, "media_id": 1})}
        for media_id in ids:
            if media_id not in done:
                errors.setdefault(media_id, "not rescored")
    out = {"selected": len(ids) + len(missing), "rescored": rescored,
           "changed": count_for_job(db, job["job_id"], changed=True) if ids else 0,
           "failed": len(errors), "missing": len(missing), "missing_ids": list(missing),
           "failures": [{"media_id": m, "error": e} for m, e in sorted(errors.items())]}
    if not finished:
        out["pending"] = max(0, len(ids) - rescored - len(errors))
    return out


def rescan_pointer(scratch_root: Path, workflow_uid: str) -> Path:
    """The scratch file where a rescan workflow keeps the id of the job it fills, from selection
    to its exit handler: `<SCRATCH_ROOT>/rescan-<workflow_uid>.job`."""
    return scratch_root / f"rescan-{safe_id(workflow_uid, 'workflow_uid')}.job"
