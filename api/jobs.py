"""Jobs: GET a job's status (fresh from its engine), nodes and results; POST stop and retry."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify
from flask.typing import ResponseReturnValue

from api.auth import current_user, require_token
from api.context import db, engine, settings
from api.errors import ApiError
from api.openapi import documented
from api.schemas import Job
from api.serialize import public_job
from storage import jobs, results, webhooks

bp = Blueprint("jobs", __name__, url_prefix="/api/v1/jobs")
require_token(bp)


def _own_job(job_id: str) -> dict[str, Any]:
    """The caller's job; another user's (or none) answers 404."""
    job = jobs.get_job(db(), job_id, owner=current_user()["user_id"])
    if job is None:
        raise ApiError(404, "not_found", f"no job {job_id}")
    return job


def _job_response(job_id: str) -> ResponseReturnValue:
    job = jobs.get_job(db(), job_id, owner=current_user()["user_id"])
    body = public_job(job, results.results_for_job(db(), job_id), settings().argo_ui_url)
    body["callback"] = webhooks.public_callback(job)  # delivery attempts of its callback_url
    return jsonify(body)


@bp.get("/<job_id>")
@documented({200: Job})
def get_job(job_id: str) -> ResponseReturnValue:
    """The caller's job; another user's answers 404."""
    _own_job(job_id)
    try:
        engine().refresh(job_id)
    except Exception as exc:  # show the stored status rather than fail the request
        current_app.logger.warning("refreshing job %s failed: %s", job_id, exc)
    return _job_response(job_id)


@bp.post("/<job_id>/stop")
@documented({200: Job})
def stop_job(job_id: str) -> ResponseReturnValue:
    """Stop a queued or running job (409 otherwise): it ends `failed`, "stopped by user"."""
    return _act(job_id, "stop")


@bp.post("/<job_id>/retry")
@documented({200: Job})
def retry_job(job_id: str) -> ResponseReturnValue:
    """Run a failed job again (409 otherwise); its failed steps run, its results are kept."""
    return _act(job_id, "retry")


def _act(job_id: str, action: str) -> ResponseReturnValue:
    from workflows.engine import JobStateError

    _own_job(job_id)
    jobs = engine()
    method = {"stop": jobs.stop, "retry": jobs.retry}[action]
    try:
        method(job_id)
    except JobStateError as exc:
        raise ApiError(409, "conflict", str(exc)) from exc
    return _job_response(job_id)
