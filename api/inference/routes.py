"""The inference service's routes: /v1/score, /v1/score/text, /healthz, /readyz, /metrics.

The scoring routes (/v1/...) ask for the shared token (INFERENCE_TOKEN, `Authorization: Bearer`):
the service decodes untrusted media, so only the API, which holds the token, may hand it any."""

from __future__ import annotations

import hmac
import os
import tempfile
from pathlib import Path

from flask import Blueprint, Response, jsonify, request
from flask.typing import ResponseReturnValue

from api.error_codes import error_body
from api.errors import ApiError, error_response
from api.inference.metrics import CONTENT_TYPE
from api.inference.service import current_service
from api.request_bodies import clean_filename, json_text

CHUNK = 1 << 20
"""Bytes read from the request stream at a time; also the room left for multipart framing."""

bp = Blueprint("inference", __name__)


@bp.before_app_request
def _require_token() -> ResponseReturnValue | None:
    # app-wide, not just this blueprint's routes: an unknown /v1/ path or method is a 401 too,
    # so a caller without the token learns nothing of the routes
    if not request.path.startswith("/v1/"):
        return None
    given = request.headers.get("Authorization", "").encode()
    expected = f"Bearer {current_service().token}".encode()
    if not hmac.compare_digest(given, expected):
        return error_response(401, "unauthorized", "a valid INFERENCE_TOKEN is required")
    return None


def _save_body(dest: Path) -> str:
    """Write the request's media to `dest`; returns its filename (multipart or `?filename=`)."""
    if request.mimetype == "multipart/form-data":
        upload = request.files.get("file")
        if upload is None:
            raise ApiError(400, "missing_field", "send the media in the multipart field 'file'")
        upload.save(dest)
        return clean_filename(upload.filename or request.args.get("filename"))
    with dest.open("wb") as fh:
        while chunk := request.stream.read(CHUNK):
            fh.write(chunk)
    return clean_filename(request.args.get("filename"))


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    return jsonify({"status": "ok"})


@bp.get("/readyz")
def readyz() -> ResponseReturnValue:
    champions = current_service().champions
    ok, reasons = champions.ready()
    models = {m: ({"name": x.name, "version": str(x.version)} if x else None)
              for m in champions.modalities for x in [champions.get(m)]}
    if not ok:  # the reasons as they are: a probe's reader is the operator
        return jsonify(error_body("not_ready", "; ".join(reasons), status="unavailable",
                                  reasons=reasons, models=models)), 503
    return jsonify({"status": "ready", "models": models})


@bp.get("/metrics")
def prometheus() -> ResponseReturnValue:
    return Response(current_service().metrics.render(), mimetype=CONTENT_TYPE)


@bp.post("/v1/score")
def score_media() -> ResponseReturnValue:
    suffix = Path(clean_filename(request.args.get("filename"))).suffix[:16]
    # one temp file, not a temp folder: a folder costs more to remove, on every request
    handle, name = tempfile.mkstemp(prefix="score-", suffix=suffix)
    os.close(handle)
    path = Path(name)
    try:
        filename = _save_body(path)
        modality = request.args.get("modality") or None
        return jsonify(current_service().scorer.score_file(path, filename, modality))
    finally:
        path.unlink(missing_ok=True)


@bp.post("/v1/score/text")
def score_text() -> ResponseReturnValue:
    service = current_service()
    return jsonify(service.scorer.score_text(json_text(service.limits.max_text_chars)))
