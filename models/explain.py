"""Explanation images drawn from a scored media: an image's heatmap, a video's peak frame."""

import math
import os
import threading
from pathlib import Path
from typing import Any

import cv2
import numpy as np

HEATMAP_MAX_SIDE = 512
"""The PNG is drawn on a copy no larger than this: drawing and PNG-encoding grow with the area, and
a larger heatmap shows no more than the patch grid it draws."""
FRAME_MAX_SIDE = 640
"""The peak frame's PNG is no larger than this on a side."""


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
