"""The local engine: runs the detect Workflow on this machine in a warm pool of worker processes.

The same Hera Workflow Argo gets is rendered (`to_dict()`) and walked (`workflows.local.walk`);
each script node runs through `workflows.local.scripts` (a worker process, mounts mapped to the
local folders) and its state is stored by `workflows.local.node_writer`.

Faults (docs/security.md "## Faults"): a step's retries are capped at MAX_STEP_RETRIES whatever its
retryStrategy says; a step past its `activeDeadlineSeconds` has its worker killed and the attempt
fails, then retries like any failure (`workflows.local.scripts`).

Recovery (`recover`, on `detector serve` start, and `refresh`): a job left `queued` or
`running` by a dead process of this host is requeued here, at most MAX_JOB_RECOVERIES times,
then failed with the reason; none stays `running` forever.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import threading
import time
from datetime import UTC, datetime
from typing import Any

from hera.workflows import Workflow

from config import Config
from workflows.engine import (
    RETRYABLE,
    STOPPABLE,
    STOPPED,
    TERMINAL,
    JobStateError,
    check_state,
    job_arguments,
    poll_status,
)
from workflows.local.node_writer import NodeWriter
from workflows.local.scripts import ScriptRunner, runner_entrypoint
from workflows.local.walk import OnNode, StepFailed, WorkflowRun

log = logging.getLogger(__name__)

END_RETRY_MAX_S = 5.0
"""Longest wait between tries to store a job's end while MongoDB is unreachable."""


def _now() -> datetime:
    return datetime.now(UTC)


