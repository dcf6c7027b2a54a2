"""The error codes the API and the inference service answer: each one's HTTP status and meaning.

Both services answer every 4xx and 5xx as `error_body(...)`: `{"error": {"code", "message"}}`,
sometimes with fields beside `error` (`job_id`, `filename`, `reasons`). docs/api.md lists this
table row for row (a test compares them). The module imports nothing, so the inference service
takes the table without the API's blueprints.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ErrorCode:
    """An error code's HTTP status and what it means; `default` marks the code an error of that
    status gets when it names none (werkzeug's 404 and 405, a probe's 413, 415 and 422)."""

    status: int
    meaning: str
    default: bool = False


ERROR_CODES: dict[str, ErrorCode] = {
    "bad_request": ErrorCode(400, "the request is malformed or a value in it is wrong", True),
    "bad_json": ErrorCode(400, "the body is not valid JSON, or not a JSON object"),
    "missing_field": ErrorCode(400, "a required form field or JSON key is missing or of the "
                                    "wrong type"),
    "bad_parameter": ErrorCode(400, "a query parameter is out of range or not one of its "
                                    "values"),
    "bad_mode": ErrorCode(400, "`mode` is neither `sync` nor `async`"),
    "bad_modality": ErrorCode(400, "`modality` is not one of the detector's modalities "
                                   "(inference service)"),
    "bad_callback_url": ErrorCode(400, "`callback_url` is not an http(s) URL the API may call"),
    "weak_password": ErrorCode(400, "the new password is too short"),
    "unauthorized": ErrorCode(401, "missing, expired or invalid credentials (bearer token, "
                                   "Basic, or the inference service's INFERENCE_TOKEN)", True),
    "forbidden": ErrorCode(403, "the caller may not do this (admins only)", True),
    "wrong_password": ErrorCode(403, "the current password is wrong"),
    "not_found": ErrorCode(404, "no such route, or nothing of the caller's with that id", True),
    "method_not_allowed": ErrorCode(405, "the route does not take this method (`Allow` lists "
                                         "those it does)", True),
    "conflict": ErrorCode(409, "the request clashes with the current state (a name taken, a "
                               "job that cannot take the action)", True),
    "too_large": ErrorCode(413, "the body, a media or a text is over its limit", True),
    "too_many_files": ErrorCode(413, "more files in one request than MAX_FILES_PER_REQUEST"),
    "unsupported_type": ErrorCode(415, "the body or the media is of a type the detector does "
                                       "not take", True),
    "invalid_media": ErrorCode(422, "the media is empty, corrupt, truncated or too short",
                               True),
    "modality_mismatch": ErrorCode(422, "the media holds another modality than the one asked "
                                        "for (inference service)"),
    "too_many_requests": ErrorCode(429, "a rate limit is reached (`Retry-After` says when to "
                                        "retry)", True),
    "internal_error": ErrorCode(500, "an unexpected error; the details are in the server's "
                                     "log only", True),
    "unavailable": ErrorCode(503, "a service the request needs (MongoDB, the rescan engine) "
                                  "does not answer; retry", True),
    "engine_unavailable": ErrorCode(503, "the job could not be submitted to the workflow "
                                         "engine (the answer names `job_id`)"),
    "not_ready": ErrorCode(503, "a readiness probe failed (`reasons` says why)"),
    "model_unavailable": ErrorCode(503, "the inference service has no model of that modality "
                                        "loaded yet"),
    "insufficient_storage": ErrorCode(507, "no space is left to store the upload", True),
}

FALLBACK_CODE = "error"
"""The code of an HTTP error whose status has no default code (werkzeug's 411, 414, 501 ...)."""

_DEFAULTS = {entry.status: code for code, entry in ERROR_CODES.items() if entry.default}


def code_for(status: int) -> str:
    """The default error code of an HTTP status (FALLBACK_CODE when it has none)."""
    return _DEFAULTS.get(status, FALLBACK_CODE)


def error_body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    """The JSON of an error answer: `{"error": {"code", "message"}}` and the `extra` fields."""
    return {"error": {"code": code, "message": message}, **extra}
