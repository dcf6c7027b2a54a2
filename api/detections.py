"""POST /api/v1/detections: validate and store uploads, create a job, run it sync or async."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify, request, url_for
from flask.typing import ResponseReturnValue

from api import fastpath, uploads, webhooks
from api.address import client_address
from api.auth import current_user, require_token
from api.context import db, engine, inference, limits, settings
from api.error_codes import code_for
from api.errors import ApiError
from api.openapi import documented
from api.quota import check_jobs_in_flight
from api.ratelimit import upload_limits
from api.schemas import Detection, DetectionQuery, FileDetection, TextDetection
from api.serialize import public_result
from storage import audit, jobs, logs, results
from workflows import ingest

bp = Blueprint("detections", __name__, url_prefix="/api/v1/detections")
require_token(bp)
MODES = ("sync", "async")


@bp.post("")
@documented({200: Detection, 202: Detection}, query=DetectionQuery, body={
    "multipart/form-data": FileDetection, "application/json": TextDetection})
@upload_limits  # RATE_LIMIT_UPLOADS_* and RATE_LIMIT_SYNC_*, per user and address
def create_detection() -> ResponseReturnValue:
    """Take one or more files (multipart `file`) or JSON `{"text"}`; answer 200 or 202.

    With `callback_url` (a form field, or a JSON field beside `text`) the finished job is also
    POSTed there, signed (`X-Detector-Signature`), retried with back-off; see the job's
    `callback` for the attempts."""
    mode = request.args.get("mode")
    if mode not in (None, *MODES):
        raise ApiError(400, "bad_mode", f"mode must be one of {', '.join(MODES)}")
    owner = current_user()["user_id"]
    check_jobs_in_flight(db(), owner, settings().faults)  # 429 + Retry-After at the cap
    callback_url = webhooks.callback_url()
    client = inference()
    # The API decodes nothing (it holds the secrets): uploads are probed from their headers
    # (`workflows.ingest.stage`); the inference service or the workers decode them and say so when
    # they cannot (a 4xx from the service, a failed job from the engine).
    staged = uploads.probe_all(uploads.collect(), limits())
    if mode is None:
        mode = "async" if any(s.info.modality == "video" for s in staged) else "sync"
    fast = mode == "sync" and client is not None and all(
        s.info.modality != "video" for s in staged)
    writers = current_app.extensions["sync_writers"] if fast else None
    stored = ingest.store_media_and_job(
        db(), staged, owner, "inference" if fast else engine().name, mode,
        settings().media_root, status="running" if fast else "queued", background=writers)
    job_id = stored.job["job_id"]
    event = dict(user_id=owner, address=client_address(), job_id=job_id, mode=mode,
                 media_ids=[d["media_id"] for d in stored.media])
    if writers is not None:  # off the sync path's critical path, like its other writes
        writers.submit(audit.record, db(), "detection.created", **event)
    else:
        audit.record(db(), "detection.created", **event)
    status_url = url_for("jobs.get_job", job_id=job_id)
    if callback_url is not None:
        stored.wait()  # the job is stored before its callback is set
        webhooks.attach(job_id, callback_url)
    fallback = None
    if fast:
        try:
            job, scored = fastpath.score_job(db(), stored, client, settings().media_root,
                                             background=writers)
            return _answer(job_id, status_url, job=job, scored=scored)
        except fastpath.FallBack as exc:  # the service is down or not ready: queue the job
            current_app.logger.warning("sync job %s falls back to the engine: %s", job_id, exc)
            fallback = "inference service unavailable; ran as a workflow job"
            jobs.update_job(db(), job_id, engine=engine().name)
        except fastpath.Rejected as exc:  # bad input after all: leave nothing behind
            ingest.discard(db(), stored, settings().media_root)
            raise ApiError(exc.status, code_for(exc.status), f"{exc.filename}: {exc.message}",
                           filename=exc.filename) from exc
    try:
        engine().submit(job_id)
    except Exception as exc:  # the engine is someone else's process: report, do not crash
        # the job keeps the reason (clients see it redacted: `api.serialize.public_job`)
        jobs.update_job(db(), job_id, status="failed", error=f"submit failed: {exc}")
        logs.log_event(db(), "error", "job.submit_failed", job_id=job_id, error=str(exc))
        raise ApiError(503, "engine_unavailable", "the job could not be submitted to the "
                       "workflow engine; try again later", job_id=job_id) from exc
    if mode == "async":
        return jsonify({"job_id": job_id, "status_url": status_url}), 202, {
            "Location": status_url}
    return _wait(job_id, status_url, fallback)


def _wait(job_id: str, status_url: str, fallback: str | None = None) -> ResponseReturnValue:
    try:
        engine().wait(job_id, timeout=limits().sync_timeout_s)
    except TimeoutError:
        pass
    return _answer(job_id, status_url, fallback)


def _answer(job_id: str, status_url: str, fallback: str | None = None,
            job: dict[str, Any] | None = None,
            scored: list[dict[str, Any]] | None = None) -> ResponseReturnValue:
    """200 with the results once the job is done; 202 with its status URL while it runs.

    `job` and `scored` (the sync path's finished job and results, as stored) answer without
    reading them back."""
    if job is None:
        job = jobs.get_job(db(), job_id) or {}
    status = job.get("status", "queued")
    body: dict[str, Any] = {"job_id": job_id, "status": status, "engine": job.get("engine")}
    if fallback:
        body["fallback"] = fallback
    if status not in ("succeeded", "failed"):  # not done in time: continue as an async job
        body.update(status_url=status_url, results=[])
        return jsonify(body), 202, {"Location": status_url}
    if scored is None:
        scored = results.results_for_job(db(), job_id)
    body["results"] = [public_result(r) for r in scored]
    if job.get("error"):
        body["error"] = job["error"]
    return jsonify(body), 200
