"""Explanation files on the media volume, beside the results that name them: an image's heatmap,
a video's peak frame, a sound's waveform envelope (paths relative to MEDIA_ROOT)."""

from __future__ import annotations

import base64
import binascii
import json
from pathlib import Path
from typing import Any

from models.files import atomic_write_bytes
from storage.paths import media_file, safe_id
from storage.results import result_document

EXPLANATIONS = "explanations"
"""The folder under MEDIA_ROOT: `explanations/<job_id>/<media_id>.png` (and the suffixes below)."""
EVIDENCE_SUFFIX = {"video": ("frame", ".frame.png"), "audio": ("waveform", ".waveform.json")}
"""Modality -> (the key under `explanation`, the file's suffix beside the heatmap)."""
EVIDENCE_KEYS = tuple(key for key, _suffix in EVIDENCE_SUFFIX.values())
"""Keys of a result's `explanation` naming a file drawn beside the `heatmap`."""
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

# The drawing and decoding modules (cv2) are imported only where a file is drawn: `storage.purge`
# (the CLI's `media delete`, the retention purge) reads EVIDENCE_KEYS without loading them.


def heatmap_path(job_id: str, media: dict[str, Any], result: dict[str, Any]) -> str | None:
    """Where an image result's heatmap goes: `explanations/<job_id>/<media_id>.png` relative to
    MEDIA_ROOT; None for other modalities or without patches (nothing to draw)."""
    explanation = result.get("explanation") or {}
    units = explanation.get("units") or []
    if media.get("modality") != "image" or not any("box" in u for u in units):
        return None
    return str(Path(EXPLANATIONS) / safe_id(job_id) / f"{safe_id(media['media_id'])}.png")


def write_heatmap(media_root: Path, job_id: str, media: dict[str, Any],
                  result: dict[str, Any]) -> str | None:
    """For an image result, draw `explanations/<job_id>/<media_id>.png` under `media_root` from
    the stored upload and return that path (relative to MEDIA_ROOT); None for other modalities
    or without patches. Decodes the upload: for the worker (the API uses `write_sent_heatmap`)."""
    from models.explain import render_heatmap

    rel = heatmap_path(job_id, media, result)
    if rel is None:
        return None
    if not render_heatmap(media_file(media_root, media["path"]), result.get("explanation") or {},
                          media_root / rel):
        return None
    return rel


def write_sent_heatmap(media_root: Path, job_id: str, media: dict[str, Any],
                       result: dict[str, Any]) -> str | None:
    """Write the heatmap PNG the inference service drew and sent (`heatmap_png`, base64) where
    `write_heatmap` would; its path, or None when none came. Decodes nothing: for the API."""
    rel = heatmap_path(job_id, media, result)
    sent = result.get("heatmap_png")
    if rel is None or not isinstance(sent, str):
        return None
    try:
        png = base64.b64decode(sent, validate=True)
    except (binascii.Error, ValueError):
        return None
    if not png.startswith(PNG_SIGNATURE):
        return None
    atomic_write_bytes(media_root / rel, png)
    return rel


def evidence_path(job_id: str, media: dict[str, Any]) -> tuple[str, str] | None:
    """(key, path relative to MEDIA_ROOT) of a video's peak frame or a sound's waveform:
    `explanations/<job_id>/<media_id>.frame.png` / `.waveform.json`; None for other modalities."""
    key_suffix = EVIDENCE_SUFFIX.get(media.get("modality") or "")
    if key_suffix is None:
        return None
    key, suffix = key_suffix
    name = f"{safe_id(media['media_id'])}{suffix}"
    return key, str(Path(EXPLANATIONS) / safe_id(job_id) / name)


def write_evidence(media_root: Path, job_id: str, media: dict[str, Any], result: dict[str, Any],
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
        from models.explain import peak_frame_png

        png = peak_frame_png(media_file(media_root, media["path"]),
                             result.get("explanation") or {})
        if png is None:
            return {}
        atomic_write_bytes(media_root / rel, png)
    else:
        envelope = result.get("waveform")
        if envelope is None and not decode:
            return {}
        if envelope is None:
            from models.media.decode import decode_audio, waveform_envelope

            try:
                envelope = waveform_envelope(*decode_audio(media_file(media_root, media["path"])))
            except Exception:  # noqa: BLE001 - unreadable now: no waveform, the result stands
                return {}
        atomic_write_bytes(media_root / rel, json.dumps(envelope).encode())
    return {key: rel}


def build_result(media_root: Path, job_id: str, media: dict[str, Any], result: dict[str, Any],
                 lazy_heatmap: bool = False) -> dict[str, Any]:
    """`storage.results.result_document` plus the explanation files written to the media volume,
    where they outlive the job's scratch space: an image's heatmap PNG, a video's peak-frame PNG,
    a sound's waveform envelope (`explanation.heatmap` / `.frame` / `.waveform`, relative to
    MEDIA_ROOT).

    `lazy_heatmap` (the sync API path, in the process that holds the secrets) decodes nothing:
    it writes only what the inference service drew and sent with the result (`heatmap_png`,
    base64, and `waveform`), and records no heatmap when none came."""
    doc = result_document(job_id, media, result)
    if lazy_heatmap:
        heatmap = write_sent_heatmap(media_root, job_id, media, result)
    else:
        heatmap = write_heatmap(media_root, job_id, media, result)
    if heatmap:
        doc["explanation"] = {**(doc.get("explanation") or {}), "heatmap": heatmap}
    evidence = write_evidence(media_root, job_id, media, result, decode=not lazy_heatmap)
    if evidence:
        doc["explanation"] = {**(doc.get("explanation") or {}), **evidence}
    return doc
