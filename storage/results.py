"""Results: one per (job, media), upserted so a retried persist step never duplicates."""

from __future__ import annotations

from typing import Any

from pymongo.database import Database

from storage._common import NO_ID, modify, utcnow

# Copied from the media document when the persist step does not pass them.
_FROM_MEDIA = ("owner", "sha256", "modality", "filename")
_NEWEST = [("created_at", -1), ("media_id", 1)]


def upsert_result(db: Database, doc: dict[str, Any], fresh: bool = False) -> dict[str, Any]:
    """Insert or replace the result for (`job_id`, `media_id`) and return it.

    `doc` carries `score`, `verdict`, `model` {name, version}, `explanation` (a `not_applicable`
    verdict has a null `score` and adds `reason`, `reason_code`); `owner`, `sha256`,
    `modality` and `filename` default to the media document's. `created_at` is kept from the
    first write unless `doc` gives one. `fresh`: the job has no result for the media yet (the
    insert is tried without a read first; still correct when it has one).
    """
    job_id, media_id = doc.get("job_id"), doc.get("media_id")
    if not job_id or not media_id:
        raise ValueError("a result needs job_id and media_id")
    fields = {k: v for k, v in doc.items() if k not in ("_id", "job_id", "media_id")}
    missing = [k for k in _FROM_MEDIA if k not in fields]
    if missing:
        media = db.media.find_one({"media_id": media_id}, NO_ID) or {}
        fields.update({k: media[k] for k in missing if k in media})
    now = utcnow()
    fields["updated_at"] = now
    key = {"job_id": job_id, "media_id": media_id}
    return modify(
        db.results, key, lambda doc: doc.update(fields), new=lambda: {**key, "created_at": now},
        fresh=fresh,
    )


def results_for_job(db: Database, job_id: str) -> list[dict[str, Any]]:
    """The job's results, in the order of the job's media."""
    items = list(db.results.find({"job_id": job_id}, NO_ID))
    job = db.jobs.find_one({"job_id": job_id}, {"_id": 0, "media_ids": 1}) or {}
    order = {m: i for i, m in enumerate(job.get("media_ids", []))}
    return sorted(items, key=lambda r: (order.get(r["media_id"], len(order)), r["media_id"]))


def list_results(
    db: Database, owner: str, page: int = 1, per_page: int = 20
) -> tuple[list[dict[str, Any]], int]:
    """One page (1-based) of the owner's results, newest first, and the owner's total."""
    if page < 1 or per_page < 1:
        raise ValueError("page and per_page start at 1")
    query = {"owner": owner}
    total = db.results.count_documents(query)
    cursor = db.results.find(query, NO_ID).sort(_NEWEST).skip((page - 1) * per_page)
    return list(cursor.limit(per_page)), total


def latest_result(db: Database, media_id: str, owner: str) -> dict[str, Any] | None:
    """The newest result for the owner's media, or None."""
    docs = db.results.find({"media_id": media_id, "owner": owner}, NO_ID).sort(_NEWEST).limit(1)
    return next(iter(docs), None)


def results_not_by(
    db: Database, modality: str, model_name: str, version: str, limit: int = 1000
) -> list[dict[str, Any]]:
    """Results of `modality` made by another model or version than (`model_name`, `version`):
    what a rescan rescores. Oldest first."""
    query = {
        "modality": modality,
        "$or": [{"model.name": {"$ne": model_name}}, {"model.version": {"$ne": str(version)}}],
    }
    return list(db.results.find(query, NO_ID).sort("created_at", 1).limit(limit))
