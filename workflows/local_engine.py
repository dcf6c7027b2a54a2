"""The local engine: runs the detect Workflow on this machine in a warm pool of worker processes.

The same Hera Workflow Argo gets is rendered (`to_dict()`) and walked (`workflows.dag_walk`);
each script template's Hera runner entrypoint runs in a worker process, with the volume mount
paths of the template (/mnt/media, /mnt/scratch) mapped to the local folders from config.
Template env values under a mapped mount (MEDIA_ROOT, SCRATCH_ROOT) are applied with the local
path, Hera's outputs folder goes to a temporary one; every other variable (literal, valueFrom,
envFrom: cluster settings) comes from this process's environment, inherited by the workers.

Faults (docs/security.md "## Faults"): a step's retries are capped at MAX_STEP_RETRIES whatever its
retryStrategy says; a step still running `activeDeadlineSeconds` after it started has its worker
process killed (SIGKILL, like a pod past its deadline) and the attempt fails with a deadline
error, then retries like any failure. A dead worker (killed, out of memory, past its deadline)
breaks the pool: the steps of other jobs running in it at that moment fail that attempt too and
are retried in a fresh pool, as pods on a lost node would be.

Recovery (`recover`, on `detector serve` start, and `refresh`): a job left `queued` or
`running` by a dead process of this host is requeued here, at most MAX_JOB_RECOVERIES times,
then failed with the reason; none stays `running` forever.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import shutil
import signal
import socket
import tempfile
import threading
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hera.workflows import Workflow
from pymongo.errors import ConnectionFailure

from config import Config
from workflows import _worker
from workflows.dag_walk import StepFailed, WorkflowError, WorkflowRun
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

log = logging.getLogger(__name__)

HERA_OUTPUTS_ENV = "hera__outputs_directory"
TORCH_THREADS = 1
"""Math threads per worker: N workers x 1 thread keeps N cores busy without oversubscribing."""
NODE_RETRY_S = 1.0
"""Wait before node states are written again while MongoDB is unreachable (a flush, i.e. a
job's end, waits for them: node states are not lost in an outage)."""
NODE_WRITE_LINGER_S = 0.25
"""Default of `Config.local_node_write_linger_s` (LOCAL_NODE_WRITE_LINGER_S)."""


DEADLINE_POLL_S = 0.2
"""How often the engine looks whether a step with a deadline has started in a worker."""


END_RETRY_MAX_S = 5.0
"""Longest wait between tries to store a job's end while MongoDB is unreachable."""


class StepDeadlineExceeded(Exception):
    """A step ran past its template's activeDeadlineSeconds; its worker process was killed."""


def _now() -> datetime:
    return datetime.now(UTC)


class NodeWriter:
    """Writes the node states of the engine's jobs to MongoDB from one thread, in batches.

    The walker's node changes are merged in memory at once (`record` never waits for the
    database); the writer thread stores each changed node's whole state, many nodes per round
    trip (`storage.node_batch`), so a node that changes three times while a batch is written
    costs one write. `flush(job_id)` waits until every change of the job is stored: the engine
    calls it before it records the job's end, so a finished job always shows its final nodes.
    """

    def __init__(self, db_factory: Any, linger_s: float = NODE_WRITE_LINGER_S) -> None:
        self._db_factory = db_factory
        self._linger_s = linger_s
        self._cond = threading.Condition()
        self._nodes: dict[tuple[str, str], Any] = {}  # StoredNode by (job, node)
        self._dirty: set[tuple[str, str]] = set()
        self._writing: set[tuple[str, str]] = set()
        self._errors: dict[str, str] = {}
        self._thread: threading.Thread | None = None
        self._closed = False
        self._urgent = False  # a flush waits: write now, without lingering

    def start_job(self, job_id: str) -> None:
        """Load the nodes the job has already (a retried job): later changes merge into them."""
        from storage.node_batch import load_nodes

        stored = load_nodes(self._db_factory(), job_id)
        with self._cond:
            self._errors.pop(job_id, None)
            for node, state in stored.items():
                self._nodes[(job_id, node)] = state

    def record(self, job_id: str, node: str, **fields: Any) -> None:
        """Merge `fields` into the node's state (as `storage.jobs.set_node` would) and queue it."""
        from storage.jobs import check_node
        from storage.node_batch import StoredNode

        check_node(node, fields)
        key = (job_id, node)
        with self._cond:
            stored = self._nodes.get(key)
            if stored is None:
                stored = self._nodes[key] = StoredNode(job_id, node)
            stored.state.update(fields)
            idle = not self._dirty
            self._dirty.add(key)
            if self._thread is None:  # the first change, or one after `close`
                self._thread = threading.Thread(target=self._loop, name="node-writer",
                                                daemon=True)
                self._thread.start()
            elif idle:
                self._cond.notify_all()  # the writer sleeps until there is something to write

    def flush(self, job_id: str) -> None:
        """Wait until every recorded change of `job_id` is stored, then forget the job's nodes.
        RuntimeError if a write of the job failed (its nodes may be out of date)."""
        with self._cond:
            while any(k[0] == job_id for k in self._dirty | self._writing):
                if self._thread is None or not self._thread.is_alive():
                    break  # nothing writes any more (cannot happen while `record` starts it)
                self._urgent = True
                self._cond.notify_all()
                self._cond.wait(0.5)
            for key in [k for k in self._nodes if k[0] == job_id]:
                if key not in self._dirty:
                    del self._nodes[key]
            error = self._errors.pop(job_id, None)
        if error is not None:
            raise RuntimeError(f"cannot record node states: {error}")

    def close(self) -> None:
        """Write what is queued, then stop the thread (a later `record` starts it again)."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join(30)

    def _loop(self) -> None:
        from storage.node_batch import write_nodes

        while True:
            with self._cond:
                while not self._dirty and not self._closed:
                    self._cond.wait()
                if not self._dirty and self._closed:
                    self._thread = None  # under the lock: a later `record` starts another
                    return
                # let more changes join this batch, unless someone waits for it
                deadline = time.monotonic() + self._linger_s
                while not (self._closed or self._urgent):
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    self._cond.wait(left)
                self._urgent = False
                keys, self._dirty = self._dirty, set()
                self._writing = keys
                batch = [self._nodes[k] for k in keys]
                # a copy of each state: `record` may change it while the batch is written
                pending = [(n, dict(n.state)) for n in batch]
            try:
                from storage.node_batch import StoredNode

                copies = [StoredNode(n.job_id, n.node, state, n.doc_id, n.rev)
                          for n, state in pending]
                write_nodes(self._db_factory(), copies)
                with self._cond:
                    for (n, _), copy in zip(pending, copies, strict=True):
                        n.doc_id, n.rev = copy.doc_id, copy.rev
            except ConnectionFailure as exc:  # MongoDB away: keep them, write them once back
                log.warning("local engine: MongoDB unreachable, %d node states wait: %s",
                            len(keys), exc)
                with self._cond:
                    if self._closed:
                        for job_id, _ in keys:
                            self._errors[job_id] = "MongoDB unreachable"
                    else:
                        self._dirty |= keys
                        self._cond.wait(NODE_RETRY_S)
            except Exception as exc:  # the write itself failed: say so on the jobs
                log.exception("local engine: cannot write %d node states", len(keys))
                with self._cond:
                    for job_id, _ in keys:
                        self._errors[job_id] = f"{type(exc).__name__}: {exc}"
            finally:
                with self._cond:
                    self._writing = set()
                    self._cond.notify_all()


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

            workflow = build_detect_workflow()
        self.cfg = cfg
        self.manifest: dict[str, Any] = workflow.to_dict()
        self.volumes = {"media": cfg.media_root, "scratch": cfg.scratch_root}
        self.workers = workers or cfg.local_workers
        self._context = multiprocessing.get_context(start_method)
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()
        self._runs: dict[str, WorkflowRun] = {}
        self._threads: dict[str, threading.Thread] = {}
        self._cancelled: set[str] = set()
        self._ended: dict[str, threading.Event] = {}  # set when a job of this engine ends
        self._closed = False
        self._nodes = NodeWriter(self._db, cfg.local_node_write_linger_s)
        self._slots = threading.BoundedSemaphore(
            max(1, self.workers * cfg.local_in_flight_per_worker))
        self._started_dir = Path(tempfile.mkdtemp(prefix="detector-steps-"))
        """Where workers say which process runs a step with a deadline (`_worker.run_step`)."""

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

    def run_workflow(self, arguments: dict[str, str]) -> WorkflowRun:
        """Walk this engine's workflow once with `arguments`, here, until it ends (a CronWorkflow
        runs as one of its Workflows would); the finished run (`.outputs` by node). Raises
        StepFailed or WorkflowError."""
        run = WorkflowRun(self.manifest, arguments, self._run_script,
                          max_retries=self.cfg.faults.max_step_retries)
        run.run()
        return run

    def shutdown(self, wait: bool = True) -> None:
        """Stop taking jobs, stop retries, and stop the worker processes."""
        with self._lock:
            self._closed = True
            runs = list(self._runs.values())
            pool, self._pool = self._pool, None
        for run in runs:
            run.stop()
        if pool is not None:
            pool.shutdown(wait=wait, cancel_futures=True)
        if wait:
            self._nodes.close()
            shutil.rmtree(self._started_dir, ignore_errors=True)

    def warm_up(self, wait: bool = True) -> set[int]:
        """Start the workers, import the step modules and let them load their models (each
        module's `warm_up()`), rather than on the first job. The workers' pids when `wait`."""
        modules = sorted(
            {_runner_entrypoint(t).split(":")[0] for t in self.manifest["spec"]["templates"]
             if "script" in t}
        )
        pool = self._get_pool()
        futures = [pool.submit(_worker.warm, modules) for _ in range(self.workers)]
        return {future.result() for future in futures} if wait else set()

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
                self._run_script,
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

    def _run_script(self, node: str, template: dict, inputs: dict[str, str]) -> dict[str, str]:
        script = template["script"]
        entrypoint = _runner_entrypoint(template)
        mounts = self._mounts(script)
        outputs_dir = Path(tempfile.mkdtemp(prefix="hera-outputs-"))
        container_outputs = None
        env: dict[str, str] = {}
        for var in script.get("env", []):
            if "value" not in var:
                continue  # valueFrom: this process's environment provides it
            name, value = var["name"], str(var["value"])
            if name == HERA_OUTPUTS_ENV:
                container_outputs, env[name] = value, str(outputs_dir)
            elif (local := _map_path(value, mounts)) is not None:
                env[name] = local
        try:
            deadline = template.get("activeDeadlineSeconds")
            self._call(entrypoint, [{"name": k, "value": v} for k, v in inputs.items()], env,
                       float(deadline) if deadline else None)
            outputs = {}
            for param in template.get("outputs", {}).get("parameters", []):
                path = param.get("valueFrom", {}).get("path")
                if path is None:
                    raise WorkflowError(f"{node}: output {param['name']!r} is not read from a path")
                if container_outputs:
                    mounts = {container_outputs: outputs_dir, **mounts}
                local = _map_path(path, mounts)
                if local is None:
                    raise WorkflowError(f"{node}: output path {path} is outside the mapped volumes")
                outputs[param["name"]] = Path(local).read_text()
            return outputs
        finally:
            shutil.rmtree(outputs_dir, ignore_errors=True)

    def _call(self, entrypoint: str, inputs: list[dict[str, str]], env: dict[str, str],
              deadline_s: float | None = None) -> None:
        with self._slots:  # a bounded number of steps in the pool; the rest wait here
            self._submit(entrypoint, inputs, env, deadline_s)

    def _submit(self, entrypoint: str, inputs: list[dict[str, str]], env: dict[str, str],
                deadline_s: float | None = None) -> None:
        """Run the step in the pool; past `deadline_s` seconds after it started in a worker,
        kill that worker and raise StepDeadlineExceeded."""
        pool = self._get_pool()
        started = self._started_dir / f"{uuid.uuid4().hex}.started" if deadline_s else None
        killed = False
        try:
            future = pool.submit(_worker.run_step, entrypoint, inputs, env,
                                 str(started) if started else None)
            if started is None:
                future.result()
                return
            while True:
                left = _deadline_left(started, deadline_s)
                if left is not None and left <= 0 and not future.done():
                    killed = _kill_started(started)
                    if killed:
                        future.result()  # BrokenProcessPool: the worker is gone
                try:
                    future.result(timeout=DEADLINE_POLL_S if left is None else max(left, 0.01))
                    return
                except FutureTimeout:
                    continue
        except BrokenProcessPool:
            # a worker died (killed, out of memory): a fresh pool for the retry, like a new pod
            with self._lock:
                if self._pool is pool:
                    self._pool = None
            pool.shutdown(wait=False, cancel_futures=True)
            if killed:
                raise StepDeadlineExceeded(
                    f"deadline exceeded: the step ran longer than activeDeadlineSeconds="
                    f"{deadline_s:g}; its worker process was killed") from None
            raise
        finally:
            if started is not None:
                started.unlink(missing_ok=True)

    def _mounts(self, script: dict) -> dict[str, Path]:
        mounts = {}
        for mount in script.get("volumeMounts", []):
            local = self.volumes.get(mount["name"])
            if local is not None:
                mounts[mount["mountPath"]] = Path(local)
        return mounts

    def _get_pool(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._closed:
                raise RuntimeError("the local engine is shut down")
            if self._pool is None:
                for folder in self.volumes.values():
                    Path(folder).mkdir(parents=True, exist_ok=True)
                self._pool = ProcessPoolExecutor(
                    max_workers=self.workers,
                    mp_context=self._context,
                    initializer=_worker.init_worker,
                    initargs=(dict(os.environ), TORCH_THREADS),
                )
            return self._pool

    def _db(self) -> Any:
        from storage.db import get_db

        return get_db(self.cfg.mongo_uri, self.cfg.mongo_db)


def _runner_entrypoint(template: dict) -> str:
    args = template["script"].get("args") or []
    if "hera.workflows.runner" not in args or "-e" not in args:
        raise WorkflowError(
            f"template {template['name']!r}: the local engine runs Hera runner scripts only"
        )
    return args[args.index("-e") + 1]


def _map_path(value: str, mounts: dict[str, Path]) -> str | None:
    """`value` with its mount path replaced by the local folder; None if under no mount."""
    for mount_path in sorted(mounts, key=len, reverse=True):
        if value == mount_path or value.startswith(mount_path.rstrip("/") + "/"):
            return str(mounts[mount_path]) + value[len(mount_path.rstrip("/")):]
    return None


def _deadline_left(started: Path, deadline_s: float) -> float | None:
    """Seconds left before the step's deadline; None while it has not started in a worker."""
    try:
        _, at = started.read_text().split()
    except (OSError, ValueError):
        return None
    return float(at) + deadline_s - time.time()


def _kill_started(started: Path) -> bool:
    """SIGKILL the worker that runs the step (named in `started`); False when it has ended."""
    try:
        pid = int(started.read_text().split()[0])
        os.kill(pid, signal.SIGKILL)
    except (OSError, ValueError, IndexError):
        return False
    return True


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True
