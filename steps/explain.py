"""Explanation files on the media volume: image heatmap, video peak frame, waveform envelope."""

import json
import math
import os
import threading
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from models.files import atomic_write_bytes
from steps.scratch import media_file, media_root, safe_id

HEATMAP_MAX_SIDE = 512
"""The PNG is drawn on a copy no larger than this: drawing and PNG-encoding grow with the area, and
a larger heatmap shows no more than the patch grid it draws."""


def heatmap_image(image: np.ndarray, units: list[dict[str, Any]],
                  faces: list[list[int]]) -> np.ndarray:
    """The image with each scored patch tinted by its score (blue 0 -> red 1), faces outlined.

    Where patches overlap, the highest score shows. Untested areas stay as they are (greyed),
    so a reader sees which parts of the picture the detector looked at at all.
    """
    height, width = image.shape[:2]
    scale = min(1.0, HEATMAP_MAX_SIDE / max(height, width))
    base = cv2.resize(image, (round(width * scale), round(height * scale))) if scale < 1 else image
    heat = np.full(base.shape[:2], -1.0, np.float32)
    for unit in units:
        if "box" not in unit:
            continue
        x, y, w, h = (round(v * scale) for v in unit["box"])
        region = heat[y : y + h, x : x + w]
        np.maximum(region, float(unit["score"]), out=region)
    looked = heat >= 0
    colour = cv2.applyColorMap((np.clip(heat, 0, 1) * 255).astype(np.uint8), cv2.COLORMAP_JET)
    grey = cv2.cvtColor(cv2.cvtColor(base, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
    out = np.where(looked[..., None], cv2.addWeighted(base, 0.55, colour, 0.45, 0), grey // 2)
    for x, y, w, h in faces or []:
        p1 = (round(x * scale), round(y * scale))
        p2 = (round((x + w) * scale), round((y + h) * scale))
        cv2.rectangle(out, p1, p2, (255, 255, 255), 2)
    return out


def heatmap_path(job_id: str, media: dict[str, Any], result: dict[str, Any]) -> str | None:
    """Where an image result's heatmap goes: `explanations/<job_id>/<media_id>.png` relative to
    MEDIA_ROOT; None for other modalities or without patches (nothing to draw)."""
    explanation = result.get("explanation") or {}
    units = explanation.get("units") or []
    if media.get("modality") != "image" or not any("box" in u for u in units):
        return None
    return str(Path("explanations") / safe_id(job_id) / f"{safe_id(media['media_id'])}.png")


def render_heatmap(image_path: Path, explanation: dict[str, Any], dest: Path) -> bool:
    """Draw the heatmap of `explanation` (its patch `units` and `faces`) over the image at
    `image_path` into the PNG `dest` (written atomically; concurrent writers are safe).
    False when the image cannot be read."""
    image = cv2.imread(str(image_path), cv2.IMREAD_COLOR)
    if image is None:
        return False
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(f".{dest.stem}.{os.getpid()}.{threading.get_ident()}.part.png")
    try:
        cv2.imwrite(str(part), heatmap_image(image, explanation.get("units") or [],
                                             explanation.get("faces") or []))
        part.replace(dest)
    finally:
        part.unlink(missing_ok=True)
    return True


def write_heatmap(job_id: str, media: dict[str, Any], result: dict[str, Any]) -> str | None:
    """For an image result, write `explanations/<job_id>/<media_id>.png` under MEDIA_ROOT and
    return that path (relative to MEDIA_ROOT); None for other modalities or without patches.

    The sync API path decodes nothing: it writes the heatmap the inference service drew
    (`write_sent_heatmap`)."""
    rel = heatmap_path(job_id, media, result)
    if rel is None:
        return None
    if not render_heatmap(media_file(media["path"]), result.get("explanation") or {},
                          media_root() / rel):
        return None
    return rel


def write_sent_heatmap(job_id: str, media: dict[str, Any], result: dict[str, Any]) -> str | None:
    """Write the heatmap PNG the inference service drew and sent (`heatmap_png`, base64) where
    `write_heatmap` would; its path, or None when none came. Decodes nothing: for the API."""
    import base64
    import binascii

    rel = heatmap_path(job_id, media, result)
    sent = result.get("heatmap_png")
    if rel is None or not isinstance(sent, str):
        return None
    try:
        png = base64.b64decode(sent, validate=True)
    except (binascii.Error, ValueError):
        return None
    if not png.startswith(b"\x89PNG\r\n\x1a\n"):
        return None
    atomic_write_bytes(media_root() / rel, png)
    return rel


FRAME_MAX_SIDE = 640
"""The peak frame's PNG is no larger than this on a side."""
EVIDENCE_SUFFIX = {"video": ("frame", ".frame.png"), "audio": ("waveform", ".waveform.json")}
"""Modality -> (the key under `explanation`, the file's suffix beside the heatmap)."""



def peak_unit(explanation: dict[str, Any]) -> dict[str, Any] | None:
    """The most suspicious frame unit (highest score) of a video explanation; None without any."""
    units = [u for u in explanation.get("units") or [] if "time_s" in u]
    return max(units, key=lambda u: float(u.get("score") or 0.0)) if units else None


def read_frame(path: Path, seconds: float) -> np.ndarray | None:
    """The BGR frame of the video at `path` at `seconds` (counting frames where the container
    cannot seek by time); None when there is none."""
    cap = cv2.VideoCapture(str(path))
    try:
        cap.set(cv2.CAP_PROP_POS_MSEC, max(0.0, seconds) * 1000.0)
        ok, frame = cap.read()
        if not ok or frame is None:
            cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
            fps = cap.get(cv2.CAP_PROP_FPS) or 25.0
            if not math.isfinite(fps) or fps <= 0:
                fps = 25.0
            for _ in range(int(seconds * fps) + 1):
                ok, frame = cap.read()
                if not ok:
                    break
        return frame if ok else None
    finally:
        cap.release()


def peak_frame_png(video: Path, explanation: dict[str, Any]) -> bytes | None:
    """The PNG of the video's most suspicious frame, its scored crop and faces outlined in
    white, no larger than FRAME_MAX_SIDE; None without frame units or a readable frame."""
    peak = peak_unit(explanation)
    if peak is None:
        return None
    frame = read_frame(video, float(peak["time_s"]))
    if frame is None:
        return None
    for x, y, w, h in [peak.get("box") or []] + list(peak.get("faces") or []):
        cv2.rectangle(frame, (int(x), int(y)), (int(x + w), int(y + h)), (255, 255, 255), 2)
    scale = min(1.0, FRAME_MAX_SIDE / max(frame.shape[:2]))
    if scale < 1:
        frame = cv2.resize(frame, (round(frame.shape[1] * scale), round(frame.shape[0] * scale)))
    return cv2.imencode(".png", frame)[1].tobytes()


def evidence_path(job_id: str, media: dict[str, Any]) -> tuple[str, str] | None:
    """(key, path relative to MEDIA_ROOT) of a video's peak frame or a sound's waveform:
    `explanations/<job_id>/<media_id>.frame.png` / `.waveform.json`; None for other modalities."""
    key_suffix = EVIDENCE_SUFFIX.get(media.get("modality") or "")
    if key_suffix is None:
        return None
    key, suffix = key_suffix
    name = f"{safe_id(media['media_id'])}{suffix}"
    return key, str(Path("explanations") / safe_id(job_id) / name)


def write_evidence(job_id: str, media: dict[str, Any], result: dict[str, Any],
                   decode: bool = True) -> dict[str, str]:
    """In the worker (which decodes; the API never does): for a video the peak-frame PNG, for a
    sound the waveform envelope JSON, beside the heatmap; `{key: path relative to MEDIA_ROOT}`
    to record under the result's `explanation`, empty when there is nothing to write.

    A sound's envelope already computed by whoever decoded it (the inference service answers
    with `waveform`) is written as it is, without decoding the file again. `decode=False` (the
    API's sync path) writes only such an envelope and decodes nothing."""
    where = evidence_path(job_id, media)
    if where is None or result.get("reason_code"):
        return {}
    key, rel = where
    if key == "frame":
        if not decode:
            return {}
        png = peak_frame_png(media_file(media["path"]), result.get("explanation") or {})
        if png is None:
            return {}
        atomic_write_bytes(media_root() / rel, png)
    else:
        envelope = result.get("waveform")
        if envelope is None and not decode:
            return {}
        if envelope is None:
            from models.media.decode import decode_audio, waveform_envelope

            try:
                envelope = waveform_envelope(*decode_audio(media_file(media["path"])))
            except Exception:  # noqa: BLE001 - unreadable now: no waveform, the result stands
                return {}
        atomic_write_bytes(media_root() / rel, json.dumps(envelope).encode())
    return {key: rel}
