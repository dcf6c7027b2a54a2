"""Explanation pictures: a heatmap PNG of where an image's evidence is, kept on the media volume."""

import os
import threading
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from steps.scratch import media_file, media_root, safe_id

HEATMAP_MAX_SIDE = 512
"""The PNG is drawn on a copy no larger than this. At 1024 px, drawing and PNG-encoding it was ~40%
of the API's time per sync image request (~50 ms on 2 busy cores); 512 px is a quarter of it."""


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

    The sync API path only records `heatmap_path` and draws it on the first GET of the heatmap
    (`api.results`), from the patch scores stored with the result."""
    rel = heatmap_path(job_id, media, result)
    if rel is None:
        return None
    if not render_heatmap(media_file(media["path"]), result.get("explanation") or {},
                          media_root() / rel):
        return None
    return rel
