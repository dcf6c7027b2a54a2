"""Request body limits per route, refused from `Content-Length` before auth or any read."""

from __future__ import annotations

from flask import Flask, current_app, request

from api.errors import ApiError
from config import Limits

UPLOAD_ENDPOINTS = frozenset({"detections.create_detection"})
"""Routes that take media; every other route takes at most MAX_JSON_BODY_BYTES."""


def body_limit(endpoint: str | None, limits: Limits) -> tuple[int, str]:
    """(bytes, what sets them) for a request to `endpoint` (None: no route matched)."""
    if endpoint in UPLOAD_ENDPOINTS:
        return limits.max_request_bytes, "MAX_UPLOAD_BYTES + MULTIPART_OVERHEAD_BYTES"
    return limits.max_json_body_bytes, "MAX_JSON_BODY_BYTES"


def _check_body() -> None:
    limit, name = body_limit(request.endpoint, current_app.config["LIMITS"])
    app_cap = current_app.config.get("MAX_CONTENT_LENGTH")
    if app_cap is not None and app_cap < limit:
        limit, name = app_cap, "MAX_CONTENT_LENGTH"
    request.max_content_length = limit  # werkzeug stops a chunked body there too
    request.max_form_parts = current_app.config["LIMITS"].max_form_parts  # 413 as it parses
    length = request.content_length
    if length is not None and length > limit:
        raise ApiError(413, "too_large", f"the request body is {length} bytes; the limit for "
                       f"this route is {limit} bytes ({name})")


def register_body_limits(app: Flask) -> None:
    """Check every request's declared length: app-level hooks run before the blueprints'
    token checks, and nothing has read the body yet."""
    app.before_request(_check_body)
