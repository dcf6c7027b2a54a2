"""JSON errors: `{"error": {"code", "message"}}` for every 4xx/5xx, werkzeug's included; no
message carries a server path, a URL or a stack trace (`redact`)."""

from __future__ import annotations

import errno
import re
from typing import Any

from flask import Flask, current_app, jsonify, request
from flask.typing import ResponseReturnValue
from pymongo.errors import ConnectionFailure
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_type",
    422: "invalid_media",
    429: "too_many_requests",
    500: "internal_error",
    503: "unavailable",
    507: "insufficient_storage",
}


class ApiError(Exception):
    """An error answered as JSON with `status`; `extra` adds top-level fields (e.g. job_id)."""

    def __init__(self, status: int, code: str, message: str, **extra: Any):
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra


_URL = re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s'\"<>]+", re.IGNORECASE)
_PATH = re.compile(r"(?<![\w.])(?:[A-Za-z]:)?(?:[/\\][\w.\-~+@]+){2,}[/\\]?")
_HOST_PORT = re.compile(
    r"\b(?:\d{1,3}(?:\.\d{1,3}){3}|(?:[a-z0-9-]+\.)*[a-z][a-z0-9-]*):\d{2,5}\b", re.IGNORECASE)
_TRACE = re.compile(r"Traceback \(most recent call last\):.*", re.DOTALL)


def redact(text: str) -> str:
    """`text` without stack traces, URLs, host:port pairs and absolute file paths (each
    replaced by a placeholder): what a client may see of an internal error's text."""
    text = _TRACE.sub("<trace>", text)
    text = _URL.sub("<url>", text)
    text = _HOST_PORT.sub("<host>", text)
    return _PATH.sub("<path>", text)


def code_for(status: int) -> str:
    """The default error code of an HTTP status."""
    return _CODES.get(status, "error")


def error_response(status: int, code: str, message: str, **extra: Any) -> ResponseReturnValue:
    """The JSON error body and status; the message is `redact`ed (a last line of defence: the
    code that raises should not put internals in it at all)."""
    return jsonify({"error": {"code": code, "message": redact(message)}, **extra}), status


def _api_error(exc: ApiError) -> ResponseReturnValue:
    return error_response(exc.status, exc.code, exc.message, **exc.extra)


def _http_error(exc: HTTPException) -> ResponseReturnValue:
    if exc.code is None or exc.code < 400:
        return exc
    response = exc.get_response()
    if isinstance(exc, RequestEntityTooLarge) and request.mimetype == "multipart/form-data":
        return error_response(413, "too_large", _form_too_large())
    body, status = error_response(exc.code, code_for(exc.code), exc.description or exc.name)
    for name in ("Allow", "WWW-Authenticate", "Retry-After"):
        if name in response.headers:
            body.headers[name] = response.headers[name]
    return body, status


def _form_too_large() -> str:
    """What werkzeug's form parser refused: too many parts, a field too long, or a chunked
    body past the route's limit (a declared length is refused earlier, `api.bodylimit`)."""
    return (f"the multipart body has more than {request.max_form_parts} parts (MAX_FORM_PARTS), "
            f"a form field over {request.max_form_memory_size} bytes, or more than "
            f"{request.max_content_length} bytes in all")


def _unexpected(exc: Exception) -> ResponseReturnValue:
    current_app.logger.exception("unhandled error: %s", exc)
    return error_response(500, "internal_error", "internal server error")


DATABASE_RETRY_AFTER_S = "5"


def _database_down(exc: ConnectionFailure) -> ResponseReturnValue:
    """MongoDB unreachable: 503 without the driver's text (it names hosts and ports)."""
    current_app.logger.error("database unavailable: %s", exc)
    body, status = error_response(503, "unavailable", "the database is unavailable; try again")
    body.headers["Retry-After"] = DATABASE_RETRY_AFTER_S
    return body, status


FULL = (errno.ENOSPC, errno.EDQUOT)


def _os_error(exc: OSError) -> ResponseReturnValue:
    """A full volume (ENOSPC, EDQUOT) is a 507; any other OSError an internal error."""
    if exc.errno not in FULL:
        return _unexpected(exc)
    current_app.logger.error("storage full: %s", exc)
    return error_response(507, "insufficient_storage",
                          "no space left to store the upload; try again later")


def register_errors(app: Flask) -> None:
    """Install the JSON error handlers on `app`."""
    app.register_error_handler(ApiError, _api_error)
    app.register_error_handler(ConnectionFailure, _database_down)
    app.register_error_handler(OSError, _os_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)
