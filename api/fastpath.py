"""Sync detections through the warm inference service; says when it must fall back to the engine.

The API never runs a model itself: it hands the stored file to the inference service
(`INFERENCE_URL`) and persists what comes back, exactly as the workflow's persist step would.
When the service is down, slow or not ready, the caller submits the same job to the workflow
engine instead, so nothing is lost.

Round trips to MongoDB are what the sync path spends most of its own time on, so this module
writes each thing once and reads nothing back, and overlaps what it can: the media are stored
before scoring (a crash never loses an upload) while the job, created `running`, and its event
are inserted during the scoring call (`workflows.ingest.store_media_and_job(background=...)`);
each result is inserted (no read first: the job is new) while its node state is inserted beside
it; the job is finished with one replace guarded by its revision, and the answer is built from the
documents in hand. Nothing is decoded here: an image's heatmap and a sound's waveform come drawn
by the service with its answer and are only written to the media volume.
"""

from __future__ import annotations

import functools
from concurrent.futures import Executor
from pathlib import Path
from typing import Any

from pymongo.database import Database

from api.inference.client import InferenceClient, InferenceRejected, InferenceUnavailable
from storage import jobs, logs, results
from storage._common import utcnow
from storage.evidence import build_result
from workflows.ingest import Stored


class FallBack(Exception):
    """The inference service could not score the job; run it on the engine instead."""


class Rejected(Exception):
    """The service refused a media as bad input (4xx): `filename`, `status`, `message`."""

    def __init__(self, filename: str, error: InferenceRejected) -> None:
        super().__init__(error.message)
        self.filename = filename
        self.status = error.status
        self.message = error.message


def score_job(db: Database, stored: Stored, client: InferenceClient, media_root: Path,
              background: Executor | None = None) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Score every media of the stored job with the service and persist the results; the job
    as finished and its results (as `results.results_for_job` would give them).

    Raises `FallBack` (the job is set `queued`; results written so far are idempotent and will
    be rewritten by the engine) when the service is unavailable, and `Rejected` when it refuses
    a media as bad input (the caller discards the job: the probe let through what the service's
    decoder would not take). With `background`, each node state is written there while the
    result is written here.
    """
    job = stored.job
    job_id = job["job_id"]
    scored: list[dict[str, Any]] = []
    for index, doc in enumerate(stored.media):
        started = utcnow()
        try:
            result = client.score_file(media_root / doc["path"], doc["filename"], doc["modality"])
        except InferenceUnavailable as exc:
            stored.wait()
            jobs.update_job(db, job_id, status="queued")
            logs.log_event(db, "warning", "inference.fallback", job_id=job_id, error=str(exc))
            raise FallBack(str(exc)) from exc
        except InferenceRejected as exc:
            stored.wait()
            if 400 <= exc.status < 500 and exc.status not in (404, 405):
                raise Rejected(doc["filename"], exc) from exc
            jobs.set_node(db, job_id, f"inference({index})", insert_first=True, status="failed",
                          started_at=started, finished_at=utcnow(), attempts=1, error=str(exc))
            done = jobs.update_created_job(db, job, status="failed",
                                           error=f"{doc['filename']}: inference failed "
                                                 f"({exc.status})")
            return done or job, scored
        stored.wait()  # the job is stored before its results
        node = functools.partial(jobs.set_node, db, job_id, f"inference({index})",
                                 insert_first=True, status="succeeded", started_at=started,
                                 finished_at=utcnow(), attempts=1)
        pending = background.submit(node) if background is not None else None
        scored.append(results.upsert_result(
            db, build_result(media_root, job_id, doc, result, lazy_heatmap=True),
            insert_first=True))
        if pending is not None:
            pending.result()
        else:
            node()
    done = jobs.update_created_job(db, job, status="succeeded")
    return done or job, scored
