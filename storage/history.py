"""A user's results filtered by modality, verdict and date, newest first, one page at a time."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo.database import Database

from storage._common import page_of
from storage.results import NEWEST


def find_results(
    db: Database, owner: str, *, modality: str | None = None, verdict: str | None = None,
    since: datetime | None = None, until: datetime | None = None, page: int = 1,
    per_page: int = 20,
) -> tuple[list[dict[str, Any]], int]:
    """One page (1-based) of the owner's results matching every given filter (`since`
    inclusive, `until` exclusive), newest first, and how many match in all."""
    query: dict[str, Any] = {"owner": owner}
    if modality:
        query["modality"] = modality
    if verdict:
        query["verdict"] = verdict
    window = {op: when for op, when in (("$gte", since), ("$lt", until)) if when is not None}
    if window:
        query["created_at"] = window
    return page_of(db.results, query, NEWEST, page, per_page)


def jobs_by_id(db: Database, job_ids: list[str]) -> dict[str, dict[str, Any]]:
    """The jobs named (their `job_id` and `engine_ref`), by id: one query for a page of results."""
    found = db.jobs.find({"job_id": {"$in": sorted(set(job_ids))}},
                         {"_id": 0, "job_id": 1, "engine_ref": 1})
    return {doc["job_id"]: doc for doc in found}