class LocalEngine:
    """Engine on one machine: a background thread per job, a process pool shared by all jobs."""

    name = "local"

    def __init__(
        self,
        cfg: Config,
        workflow: Workflow | None = None,
        workers: int | None = None,
        start_method: str = "spawn",
    ) -> None:
        if workflow is None:
            from workflows.detect import build_detect_workflow

            workflow = build_detect_workflow(faults=cfg.faults)
        self.cfg = cfg
        self.manifest: dict[str, Any] = workflow.to_dict()
        self.workers = workers or cfg.local_workers
        self.scripts = ScriptRunner(
            {"media": cfg.media_root, "scratch": cfg.scratch_root}, self.workers,
            self.workers * cfg.local_in_flight_per_worker, start_method)
        """Where the script nodes of every job of this engine run (one worker pool)."""
        self._lock = threading.Lock()
        self._runs: dict[str, WorkflowRun] = {}
        self._threads: dict[str, threading.Thread] = {}
        self._cancelled: set[str] = set()
        self._ended: dict[str, threading.Event] = {}  # set when a job of this engine ends
        self._closed = False
        self._nodes = NodeWriter(self._db, cfg.local_node_write_linger_s)

    # ------------------------------------------------------------------ Engine

    def submit(self, job_id: str) -> None:
        """Queue the job's workflow on a background thread and return."""
        from storage.jobs import update_job

        db = self._db()
        try:
            arguments = job_arguments(db, job_id)
        except LookupError as exc:
            update_job(db, job_id, status="failed", error=str(exc), finished_at=_now())
            raise
        update_job(
            db, job_id, engine="local",
            engine_ref={"engine": "local", "host": socket.gethostname(), "pid": os.getpid()},
        )
        with self._lock:
            if self._closed:
                raise RuntimeError("the local engine is shut down")
            thread = threading.Thread(
                target=self._run_job, args=(job_id, arguments), name=f"job-{job_id}", daemon=True
            )
            self._threads[job_id] = thread
            self._ended[job_id] = threading.Event()
        thread.start()

    def refresh(self, job_id: str) -> None:
        """Recover the job if the process that ran it (or was to submit it) is dead: requeue it
        here, or fail it once it was requeued MAX_JOB_RECOVERIES times (see `recover`)."""
        from storage.jobs import responsible_pid

        job = self._db().jobs.find_one({"job_id": job_id}, {"_id": 0})
        if job is None or job.get("status") in TERMINAL:
            return
        pid = responsible_pid(job, socket.gethostname())
        if pid is not None and pid != os.getpid() and not _pid_alive(pid):
            self._recover_one(job_id, pid)

    def recover(self) -> dict[str, list[str]]:
        """Take over the orphans of this host: jobs still `queued` or `running` whose engine
        process (or, never submitted, the process that created them) is dead.

        Recovery policy: such a job is requeued and runs again from its first step here (its
        results are upserted, so none doubles; a step that had finished runs again), counted in
        the job's `recoveries`; a job already requeued MAX_JOB_RECOVERIES times is `failed`
        with the reason instead, so a job that kills its engine cannot loop. Jobs of a live
        process, of this process and of Argo are left alone. `detector serve` calls this on
        start; `refresh` (GET of a job) applies the same policy to one job. Returns the job ids
        by outcome ("requeued", "failed")."""
        from storage.jobs import in_flight_jobs, responsible_pid

        host, me = socket.gethostname(), os.getpid()
        done: dict[str, list[str]] = {"requeued": [], "failed": []}
        for job in in_flight_jobs(self._db()):
            pid = responsible_pid(job, host)
            if pid is None or pid == me or _pid_alive(pid):
                continue
            outcome = self._recover_one(job["job_id"], pid)
            if outcome in done:
                done[outcome].append(job["job_id"])
        return done

    def _recover_one(self, job_id: str, dead_pid: int) -> str | None:
        from storage.jobs import claim_orphan
        from storage.logs import log_event

        db = self._db()
        outcome = claim_orphan(db, job_id, dead_pid, self.cfg.faults.max_job_recoveries,
                               "the engine process stopped before the job finished")
        if outcome is None:
            return None
        log_event(db, "warning", f"job.recovery.{outcome}", job_id=job_id, dead_pid=dead_pid)
        if outcome == "requeued":
            try:
                self.submit(job_id)
            except LookupError:  # its media are gone: submit failed the job
                return "failed"
        return outcome

    def wait(self, job_id: str, timeout: float) -> str:
        """The job's status once terminal, or when `timeout` seconds have passed.

        A job this engine runs is waited for in memory (woken when it ends or is stopped here),
        with a look at the job document every second for a change made elsewhere; any other job
        is polled."""
        from storage.node_batch import job_status

        db = self._db()

        def read() -> str | None:
            return job_status(db, job_id)

        with self._lock:
            ended = self._ended.get(job_id)
        if ended is not None:
            deadline = time.monotonic() + max(0.0, timeout)
            while True:
                over = ended.wait(max(0.0, min(1.0, deadline - time.monotonic())))
                status = read()  # after the end was seen (not before): the final status
                if over or status in TERMINAL or time.monotonic() >= deadline:
                    break
        else:
            status = poll_status(read, timeout, interval=0.05, max_interval=0.5)
        if status is None:
            raise LookupError(f"job {job_id} not found")
        return status

    def stop(self, job_id: str) -> None:
        """Cancel the job's run: the steps running now finish, no other starts, the exit handler
        cleans up; the job is `failed` with error STOPPED at once."""
        from storage.jobs import get_job, update_job

        db = self._db()
        check_state(get_job(db, job_id), job_id, STOPPABLE, "stop")
        with self._lock:
            self._cancelled.add(job_id)
            run = self._runs.get(job_id)
        if run is not None:
            run.cancel()
        update_job(db, job_id, status="failed", error=STOPPED, finished_at=_now())
        with self._lock:
            ended = self._ended.pop(job_id, None)
        if ended is not None:
            ended.set()  # `wait` answers now: the job is failed at once

    def retry(self, job_id: str) -> None:
        """Submit a failed job again: the workflow runs from the start, each node's state in
        `job_nodes` is overwritten as its step runs again, and results are upserted per media and
        model version, so none doubles."""
        from storage.jobs import get_job, update_job

        db = self._db()
        check_state(get_job(db, job_id), job_id, RETRYABLE, "retry")
        with self._lock:
            if job_id in self._threads:
                raise JobStateError(f"job {job_id} is still stopping; retry in a moment")
            self._cancelled.discard(job_id)
        update_job(db, job_id, status="queued", error=None, finished_at=None)
        self.submit(job_id)

    def run_workflow(self, arguments: dict[str, str], on_node: OnNode | None = None
                     ) -> WorkflowRun:
        """Walk this engine's workflow once with `arguments`, here, until it ends (a CronWorkflow
        runs as one of its Workflows would); the finished run (`.outputs` by node). `on_node`
        sees every node change. Raises StepFailed or WorkflowError."""
        run = WorkflowRun(self.manifest, arguments, self.scripts.run_script, on_node=on_node,
                          max_retries=self.cfg.faults.max_step_retries)
        run.run()
        return run

    def shutdown(self, wait: bool = True) -> None:
        """Stop taking jobs, stop retries, and stop the worker processes."""
        with self._lock:
            self._closed = True
            runs = list(self._runs.values())
        for run in runs:
            run.stop()
        self.scripts.shutdown(wait)
        if wait:
            self._nodes.close()

    def warm_up(self, wait: bool = True) -> set[int]:
        """Start the workers, import the step modules and let them load their models (each
        module's `warm_up()`), rather than on the first job. The workers' pids when `wait`."""
        modules = sorted(
            {runner_entrypoint(t).split(":")[0] for t in self.manifest["spec"]["templates"]
             if "script" in t}
        )
        return self.scripts.warm_up(modules, wait)

    # ------------------------------------------------------------------ one job

    def _run_job(self, job_id: str, arguments: dict[str, str]) -> None:
        from storage.jobs import update_job

        db = self._db()
        status, error = "failed", None
        try:
            update_job(db, job_id, status="running", started_at=_now(), error=None)
            self._nodes.start_job(job_id)
            run = WorkflowRun(
                self.manifest,
                arguments,
                self.scripts.run_script,
                on_node=lambda node, **fields: self._nodes.record(job_id, node, **fields),
                max_retries=self.cfg.faults.max_step_retries,
            )
            with self._lock:
                self._runs[job_id] = run
                if job_id in self._cancelled:
                    run.cancel()  # stopped before its run began
            run.run()
            status = "succeeded"
        except StepFailed as exc:
            error = str(exc)
        except Exception as exc:  # the engine's own fault: say so on the job
            log.exception("local engine: job %s", job_id)
            error = f"engine error: {type(exc).__name__}: {exc}"
        finally:
            try:
                self._nodes.flush(job_id)  # the nodes are stored before the job says it ended
            except Exception as exc:
                log.exception("local engine: job %s", job_id)
                if status == "succeeded":
                    status, error = "failed", f"engine error: {exc}"
            shutil.rmtree(self.cfg.scratch_root / job_id, ignore_errors=True)
            with self._lock:
                self._runs.pop(job_id, None)
                self._threads.pop(job_id, None)
                if job_id in self._cancelled:
                    self._cancelled.discard(job_id)
                    status, error = "failed", STOPPED
            try:
                self._record_end(db, job_id, status, error)
            finally:
                with self._lock:
                    ended = self._ended.pop(job_id, None)
                if ended is not None:
                    ended.set()

    def _record_end(self, db: Any, job_id: str, status: str, error: str | None) -> None:
        """Store the job's end; while MongoDB is unreachable, try again (back-off up to
        END_RETRY_MAX_S) until it answers or the engine shuts down (then the next start
        recovers the job): a job whose run ended never stays `running`."""
        from storage.jobs import update_job

        delay = 0.25
        while True:
            try:
                update_job(db, job_id, status=status, error=error, finished_at=_now())
                return
            except Exception:
                log.exception("local engine: cannot record the end of job %s yet", job_id)
            with self._lock:
                if self._closed:
                    return
            time.sleep(delay)
            delay = min(delay * 2, END_RETRY_MAX_S)

    def _db(self) -> Any:
        from storage.db import get_db

        return get_db(self.cfg.mongo_uri, self.cfg.mongo_db)


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True
