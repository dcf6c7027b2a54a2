"""The stack under test: embedded MongoDB + MLflow here, `detector serve` (API, local engine,
inference child) as a child process on a free port, one user with a token.

Its state lives in var/bench/stack-<hash of models/weights> (a retrained baseline gets a fresh
registry). Processes are found and measured through /proc.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import requests

from benchmarks.report import BENCH_DIR
from config import Config

WEIGHTS = Path(__file__).resolve().parents[1] / "models" / "weights"
USER, PASSWORD = "bench", "bench-password"
READY_TIMEOUT_S = 300.0
_CLEARED = ("MONGO_URI", "INFERENCE_URL", "ARGO_SERVER", "MEDIA_ROOT", "SCRATCH_ROOT",
            "MLFLOW_TRACKING_URI", "MLFLOW_ARTIFACT_ROOT", "DETECTOR_ADMIN_USER",
            "DETECTOR_ADMIN_PASSWORD")


@dataclass
class Stack:
    """A running stack: API base URL, bearer headers, the pids of the API and inference service."""

    cfg: Config
    base: str
    headers: dict[str, str]
    api_pid: int
    inference_pid: int
    inference_url: str
    log: Path
    others: list[int] = field(default_factory=list)
    """Further descendants of the API process (engine workers), for memory figures."""


def weights_tag() -> str:
    """A short hash of the committed weights: one stack folder per set of baselines."""
    digest = hashlib.sha256()
    for path in sorted(WEIGHTS.glob("*")):
        if path.is_file():
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:10]


def var_dir() -> Path:
    """var/bench/stack-<weights tag>."""
    return BENCH_DIR / f"stack-{weights_tag()}"


def use_var_dir(var_dir: Path) -> None:
    """Point this process (and its children) at `var_dir`, every service embedded."""
    for name in _CLEARED:
        os.environ.pop(name, None)
    os.environ["DETECTOR_VAR_DIR"] = str(var_dir.resolve())
    # one benchmark user runs 16 clients at once: above the per-user cap of jobs in flight
    # (docs/security.md "## Faults"), which still runs its check on every request
    os.environ["MAX_JOBS_IN_FLIGHT_PER_USER"] = "64"


def children(pid: int) -> list[int]:
    """Pids whose parent is `pid` (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return found


def descendants(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        kids = children(todo.pop())
        out += kids
        todo += kids
    return out


def cmdline(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
    except OSError:
        return []


def rss_bytes(pid: int, field_name: str = "VmRSS") -> int:
    """Resident memory of `pid` (VmRSS, or VmHWM for the peak) from /proc/<pid>/status."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field_name}:"):
            return int(line.split()[1]) * 1024
    raise LookupError(f"{field_name} of {pid}")


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of `pids` (those still alive)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / tick


def wait_quiet(pids: list[int], cpu_per_s: float = 0.15, timeout: float = 120.0) -> None:
    """Wait until `pids` together use less than `cpu_per_s` CPU seconds a second (warm-ups done)."""
    deadline = time.monotonic() + timeout
    last = cpu_seconds(pids)
    while time.monotonic() < deadline:
        time.sleep(1.0)
        now = cpu_seconds(pids)
        if now - last < cpu_per_s:
            return
        last = now


def _wait_http(url: str, deadline: float, child: subprocess.Popen) -> None:
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise RuntimeError(f"the stack exited with {child.returncode} before {url} answered")
        try:
            if requests.get(url, timeout=5).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise TimeoutError(f"{url} not ready in time")


def _find_inference(api_pid: int, deadline: float) -> tuple[int, str]:
    while time.monotonic() < deadline:
        for pid in children(api_pid):
            args = cmdline(pid)
            if "inference-server" in args and "--port" in args:
                return pid, f"http://127.0.0.1:{args[args.index('--port') + 1]}"
        time.sleep(0.2)
    raise TimeoutError("the inference child did not start")


def _token(base: str) -> dict[str, str]:
    answer = requests.post(f"{base}/api/v1/auth/token", auth=(USER, PASSWORD), timeout=30)
    answer.raise_for_status()
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def _stop(child: subprocess.Popen, pids: list[int]) -> None:
    """Ctrl-C for `detector serve` (it stops its engine and inference child), then the rest."""
    if child.poll() is None:
        child.send_signal(signal.SIGINT)
        try:
            child.wait(30)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait(10)
    for pid in pids:  # anything of ours still there (by pid, never by name)
        try:
            os.kill(pid, signal.SIGTERM)
        except OSError:
            pass


@contextmanager
def running_stack(folder: Path | None = None, threads: int = 8) -> Iterator[Stack]:
    """Start the stack, wait until the models are loaded and the warm-ups are over, yield it."""
    from cli.stack import embedded_stack
    from storage.db import get_db
    from storage.embedded import _free_port
    from storage.users import DuplicateUser, create_user

    use_var_dir(folder or var_dir())
    with embedded_stack() as cfg:
        try:
            create_user(get_db(), USER, PASSWORD)
        except DuplicateUser:
            pass
        port = _free_port()
        log = cfg.var_dir / "serve.log"
        with log.open("ab") as out:
            child = subprocess.Popen(
                [sys.executable, "-m", "cli.main", "serve", "--port", str(port),
                 "--threads", str(threads)],
                stdout=out, stderr=subprocess.STDOUT, env=os.environ.copy(),
            )
        pids: list[int] = []
        try:
            deadline = time.monotonic() + READY_TIMEOUT_S
            base = f"http://127.0.0.1:{port}"
            _wait_http(f"{base}/healthz", deadline, child)
            inference_pid, inference_url = _find_inference(child.pid, deadline)
            _wait_http(f"{inference_url}/readyz", deadline, child)
            pids = descendants(child.pid)
            wait_quiet([child.pid, *pids])
            others = [p for p in descendants(child.pid) if p != inference_pid]
            yield Stack(cfg, base, _token(base), child.pid, inference_pid, inference_url, log,
                        others)
        finally:
            pids = list({*pids, *descendants(child.pid)})
            _stop(child, pids)
