"""Results: one per (media, model name, model version), so a media keeps its history and a
retried persist never duplicates; the newest is the media's current result."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from pymongo.database import Database

from storage._common import NO_ID, count, modify, page_of, utcnow

# Copied from the media document when the persist step does not pass them.
_FROM_MEDIA = ("owner", "sha256", "modality", "filename")
NEWEST = [("created_at", -1), ("media_id", 1)]
"""Newest first; ties in media order, so pages are stable."""
_LATEST_FIELDS = {"_id": 0, "media_id": 1, "model": 1, "verdict": 1, "created_at": 1}
RESULT_FIELDS = ("score", "verdict", "model", "explanation")
REFUSAL_FIELDS = ("reason", "reason_code")
"""Kept only on `not_applicable` results (`models.scoring.not_applicable_result`)."""


def model_key(model: dict[str, Any] | None) -> tuple[str, str]:
    """(name, version) of a result's `model`, both as text: what tells two models apart."""
    model = model or {}
    return str(model.get("name")), str(model.get("version"))


def result_document(job_id: str, media: dict[str, Any], result: dict[str, Any]) -> dict[str, Any]:
    """The results-collection document for one media of one job, from a scored `result`.

    `created_at` is left to `upsert_result`: set on the first write and kept by a retry."""
    doc = {
        "job_id": job_id,
        "media_id": media["media_id"],
        "owner": media.get("owner"),
        "sha256": media.get("sha256"),
        "modality": media.get("modality") or result.get("modality"),
        "filename": media.get("filename"),
        "scored_at": result.get("scored_at") or datetime.now(UTC).isoformat(),
    }
    doc.update({k: result.get(k) for k in RESULT_FIELDS})
    doc.update({k: result[k] for k in REFUSAL_FIELDS if result.get(k) is not None})
    if result.get("ensemble"):  # several models scored it: each one's score and the combined
        doc["ensemble"] = result["ensemble"]
    return doc


def note_change(previous: dict[str, Any] | None, doc: dict[str, Any]) -> dict[str, Any]:
    """`doc` with `changed_from` (the earlier verdict) and `previous_model` when `previous`, the
    media's newest result so far, came from another model version and had another verdict."""
    if previous is None or model_key(previous.get("model")) == model_key(doc.get("model")):
        return doc  # the first result, or a retry of this one
    doc = {**doc, "previous_model": previous.get("model")}
    if previous.get("verdict") != doc.get("verdict"):
        doc["changed_from"] = previous.get("verdict")
    return doc


def result_key(doc: dict[str, Any]) -> dict[str, Any]:
    """The unique key of a result: media and the model (name, version) that made it; a `doc`
    naming no model changes the result its job made for the media."""
    model = doc.get("model") or {}
    if not model:
        return {"job_id": doc.get("job_id"), "media_id": doc.get("media_id")}
    return {"media_id": doc.get("media_id"), "model.name": model.get("name"),
            "model.version": None if model.get("version") is None else str(model["version"])}


def upsert_result(db: Database, doc: dict[str, Any], insert_first: bool = False,
                  take_over: bool = False) -> dict[str, Any]:
    """Insert or replace the result of (`media_id`, `model.name`, `model.version`); return it.

    `doc` carries `job_id`, `score`, `verdict`, `model` {name, version}, `explanation` (a
    `not_applicable` verdict has a null `score` and adds `reason`, `reason_code`); `owner`,
    `sha256`, `modality` and `filename` default to the media document's. `created_at` and
    `job_id` are kept from the first write (a retried batch or a second rescan changes
    neither) unless `doc` gives a `created_at`. `insert_first`: the media has no result by this
    model yet (the insert is tried without a read first; still correct when it has one).
    `take_over`: this job makes the result current again (a champion rolled back to a version
    that scored the media before): `job_id` and `created_at` become this write's.
    """
    job_id, media_id = doc.get("job_id"), doc.get("media_id")
    if not job_id or not media_id:
        raise ValueError("a result needs job_id and media_id")
    key = result_key(doc)
    fields = {k: v for k, v in doc.items() if k not in ("_id", "job_id", "media_id")}
    if isinstance(fields.get("model"), dict) and fields["model"].get("version") is not None:
        fields["model"] = {**fields["model"], "version": str(fields["model"]["version"])}
    missing = [k for k in _FROM_MEDIA if k not in fields]
    if missing:
        media = db.media.find_one({"media_id": media_id}, NO_ID) or {}
        fields.update({k: media[k] for k in missing if k in media})
    now = utcnow()
    fields["updated_at"] = now
    if take_over:
        fields["job_id"] = job_id
        fields.setdefault("created_at", now)
    return modify(
        db.results, key, lambda stored: stored.update(fields),
        new=lambda: {"job_id": job_id, "media_id": media_id, "created_at": now},
        insert_first=insert_first,
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
    return page_of(db.results, {"owner": owner}, NEWEST, page, per_page)


def latest_result(db: Database, media_id: str, owner: str | None = None
                  ) -> dict[str, Any] | None:
    """The newest result for the media (with `owner`: only the owner's), or None."""
    query: dict[str, Any] = {"media_id": media_id}
    if owner is not None:
        query["owner"] = owner
    docs = db.results.find(query, NO_ID).sort(NEWEST).limit(1)
    return next(iter(docs), None)


def result_history(db: Database, media_id: str, owner: str) -> list[dict[str, Any]]:
    """Every result of the owner's media, newest first (the first is the current one)."""
    return list(db.results.find({"media_id": media_id, "owner": owner}, NO_ID).sort(NEWEST))


def latest_by_media(db: Database, modality: str, media_ids: Iterable[str] | None = None
                    ) -> dict[str, dict[str, Any]]:
    """{media_id: its newest result (media_id, model, verdict, created_at)} for `modality`,
    from one query (optionally only `media_ids`)."""
    query: dict[str, Any] = {"modality": modality}
    if media_ids is not None:
        query["media_id"] = {"$in": list(media_ids)}
    latest: dict[str, dict[str, Any]] = {}
    for doc in db.results.find(query, _LATEST_FIELDS):
        seen = latest.get(doc["media_id"])
        if seen is None or _when(doc) > _when(seen):
            latest[doc["media_id"]] = doc
    return latest


def _when(doc: dict[str, Any]) -> datetime | str:
    return doc.get("created_at") or ""


def count_for_job(db: Database, job_id: str, changed: bool = False) -> int:
    """Results a job made (with `changed`: only those whose verdict changed)."""
    query: dict[str, Any] = {"job_id": job_id}
    if changed:
        query["changed_from"] = {"$exists": True}
    return count(db.results, query)


def count_for_jobs(db: Database, job_ids: list[str]) -> int:
    """Results the jobs made, all together (a scan's progress)."""
    return count(db.results, {"job_id": {"$in": job_ids}})


def delete_for_media(db: Database, media_id: str) -> list[dict[str, Any]]:
    """Delete every result of a media; the deleted documents (to remove their heatmaps)."""
    docs = list(db.results.find({"media_id": media_id}, NO_ID))
    db.results.delete_many({"media_id": media_id})
    return docs
