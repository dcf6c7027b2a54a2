"""Evidence drawn from the caller's own media: a video's peak frame (PNG), an audio waveform."""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from flask import Blueprint, jsonify, request, send_file
from flask.typing import ResponseReturnValue

from api.auth import current_user, require_token
from api.context import db, settings
from api.errors import ApiError
from storage import media, results

bp = Blueprint("evidence", __name__, url_prefix="/api/v1/results")
require_token(bp)
FRAME_MAX_SIDE = 640
WAVEFORM_BUCKETS = 800
"""Columns of the waveform envelope: (min, max) of the samples in each."""


def _owned(media_id: str, modality: str) -> tuple[dict[str, Any], Path]:
    """The newest result of the caller's `modality` media and the media file; 404 otherwise
    (someone else's media looks exactly like a missing one)."""
    owner = current_user()["user_id"]
    doc = results.latest_result(db(), media_id, owner)
    item = media.get_media(db(), media_id, owner)
    root = settings().media_root.resolve()
    path = (root / item["path"]).resolve() if item and item.get("path") else None
    if (doc is None or item is None or item.get("modality") != modality or path is None
            or not path.is_relative_to(root) or not path.is_file()):
        raise ApiError(404, "not_found", f"no {modality} evidence for media {media_id}")
    return doc, path


def _peak_unit(explanation: dict[str, Any]) -> dict[str, Any] | None:
    units = [u for u in explanation.get("units") or [] if "time_s" in u]
    return max(units, key=lambda u: float(u.get("score") or 0.0)) if units else None


def _read_frame(path: Path, seconds: float) -> np.ndarray | None:
    cap = cv2.VideoCapture(str(path))
    try:
        cap.set(cv2.CAP_PROP_POS_MSEC, max(0.0, seconds) * 1000.0)
        ok, frame = cap.read()
        if not ok or frame is None:  # some containers cannot seek by time: count frames
            cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
            fps = cap.get(cv2.CAP_PROP_FPS) or 25.0
            for _ in range(int(seconds * fps) + 1):
                ok, frame = cap.read()
                if not ok:
                    break
        return frame if ok else None
    finally:
        cap.release()


@bp.get("/<media_id>/frame")
def peak_frame(media_id: str) -> ResponseReturnValue:
    """The frame of one of the caller's videos at `t` seconds (default: the frame the detector
    found most suspicious), its scored crop and faces outlined, as a PNG."""
    doc, path = _owned(media_id, "video")
    peak = _peak_unit(doc.get("explanation") or {})
    try:
        seconds = float(request.args.get("t", peak["time_s"] if peak else 0.0))
    except ValueError as exc:
        raise ApiError(400, "bad_parameter", "t must be a number of seconds") from exc
    if not math.isfinite(seconds):
        raise ApiError(400, "bad_parameter", "t must be a number of seconds")
    frame = _read_frame(path, seconds)
    if frame is None:
        raise ApiError(404, "not_found", f"no frame at {seconds:.2f} s in media {media_id}")
    if peak and "t" not in request.args:
        for x, y, w, h in [peak.get("box") or []] + list(peak.get("faces") or []):
            cv2.rectangle(frame, (int(x), int(y)), (int(x + w), int(y + h)), (255, 255, 255), 2)
    scale = min(1.0, FRAME_MAX_SIDE / max(frame.shape[:2]))
    if scale < 1:
        frame = cv2.resize(frame, (round(frame.shape[1] * scale), round(frame.shape[0] * scale)))
    png = cv2.imencode(".png", frame)[1].tobytes()
    return send_file(io.BytesIO(png), mimetype="image/png")


@bp.get("/<media_id>/waveform")
def waveform(media_id: str) -> ResponseReturnValue:
    """`{"duration_s", "peaks": [[min, max], ...]}`: the envelope of one of the caller's sound
    files (mono, 16 kHz), for drawing its waveform without sending the sound itself."""
    from models.features import decode_audio

    _doc, path = _owned(media_id, "audio")
    try:
        samples, rate = decode_audio(path)
    except Exception as exc:  # unreadable now: same as missing
        raise ApiError(404, "not_found", f"no waveform for media {media_id}") from exc
    buckets = max(1, min(WAVEFORM_BUCKETS, len(samples)))
    peaks = [[round(float(part.min()), 4), round(float(part.max()), 4)]
             for part in np.array_split(samples, buckets) if len(part)]
    return jsonify({"duration_s": round(len(samples) / rate, 3), "peaks": peaks})
