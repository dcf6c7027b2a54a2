"""GET /api/v1/results (own, newest first, paged), /results/<media_id> (`?history=1`: every
result, newest first), its heatmap PNG, and DELETE /results/<media_id> (the media and all of it)."""

from __future__ import annotations

from flask import Blueprint, jsonify, request, send_file
from flask.typing import ResponseReturnValue

from api.auth import current_user, require_token
from api.context import db, settings
from api.errors import ApiError
from api.openapi import documented
from api.paging import page_args
from api.rescan_schemas import ResultOrHistory, ResultQuery
from api.schemas import PageQuery, ResultsPage
from api.serialize import public_result
from storage import results
from storage.paths import stored_file

bp = Blueprint("results", __name__, url_prefix="/api/v1/results")
require_token(bp)
MAX_PER_PAGE = 100



@bp.get("")
@documented({200: ResultsPage}, query=PageQuery)
def list_results() -> ResponseReturnValue:
    """`{"items", "page", "per_page", "total"}` of the caller's results."""
    page, per_page = page_args(MAX_PER_PAGE)
    items, total = results.list_results(db(), current_user()["user_id"], page, per_page)
    return jsonify({"items": [public_result(r) for r in items], "page": page,
                    "per_page": per_page, "total": total})


@bp.get("/<media_id>")
@documented({200: ResultOrHistory}, query=ResultQuery)
def latest_result(media_id: str) -> ResponseReturnValue:
    """The newest result for one of the caller's media; with `?history=1` every result of it,
    newest first, each with its model version, the job that made it and `changed_from`."""
    owner = current_user()["user_id"]
    if request.args.get("history") in ("1", "true"):
        history = results.result_history(db(), media_id, owner)
        if not history:
            raise ApiError(404, "not_found", f"no result for media {media_id}")
        return jsonify({"media_id": media_id, "history": history_items(history)})
    doc = results.latest_result(db(), media_id, owner)
    if doc is None:
        raise ApiError(404, "not_found", f"no result for media {media_id}")
    return jsonify(public_result(doc))


def history_items(history: list[dict]) -> list[dict]:
    """Results as the history shows them: `job` {job_id, mode: upload|rescan} and, when the
    verdict changed from the one before, `changed_from` (and `previous_model`)."""
    ids = sorted({r["job_id"] for r in history})
    modes = {j["job_id"]: j.get("mode") for j in db().jobs.find(
        {"job_id": {"$in": ids}}, {"_id": 0, "job_id": 1, "mode": 1})}
    items = []
    for doc in history:
        item = public_result(doc)
        mode = modes.get(doc["job_id"])
        item["job"] = {"job_id": doc["job_id"], "kind": "rescan" if mode == "rescan" else
                       "upload", "mode": mode}
        for key in ("changed_from", "previous_model"):
            if doc.get(key) is not None:
                item[key] = doc[key]
        items.append(item)
    return items


@bp.delete("/<media_id>")
@documented({204: {}})
def delete_media(media_id: str) -> ResponseReturnValue:
    """Delete one of the caller's media: the media document, its results, heatmaps and, when no
    other media shares them, its bytes. 404 for anyone else's media."""
    from api.address import client_address
    from storage import audit
    from storage.purge import delete_media_fully

    owner = current_user()["user_id"]
    removed = delete_media_fully(db(), settings().media_root, media_id, owner)
    if removed is None:
        raise ApiError(404, "not_found", f"no media {media_id}")
    audit.record(db(), "media.deleted", user_id=owner, address=client_address(), media_id=media_id,
              results=removed["results"], bytes_removed=removed["bytes_removed"])
    return "", 204


@bp.get("/<media_id>/heatmap")
@documented({200: "image/png"})
def heatmap(media_id: str) -> ResponseReturnValue:
    """The heatmap PNG of the newest result of one of the caller's images.

    Drawn by whoever decoded the image (a worker, or the inference service on the sync path);
    the API only sends the stored file and decodes no upload itself."""
    owner = current_user()["user_id"]
    doc = results.latest_result(db(), media_id, owner)
    path = stored_file(settings().media_root, ((doc or {}).get("explanation") or {}).get("heatmap"))
    if path is None:
        raise ApiError(404, "not_found", f"no heatmap for media {media_id}")
    return send_file(path, mimetype="image/png")  # Cache-Control: no-store (api/security.py)
