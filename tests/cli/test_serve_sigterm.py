"""`detector serve` stopped with SIGTERM (kill, a pod stop) also stops its inference child."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from config import Config


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        children = (task / "children")
        if children.exists():
            found += [int(c) for c in children.read_text().split()]
    return found


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_sigterm_stops_the_inference_child(fresh_mlflow: Config, tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    serve = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "serve", "--port", str(_free_port()), "--threads", "2"],
        env=env, stdout=(tmp_path / "serve.log").open("wb"), stderr=subprocess.STDOUT,
    )
    child = None
    try:
        deadline = time.monotonic() + 120
        while child is None and time.monotonic() < deadline and serve.poll() is None:
            child = next((c for c in _children(serve.pid)
                          if "inference-server" in _cmdline(c)), None)
            time.sleep(0.2)
        assert child is not None, (tmp_path / "serve.log").read_text()[-2000:]
        serve.send_signal(signal.SIGTERM)
        assert serve.wait(60) == 0
        deadline = time.monotonic() + 20
        while Path(f"/proc/{child}").exists() and time.monotonic() < deadline:
            if "inference-server" not in _cmdline(child):  # the pid is gone or reused
                break
            time.sleep(0.2)
        assert "inference-server" not in _cmdline(child), "the inference child outlived serve"
    finally:
        if serve.poll() is None:
            serve.kill()
        if child is not None and "inference-server" in _cmdline(child):
            os.kill(child, signal.SIGKILL)  # do not leak it when the test fails
