"""Admins start and watch rescans: POST /api/v1/rescans (202), GET /api/v1/rescans (paged) and
GET /api/v1/rescans/<id> (progress, then the summary)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify, request, url_for
from flask.typing import ResponseReturnValue

from api.admin import admin_only
from api.auth import current_user, require_token
from api.context import db, settings
from api.errors import ApiError
from api.openapi import documented
from api.rescan_schemas import Rescan, RescanRequest, RescansPage, RescanStarted
from api.schemas import PageQuery
from storage import rescans
from storage.media import MODALITIES

bp = Blueprint("rescans", __name__, url_prefix="/api/v1/rescans")
require_token(bp)
MAX_PER_PAGE = 100
MAX_MEDIA_IDS = 10_000


def _filters(body: Any) -> Any:
    from storage.rescan_select import Filters, parse_since

    if body is None:
        body = {}
    if not isinstance(body, dict) or set(body) - {"modality", "since", "media_ids"}:
        raise ApiError(400, "bad_request",
                       'send JSON {"modality"?, "since"?, "media_ids"?} or no body')
    modality, since, ids = body.get("modality"), body.get("since"), body.get("media_ids")
    if modality is not None and modality not in MODALITIES:
        raise ApiError(400, "bad_parameter", f"modality must be one of {', '.join(MODALITIES)}")
    when = None
    if since is not None:
        try:
            when = parse_since(str(since))
        except ValueError as exc:
            raise ApiError(400, "bad_parameter", "since must be an ISO 8601 date") from exc
    if ids is not None and not (isinstance(ids, list) and 0 < len(ids) <= MAX_MEDIA_IDS
                                and all(isinstance(i, str) and i for i in ids)):
        raise ApiError(400, "bad_parameter",
                       f"media_ids must be a list of 1 to {MAX_MEDIA_IDS} media ids")
    return Filters(modality, when, tuple(ids) if ids is not None else None)


def public_rescan(job: dict[str, Any]) -> dict[str, Any]:
    """A rescan as the API shows it: status, filters, progress or summary, links."""
    from workflows.argo_engine import argo_ui_link

    counts = job.get("summary") or rescans.summary(db(), job)
    return {"rescan_id": job["job_id"], "status": job["status"], "engine": job.get("engine"),
            "filters": job.get("filters") or {}, "started_by": job.get("started_by"),
            "error": job.get("error"), "summary": counts,
            "from_versions": job.get("from_versions") or {},
            "created_at": job.get("created_at"), "finished_at": job.get("finished_at"),
            "links": {"self": url_for("rescans.get_rescan", rescan_id=job["job_id"]),
                      "argo_ui": argo_ui_link(job, settings().argo_ui_url)}}


@bp.post("")
@documented({202: RescanStarted}, body=RescanRequest, tag="rescans")
@admin_only
def start() -> ResponseReturnValue:
    """Start a rescan now on the configured engine: 202 `{rescan_id, status_url}`."""
    from api.address import client_address
    from storage import audit
    from storage.logs import log_event
    from workflows.rescan_runner import RescanRunning, start_rescan

    body = request.get_json(silent=True) if request.data else None
    if request.data and body is None:
        raise ApiError(400, "bad_request", "the body is not JSON")
    filters = _filters(body)
    user = current_user()["user_id"]
    try:
        rescan_id = start_rescan(settings(), filters, started_by=user,
                                 session=current_app.config.get("ARGO_SESSION"))
    except RescanRunning as exc:
        raise ApiError(409, "conflict", str(exc)) from exc
    except Exception as exc:
        log_event(db(), "error", "rescan.failed", user_id=user, error=str(exc))
        raise ApiError(503, "unavailable", "the rescan could not be started") from exc
    audit.record(db(), "rescan.started", user_id=user, address=client_address(),
                 rescan_id=rescan_id, filters=filters.as_parameters())
    status_url = url_for("rescans.get_rescan", rescan_id=rescan_id)
    return jsonify({"rescan_id": rescan_id, "status_url": status_url}), 202, {
        "Location": status_url}


@bp.get("")
@documented({200: RescansPage}, query=PageQuery, tag="rescans")
@admin_only
def list_all() -> ResponseReturnValue:
    """`{"items", "page", "per_page", "total"}` of rescans, newest first."""
    from api.paging import page_args

    page, per_page = page_args(MAX_PER_PAGE)
    items, total = rescans.list_rescans(db(), page, per_page)
    return jsonify({"items": [public_rescan(j) for j in items], "page": page,
                    "per_page": per_page, "total": total})


@bp.get("/<rescan_id>")
@documented({200: Rescan}, tag="rescans")
@admin_only
def get_rescan(rescan_id: str) -> ResponseReturnValue:
    """One rescan: progress while it runs (`summary.pending`), its summary once it ended."""
    job = rescans.get_rescan(db(), rescan_id)
    if job is None:
        raise ApiError(404, "not_found", f"no rescan {rescan_id}")
    return jsonify(public_rescan(job))
