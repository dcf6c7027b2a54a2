"""Evidence the workers drew from the caller's media: a video's peak frame, a sound's waveform."""

from __future__ import annotations

import json
from pathlib import Path

from flask import Blueprint, jsonify, send_file
from flask.typing import ResponseReturnValue

from api.auth import current_user, require_token
from api.context import db, settings
from api.errors import ApiError
from api.openapi import documented
from api.schemas import Waveform
from storage import results
from storage.paths import stored_file

bp = Blueprint("evidence", __name__, url_prefix="/api/v1/results")
require_token(bp)


def _stored(media_id: str, key: str, what: str) -> Path:
    """The file the worker wrote for the newest result of one of the caller's media, recorded as
    `explanation.<key>`; 404 when there is none (someone else's media looks exactly like a
    missing one). The API only reads what the worker wrote: it decodes no upload itself."""
    doc = results.latest_result(db(), media_id, current_user()["user_id"])
    path = stored_file(settings().media_root, ((doc or {}).get("explanation") or {}).get(key))
    if path is None:
        raise ApiError(404, "not_found", f"no {what} for media {media_id}")
    return path


@bp.get("/<media_id>/frame")
@documented({200: "image/png"})
def peak_frame(media_id: str) -> ResponseReturnValue:
    """The most suspicious frame of one of the caller's videos, its scored crop and faces
    outlined, as a PNG (drawn by the worker that scored it)."""
    return send_file(_stored(media_id, "frame", "peak frame"), mimetype="image/png")


@bp.get("/<media_id>/waveform")
@documented({200: Waveform})
def waveform(media_id: str) -> ResponseReturnValue:
    """`{"duration_s", "peaks": [[min, max], ...]}`: the envelope of one of the caller's sound
    files (mono, 16 kHz, 800 columns), for drawing its waveform without sending the sound."""
    path = _stored(media_id, "waveform", "waveform")
    try:
        body = json.loads(path.read_text())
    except (OSError, ValueError) as exc:  # cut short or unreadable now: same as missing
        raise ApiError(404, "not_found", f"no waveform for media {media_id}") from exc
    return jsonify({"duration_s": body.get("duration_s"), "peaks": body.get("peaks") or []})
