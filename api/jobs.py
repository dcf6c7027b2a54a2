"""GET /api/v1/jobs/<job_id>: a job's status (fresh from its engine), nodes and results."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify
from flask.typing import ResponseReturnValue

from api.auth import current_user, require_token
from api.context import db, engine
from api.errors import ApiError
from api.serialize import public_job
from storage import jobs, results

bp = Blueprint("jobs", __name__, url_prefix="/api/v1/jobs")
require_token(bp)


@bp.get("/<job_id>")
def get_job(job_id: str) -> ResponseReturnValue:
    """The caller's job; another user's answers 404."""
    owner = current_user()["user_id"]
    if jobs.get_job(db(), job_id, owner=owner) is None:
        raise ApiError(404, "not_found", f"no job {job_id}")
    try:
        engine().refresh(job_id)
    except Exception as exc:  # show the stored status rather than fail the request
        current_app.logger.warning("refreshing job %s failed: %s", job_id, exc)
    job = jobs.get_job(db(), job_id, owner=owner)
    return jsonify(public_job(job, results.results_for_job(db(), job_id)))
