"""Sync detections through the warm inference service; says when it must fall back to the engine.

The API never runs a model itself: it hands the stored file to the inference service
(`INFERENCE_URL`) and persists what comes back, exactly as the workflow's persist step would.
When the service is down, slow or not ready, the caller submits the same job to the workflow
engine instead, so nothing is lost.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pymongo.database import Database

from models.serving.client import InferenceClient, InferenceRejected, InferenceUnavailable
from steps.persist import build_result
from storage import jobs, logs, media, results
from storage._common import utcnow


class FallBack(Exception):
    """The inference service could not score the job; run it on the engine instead."""


def score_job(db: Database, job: dict[str, Any], client: InferenceClient,
              media_root: Path) -> None:
    """Score every media of `job` with the service and persist the results; mark the job done.

    Raises `FallBack` (the job is left queued, results written so far are idempotent and
    will be rewritten by the engine) when the service is unavailable.
    """
    job_id = job["job_id"]
    jobs.update_job(db, job_id, status="running")
    for index, media_id in enumerate(job["media_ids"]):
        node = f"inference({index})"
        doc = media.get_media(db, media_id)
        started = utcnow()
        try:
            result = client.score_file(media_root / doc["path"], doc["filename"], doc["modality"])
        except InferenceUnavailable as exc:
            jobs.update_job(db, job_id, status="queued")
            logs.log_event(db, "warning", "inference.fallback", job_id=job_id, error=str(exc))
            raise FallBack(str(exc)) from exc
        except InferenceRejected as exc:
            jobs.set_node(db, job_id, node, status="failed", started_at=started,
                          finished_at=utcnow(), attempts=1, error=str(exc))
            jobs.update_job(db, job_id, status="failed", error=f"{doc['filename']}: {exc}")
            return
        results.upsert_result(db, build_result(job_id, doc, result))
        jobs.set_node(db, job_id, node, status="succeeded", started_at=started,
                      finished_at=utcnow(), attempts=1)
    jobs.update_job(db, job_id, status="succeeded")
