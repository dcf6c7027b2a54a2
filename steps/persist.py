"""Step 3 of detect: write one media's result to MongoDB (one per media and model version, so
retries are safe), noting the verdict it replaced when that differs (`changed_from`)."""

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

from hera.workflows import Parameter, script

from steps.scratch import media_root, scratch_file

RESULT_FIELDS = ("score", "verdict", "model", "explanation")
REFUSAL_FIELDS = ("reason", "reason_code")
"""Kept only on `not_applicable` results (`models.scoring.not_applicable_result`)."""


def explanations_dir() -> Path:
    """Where large explanation artefacts (e.g. heatmap PNGs) go: `MEDIA_ROOT/explanations`."""
    return media_root() / "explanations"


def result_document(job_id: str, media: dict[str, Any], result: dict[str, Any]) -> dict[str, Any]:
    """The results-collection document for one media of one job.

    `created_at` is left to `upsert_result`: set on the first write and kept by a retry."""
    doc = {
        "job_id": job_id,
        "media_id": media["media_id"],
        "owner": media.get("owner"),
        "sha256": media.get("sha256"),
        "modality": media.get("modality") or result.get("modality"),
        "filename": media.get("filename"),
        "scored_at": result.get("scored_at") or datetime.now(UTC).isoformat(),
    }
    doc.update({k: result.get(k) for k in RESULT_FIELDS})
    doc.update({k: result[k] for k in REFUSAL_FIELDS if result.get(k) is not None})
    if result.get("ensemble"):  # several models scored it: each one's score and the combined
        doc["ensemble"] = result["ensemble"]
    return doc


def build_result(job_id: str, media: dict[str, Any], result: dict[str, Any],
                 lazy_heatmap: bool = False) -> dict[str, Any]:
    """`result_document` plus the explanation artefacts written to the media volume, where they
    outlive the job's scratch space: an image's heatmap PNG, a video's peak-frame PNG, a sound's
    waveform envelope (`explanation.heatmap` / `.frame` / `.waveform`, relative to MEDIA_ROOT).

    `lazy_heatmap` (the sync API path, in the process that holds the secrets) decodes nothing:
    it writes only what the inference service drew and sent with the result (`heatmap_png`,
    base64, and `waveform`), and records no heatmap when none came."""
    from steps.explain import write_evidence, write_heatmap, write_sent_heatmap

    doc = result_document(job_id, media, result)
    if lazy_heatmap:
        heatmap = write_sent_heatmap(job_id, media, result)
    else:
        heatmap = write_heatmap(job_id, media, result)
    if heatmap:
        doc["explanation"] = {**(doc.get("explanation") or {}), "heatmap": heatmap}
    evidence = write_evidence(job_id, media, result, decode=not lazy_heatmap)
    if evidence:
        doc["explanation"] = {**(doc.get("explanation") or {}), **evidence}
    return doc


def note_change(previous: dict[str, Any] | None, doc: dict[str, Any]) -> dict[str, Any]:
    """`doc` with `changed_from` (the earlier verdict) and `previous_model` when `previous`, the
    media's newest result so far, came from another model version and had another verdict."""
    if previous is None or _model_key(previous) == _model_key(doc):
        return doc  # the first result, or a retry of this one
    doc = {**doc, "previous_model": previous.get("model")}
    if previous.get("verdict") != doc.get("verdict"):
        doc["changed_from"] = previous.get("verdict")
    return doc


def _model_key(doc: dict[str, Any]) -> tuple[str, str]:
    model = doc.get("model") or {}
    return str(model.get("name")), str(model.get("version"))


@script(constructor="runner")
def persist(
    job_id: str, media_id: str, result_path: str
) -> Annotated[str, Parameter(name="media_id")]:
    """Upsert the result at `result_path` for (`job_id`, `media_id`) into MongoDB."""
    from storage.db import get_db
    from storage.media import get_media
    from storage.results import latest_result, upsert_result

    db = get_db()
    media = get_media(db, media_id)
    if media is None:
        raise LookupError(f"media {media_id} not found")
    result = json.loads(scratch_file(result_path).read_text())
    doc = build_result(job_id, media, result)
    previous = latest_result(db, media_id)
    # a new current result unless this model's is current already (a retry keeps it as it was)
    rescore = previous is None or _model_key(previous) != _model_key(doc)
    upsert_result(db, note_change(previous, doc), fresh=rescore,
                  take_over=previous is not None and rescore)
    return media_id
