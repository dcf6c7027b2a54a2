"""Per-user concurrency: a user with MAX_JOBS_IN_FLIGHT_PER_USER jobs queued or running gets 429."""

from __future__ import annotations

from pymongo.database import Database
from werkzeug.exceptions import TooManyRequests

from config import Faults
from storage.jobs import count_in_flight


def check_jobs_in_flight(db: Database, owner: str, faults: Faults) -> None:
    """Raise 429 (Retry-After: JOBS_RETRY_AFTER_S) when `owner` already has the most jobs in
    flight allowed; checked before the upload is stored, so a refused request leaves nothing.

    Requests of one user that arrive together are counted before any of them stores its job,
    so they may pass the cap by how many race; a user cannot hold more than that for long."""
    cap = faults.max_jobs_in_flight_per_user
    if cap <= 0:
        return
    if count_in_flight(db, owner) >= cap:
        raise TooManyRequests(
            description=f"you have {cap} jobs queued or running, the most allowed at once; "
                        "wait for one to finish",
            retry_after=faults.jobs_retry_after_s)
