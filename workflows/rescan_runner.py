"""Start a rescan now on the configured engine: open its job, then walk the rescan definition on
this machine (a background thread) or have Argo submit the CronWorkflow's workflow now."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import requests

from config import Config
from storage.rescan_select import NO_FILTERS, Filters

_local = threading.Lock()
"""Held while this process walks a rescan: on one machine, as on Argo, runs never overlap
(`concurrencyPolicy: Forbid`)."""


class RescanRunning(Exception):
    """A rescan is still running here; a new one would overlap it (Forbid)."""


def local_rescan_running() -> bool:
    """Whether this process is walking a rescan now."""
    return _local.locked()


def start_rescan(cfg: Config, filters: Filters = NO_FILTERS, started_by: str | None = None,
                 wait: bool = False, session: requests.Session | None = None,
                 run: Callable[..., str] | None = None) -> str:
    """Open a rescan job and start it; its id. On the local engine the walk runs on a thread
    (with `wait`, here); RescanRunning when one is running already. On Argo the CronWorkflow's
    workflow is submitted now (`session` for tests)."""
    from storage.db import get_db
    from storage.logs import log_event
    from storage.rescans import open_rescan

    db = get_db(cfg.mongo_uri, cfg.mongo_db)
    params = filters.as_parameters()
    if cfg.argo_server:
        job = open_rescan(db, "argo", params, started_by)
        log_event(db, "info", "rescan.started", job_id=job["job_id"], user_id=started_by,
                  engine="argo", filters=params)
        submit_to_argo(cfg, job["job_id"], params, session)
        return job["job_id"]
    if not _local.acquire(blocking=False):
        raise RescanRunning("a rescan is running; try again when it ends")
    try:
        job = open_rescan(db, "local", params, started_by)
    except BaseException:
        _local.release()
        raise
    log_event(db, "info", "rescan.started", job_id=job["job_id"], user_id=started_by,
              engine="local", filters=params)
    body = _local_run(cfg, job["job_id"], params, run)
    if wait:
        body()
    else:
        threading.Thread(target=body, name=f"rescan-{job['job_id']}", daemon=True).start()
    return job["job_id"]


def _local_run(cfg: Config, job_id: str, params: dict[str, str],
               run: Callable[..., str] | None) -> Callable[[], None]:
    def body() -> None:
        from storage.db import get_db
        from storage.jobs import get_job, update_job
        from workflows.rescan import run_rescan_now

        try:
            (run or run_rescan_now)(cfg, batch_size=cfg.rescans.batch_size,
                                    max_media=cfg.rescans.max_media,
                                    parameters={**params, "job_id": job_id})
        except Exception as exc:  # noqa: BLE001 - the job says why; nobody else would
            db = get_db(cfg.mongo_uri, cfg.mongo_db)
            job = get_job(db, job_id)
            if job is not None and job["status"] not in ("succeeded", "failed"):
                update_job(db, job_id, status="failed", error=f"rescan failed: {exc}",
                           finished_at=datetime.now(UTC))
        finally:
            _local.release()
    return body


def submit_to_argo(cfg: Config, job_id: str, params: dict[str, str],
                   session: requests.Session | None = None) -> dict[str, Any]:
    """Argo's submit-from-resource: a Workflow from CronWorkflow `rescan` now, with the job's
    id and filters as parameters; the job records the workflow (for its Argo UI link)."""
    from hera.exceptions import HeraException
    from hera.workflows.models import SubmitOpts, WorkflowSubmitRequest

    from storage.db import get_db
    from storage.jobs import update_job
    from workflows.argo_engine import JOB_LABEL, service_for
    from workflows.rescan import NAME

    service = service_for(cfg, session)
    values = {**params, "job_id": job_id}
    request = WorkflowSubmitRequest(
        namespace=cfg.argo_namespace, resource_kind="cronwf", resource_name=NAME,
        submit_options=SubmitOpts(parameters=[f"{k}={v}" for k, v in values.items()],
                                  labels=f"{JOB_LABEL}={job_id}"))
    db = get_db(cfg.mongo_uri, cfg.mongo_db)
    try:
        created = service.submit_workflow(request, namespace=cfg.argo_namespace)
    except (HeraException, requests.RequestException) as exc:
        update_job(db, job_id, status="failed", finished_at=datetime.now(UTC),
                   error=f"argo submit failed: {type(exc).__name__}: {exc}")
        raise
    meta = created.metadata
    ref = {"engine": "argo", "name": meta.name, "namespace": meta.namespace, "uid": meta.uid}
    from storage.jobs import get_job

    job = get_job(db, job_id) or {}
    status = {"status": "running"} if job.get("status") == "queued" else {}  # not ended already
    update_job(db, job_id, engine="argo", engine_ref=ref, **status)
    return ref
