"""The Engine interface, the one chosen by configuration (local or Argo), and shared job helpers."""

from __future__ import annotations

import atexit
import json
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

from config import Config

TERMINAL = frozenset({"succeeded", "failed"})
STOPPABLE = frozenset({"queued", "running"})
RETRYABLE = frozenset({"failed"})
STOPPED = "stopped by user"


class JobStateError(Exception):
    """The job's status does not allow the action (stop a finished job, retry a running one)."""


@runtime_checkable
class Engine(Protocol):
    """Runs the detect workflow for a job and keeps the job document's status current."""

    name: str

    def submit(self, job_id: str) -> None:
        """Start the job's workflow; returns at once."""

    def refresh(self, job_id: str) -> None:
        """Copy the engine's view of the job into the job document."""

    def wait(self, job_id: str, timeout: float) -> str:
        """The job's status once terminal, or its status when `timeout` seconds have passed."""

    def stop(self, job_id: str) -> None:
        """Stop a queued or running job: no new step starts, the job ends `failed` with error
        STOPPED. JobStateError in another state."""

    def retry(self, job_id: str) -> None:
        """Run a failed job again (its failed steps; persisted results are kept).
        JobStateError in another state."""


_engines: dict[tuple, Engine] = {}
_lock = threading.Lock()


def _key(cfg: Config) -> tuple:
    if cfg.argo_server:
        return ("argo", cfg.argo_server, cfg.argo_namespace, cfg.argo_token, cfg.argo_verify_tls)
    return ("local", str(cfg.media_root), str(cfg.scratch_root), cfg.mongo_uri, cfg.mongo_db,
            cfg.local_workers)


def get_engine(cfg: Config) -> Engine:
    """The engine for `cfg` (Argo when ARGO_SERVER is set, else local), built once per process."""
    key = _key(cfg)
    with _lock:
        engine = _engines.get(key)
        if engine is None:
            if cfg.argo_server:
                from workflows.argo_engine import ArgoEngine

                engine = ArgoEngine(cfg)
            else:
                from workflows.local.engine import LocalEngine

                engine = LocalEngine(cfg)
            _engines[key] = engine
        return engine


@atexit.register
def shutdown_engines() -> None:
    """Stop every engine `get_engine` built (worker pools); the next call builds afresh."""
    with _lock:
        engines = list(_engines.values())
        _engines.clear()
    for engine in engines:
        stop = getattr(engine, "shutdown", None)
        if stop is not None:
            stop()


def job_arguments(db: Any, job_id: str) -> dict[str, str]:
    """The detect workflow's parameters for a job: `job_id` and `media` (JSON list)."""
    from storage.jobs import get_job
    from storage.node_batch import media_by_id

    job = get_job(db, job_id)
    if job is None:
        raise LookupError(f"job {job_id} not found")
    found = media_by_id(db, job["media_ids"])  # one query, not one per media
    items = []
    for media_id in job["media_ids"]:
        media = found.get(media_id)
        if media is None:
            raise LookupError(f"media {media_id} of job {job_id} not found")
        items.append(
            {"media_id": media_id, "modality": media["modality"], "media_path": media["path"]}
        )
    return {"job_id": job_id, "media": json.dumps(items)}


def check_state(job: dict[str, Any] | None, job_id: str, allowed: frozenset[str], action: str
                ) -> dict[str, Any]:
    """`job` if its status is in `allowed`; LookupError if missing, JobStateError otherwise."""
    if job is None:
        raise LookupError(f"job {job_id} not found")
    if job["status"] not in allowed:
        raise JobStateError(f"cannot {action} a job that is {job['status']}")
    return job


def poll_status(
    read: Callable[[], str | None], timeout: float, interval: float = 0.2, max_interval: float = 2.0
) -> str | None:
    """Call `read` until it returns a terminal status or `timeout` passes; the last status."""
    deadline = time.monotonic() + max(0.0, timeout)
    while True:
        status = read()
        left = deadline - time.monotonic()
        if status in TERMINAL or left <= 0:
            return status
        time.sleep(min(interval, left))
        interval = min(interval * 1.5, max_interval)
