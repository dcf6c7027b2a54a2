"""Counts for monitoring: jobs by status (one aggregation, read at each metrics scrape)."""

from __future__ import annotations

from pymongo.database import Database

from storage.jobs import STATUSES


def jobs_by_status(db: Database) -> dict[str, int]:
    """How many jobs have each status; every status of `storage.jobs.STATUSES` is present."""
    counts = dict.fromkeys(STATUSES, 0)
    for row in db.jobs.aggregate([{"$group": {"_id": "$status", "n": {"$sum": 1}}}]):
        if row["_id"] in counts:
            counts[row["_id"]] = int(row["n"])
    return counts
