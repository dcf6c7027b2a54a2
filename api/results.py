"""GET /api/v1/results (own results, newest first, paged) and /api/v1/results/<media_id>."""

from __future__ import annotations

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue

from api.auth import current_user, require_token
from api.context import db
from api.errors import ApiError
from api.serialize import public_result
from storage import results

bp = Blueprint("results", __name__, url_prefix="/api/v1/results")
require_token(bp)
MAX_PER_PAGE = 100


def _int_arg(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    try:
        value = default if raw is None else int(raw)
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise ApiError(400, "bad_parameter", f"{name} must be an integer from {low} to {high}")
    return value


@bp.get("")
def list_results() -> ResponseReturnValue:
    """`{"items", "page", "per_page", "total"}` of the caller's results."""
    page = _int_arg("page", 1, 1, 1_000_000)
    per_page = _int_arg("per_page", 20, 1, MAX_PER_PAGE)
    items, total = results.list_results(db(), current_user()["user_id"], page, per_page)
    return jsonify({"items": [public_result(r) for r in items], "page": page,
                    "per_page": per_page, "total": total})


@bp.get("/<media_id>")
def latest_result(media_id: str) -> ResponseReturnValue:
    """The newest result for one of the caller's media."""
    doc = results.latest_result(db(), media_id, current_user()["user_id"])
    if doc is None:
        raise ApiError(404, "not_found", f"no result for media {media_id}")
    return jsonify(public_result(doc))
