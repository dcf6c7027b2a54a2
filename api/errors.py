"""JSON errors of both services (the codes: `api.error_codes`); no message carries a server
path, a URL or a stack trace (`redact`).

`register_json_errors` installs what the API and the inference service share: `ApiError`,
werkzeug's errors and unexpected exceptions. `register_errors` adds the API's own: MongoDB
down, a full volume, a multipart form over its limits."""

from __future__ import annotations

import errno
import re
from typing import Any

from flask import Flask, current_app, jsonify, request
from flask.typing import ResponseReturnValue
from pymongo.errors import ConnectionFailure
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from api.error_codes import code_for, error_body


class ApiError(Exception):
    """An error answered as JSON with `status` and `code` (one of `api.error_codes.ERROR_CODES`);
    `extra` adds top-level fields (e.g. job_id)."""

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


def error_response(status: int, code: str, message: str, **extra: Any) -> ResponseReturnValue:
    """The JSON error body and status; the message is `redact`ed (a last line of defence: the
    code that raises should not put internals in it at all)."""
    return jsonify(error_body(code, redact(message), **extra)), status


def _api_error(exc: ApiError) -> ResponseReturnValue:
    return error_response(exc.status, exc.code, exc.message, **exc.extra)


def _http_error(exc: HTTPException) -> ResponseReturnValue:
    if exc.code is None or exc.code < 400:
        return exc
    response = exc.get_response()
    body, status = error_response(exc.code, code_for(exc.code), exc.description or exc.name)
    for name in ("Allow", "WWW-Authenticate", "Retry-After"):
        if name in response.headers:
            body.headers[name] = response.headers[name]
    return body, status


def _too_large(exc: RequestEntityTooLarge) -> ResponseReturnValue:
    """A multipart form werkzeug's parser refused gets a message that names the form's limits."""
    if request.mimetype != "multipart/form-data":
        return _http_error(exc)
    return error_response(413, "too_large", _form_too_large())


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


def register_json_errors(app: Flask) -> None:
    """Answer `ApiError`, werkzeug's 4xx/5xx and any unexpected exception as JSON (both
    services)."""
    app.register_error_handler(ApiError, _api_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)


def register_errors(app: Flask) -> None:
    """Install the API's JSON error handlers on `app`: the shared ones, and MongoDB down (503),
    a full volume (507) and a refused multipart form (413)."""
    register_json_errors(app)
    app.register_error_handler(ConnectionFailure, _database_down)
    app.register_error_handler(OSError, _os_error)
    app.register_error_handler(RequestEntityTooLarge, _too_large)
