"""Request-body rules both services share: a client's filename made safe, and the JSON text body."""

from __future__ import annotations

from pathlib import Path

from flask import request

from api.errors import ApiError

JSON_OVERHEAD_BYTES = 4096
"""Room for the JSON wrapper around a text body; each character may take up to 4 UTF-8 bytes."""


def clean_filename(name: str | None) -> str:
    """The last path component of a client's filename, at most 255 characters, or "upload"."""
    base = Path((name or "").replace("\\", "/")).name.strip()
    return base[:255] or "upload"


def json_text(max_chars: int) -> str:
    """The `text` of a JSON body `{"text": "..."}`; 413 when the body cannot hold at most
    `max_chars` characters, 400 when it is not JSON or has no string `text`."""
    if (request.content_length or 0) > 4 * max_chars + JSON_OVERHEAD_BYTES:
        raise ApiError(413, "too_large", f"the text is longer than {max_chars} characters")
    body = request.get_json(silent=True)
    if body is None:
        raise ApiError(400, "bad_json", "the request body is not valid JSON")
    if not isinstance(body, dict) or not isinstance(body.get("text"), str):
        raise ApiError(400, "missing_field", 'send JSON {"text": "..."} with a string')
    return body["text"]
