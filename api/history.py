"""GET /api/v1/history: the caller's own results, filtered (modality, verdict, date), paged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue

from api.auth import current_user, require_token
from api.context import db, settings
from api.errors import ApiError
from api.models_admin import mlflow_ui_link
from api.openapi import documented
from api.paging import page_args
from api.schemas import HistoryPage, HistoryQuery
from api.serialize import public_result
from models import MODALITIES
from storage import history

bp = Blueprint("history", __name__, url_prefix="/api/v1/history")
require_token(bp)
VERDICTS = ("synthetic", "authentic", "uncertain", "not_applicable")
MAX_PER_PAGE = 100



def _choice(name: str, allowed: tuple[str, ...]) -> str | None:
    value = request.args.get(name) or None
    if value is not None and value not in allowed:
        raise ApiError(400, "bad_parameter", f"{name} must be one of {', '.join(allowed)}")
    return value


def _date_arg(name: str, end: bool) -> datetime | None:
    """An ISO 8601 date or datetime (UTC unless it says otherwise); a bare date as `until`
    means the end of that day."""
    raw = request.args.get(name)
    if not raw:
        return None
    try:
        when = datetime.fromisoformat(raw)
    except ValueError as exc:
        raise ApiError(400, "bad_parameter",
                       f"{name} must be an ISO 8601 date (YYYY-MM-DD) or datetime") from exc
    when = when if when.tzinfo else when.replace(tzinfo=UTC)
    if end and len(raw) == 10:  # YYYY-MM-DD: the whole day is in
        when += timedelta(days=1)
    return when


@bp.get("")
@documented({200: HistoryPage}, query=HistoryQuery)
def list_history() -> ResponseReturnValue:
    """`{"items", "page", "per_page", "total"}`: the caller's results matching `modality`,
    `verdict`, `since` and `until` (dates), newest first; each item adds `links.job`,
    `links.argo_ui` (its job's workflow in the Argo UI, null off Argo or without ARGO_UI_URL)
    and `links.mlflow` (its model version in the MLflow UI, null unless MLFLOW_UI_URL is set)."""
    page, per_page = page_args(MAX_PER_PAGE)
    since, until = _date_arg("since", end=False), _date_arg("until", end=True)
    items, total = history.find_results(
        db(), current_user()["user_id"], modality=_choice("modality", MODALITIES),
        verdict=_choice("verdict", VERDICTS), since=since, until=until, page=page,
        per_page=per_page)
    from workflows.argo_engine import argo_ui_link

    jobs = history.jobs_by_id(db(), [doc["job_id"] for doc in items])
    cfg = settings()
    out = []
    for doc in items:
        item = public_result(doc)
        model = item["model"]
        item["links"] = {**(item.get("links") or {}),
                         "job": f"/api/v1/jobs/{doc['job_id']}",
                         "argo_ui": argo_ui_link(jobs.get(doc["job_id"], {}), cfg.argo_ui_url),
                         "mlflow": mlflow_ui_link(cfg.mlflow_ui_url, model.get("name"),
                                                  model.get("version"))}
        out.append(item)
    return jsonify({"items": out, "page": page, "per_page": per_page, "total": total})
