"""The script runner: runs a script template's Hera entrypoint in a worker pool, mounts mapped.

The volume mount paths of the template (/mnt/media, /mnt/scratch) are mapped to the local
folders from config. Template env values under a mapped mount (MEDIA_ROOT, SCRATCH_ROOT) are
applied with the local path, Hera's outputs folder goes to a temporary one; every other variable
(literal, valueFrom, envFrom: cluster settings) comes from this process's environment, inherited
by the workers.

A step still running `activeDeadlineSeconds` after it started has its worker process killed
(SIGKILL, like a pod past its deadline) and the attempt fails with StepDeadlineExceeded. A dead
worker (killed, out of memory, past its deadline) breaks the pool: the steps of other jobs
running in it at that moment fail that attempt too and run in a fresh pool on their retry, as
pods on a lost node would.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import signal
import tempfile
import threading
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from workflows.local import worker
from workflows.local.walk import WorkflowError

HERA_OUTPUTS_ENV = "hera__outputs_directory"
TORCH_THREADS = 1
"""Math threads per worker: N workers x 1 thread keeps N cores busy without oversubscribing."""
DEADLINE_POLL_S = 0.2
"""How often the runner looks whether a step with a deadline has started in a worker."""


class StepDeadlineExceeded(Exception):
    """A step ran past its template's activeDeadlineSeconds; its worker process was killed."""


class ScriptRunner:
    """Runs script templates in a shared pool of `workers` processes, at most `in_flight` steps
    handed to the pool at once (the others wait here)."""

    def __init__(self, volumes: dict[str, Path], workers: int, in_flight: int,
                 start_method: str = "spawn") -> None:
        self.volumes = volumes
        """Local folder by volume name (`media`, `scratch`)."""
        self.workers = workers
        self._context = multiprocessing.get_context(start_method)
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()
        self._closed = False
        self._slots = threading.BoundedSemaphore(max(1, in_flight))
        self._started_dir = Path(tempfile.mkdtemp(prefix="detector-steps-"))
        """Where workers say which process runs a step with a deadline (`worker.run_step`)."""

    def run_script(self, node: str, template: dict, inputs: dict[str, str]) -> dict[str, str]:
        """Run the template's entrypoint with `inputs`; its output parameters (the walker's
        `RunScript`). Raises what the step raised, or StepDeadlineExceeded."""
        script = template["script"]
        entrypoint = runner_entrypoint(template)
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
            elif (local := map_path(value, mounts)) is not None:
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
                local = map_path(path, mounts)
                if local is None:
                    raise WorkflowError(f"{node}: output path {path} is outside the mapped volumes")
                outputs[param["name"]] = Path(local).read_text()
            return outputs
        finally:
            shutil.rmtree(outputs_dir, ignore_errors=True)

    def warm_up(self, modules: list[str], wait: bool = True) -> set[int]:
        """Start the workers and have each import `modules` and call their `warm_up()`; the
        workers' pids when `wait`."""
        pool = self.pool()
        futures = [pool.submit(worker.warm, modules) for _ in range(self.workers)]
        return {future.result() for future in futures} if wait else set()

    def pool(self) -> ProcessPoolExecutor:
        """The worker pool, started (with the local folders made) on first use."""
        with self._lock:
            if self._closed:
                raise RuntimeError("the local engine is shut down")
            if self._pool is None:
                for folder in self.volumes.values():
                    Path(folder).mkdir(parents=True, exist_ok=True)
                self._pool = ProcessPoolExecutor(
                    max_workers=self.workers,
                    mp_context=self._context,
                    initializer=worker.init_worker,
                    initargs=(dict(os.environ), TORCH_THREADS),
                )
            return self._pool

    def shutdown(self, wait: bool = True) -> None:
        """Stop the worker processes; no step runs here any more."""
        with self._lock:
            self._closed = True
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=wait, cancel_futures=True)
        if wait:
            shutil.rmtree(self._started_dir, ignore_errors=True)

    def _call(self, entrypoint: str, inputs: list[dict[str, str]], env: dict[str, str],
              deadline_s: float | None = None) -> None:
        with self._slots:  # a bounded number of steps in the pool; the rest wait here
            self._submit(entrypoint, inputs, env, deadline_s)

    def _submit(self, entrypoint: str, inputs: list[dict[str, str]], env: dict[str, str],
                deadline_s: float | None = None) -> None:
        """Run the step in the pool; past `deadline_s` seconds after it started in a worker,
        kill that worker and raise StepDeadlineExceeded."""
        pool = self.pool()
        started = self._started_dir / f"{uuid.uuid4().hex}.started" if deadline_s else None
        killed = False
        try:
            future = pool.submit(worker.run_step, entrypoint, inputs, env,
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


def runner_entrypoint(template: dict) -> str:
    """`module:function` of a Hera runner script template; WorkflowError for any other."""
    args = template["script"].get("args") or []
    if "hera.workflows.runner" not in args or "-e" not in args:
        raise WorkflowError(
            f"template {template['name']!r}: the local engine runs Hera runner scripts only"
        )
    return args[args.index("-e") + 1]


def map_path(value: str, mounts: dict[str, Path]) -> str | None:
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
