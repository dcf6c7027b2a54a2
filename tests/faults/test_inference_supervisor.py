"""The inference service killed: `detector serve`'s supervisor starts it again, with back-off."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import requests

import cli.stack
from cli.supervisor import Supervisor
from config import get_config

# a small HTTP service that answers its pid (the real one loads four models: too slow here)
_SERVICE = """
import http.server, os, sys
class Pid(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = str(os.getpid()).encode()
        self.send_response(200); self.send_header("Content-Length", str(len(body)))
        self.end_headers(); self.wfile.write(body)
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Pid).serve_forever()
"""


def _wait_for(predicate, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def _pid_at(url: str) -> int | None:
    try:
        return int(requests.get(url, timeout=1).text)
    except (requests.RequestException, ValueError):
        return None


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return True
    return False


def test_killed_inference_child_is_restarted_on_the_same_url(detector_env, monkeypatch):
    monkeypatch.setenv("INFERENCE_RESTART_BACKOFF_S", "0.2")
    monkeypatch.setenv("INFERENCE_RESTART_BACKOFF_MAX_S", "5")
    monkeypatch.setattr(cli.stack, "inference_command",
                        lambda port: [sys.executable, "-c", _SERVICE, str(port)])
    with cli.stack.inference_child(get_config()) as url:
        first = _wait_for(lambda: _pid_at(url))
        os.kill(first, signal.SIGKILL)  # the service dies (OOM killer, a crash)
        second = _wait_for(lambda: (p := _pid_at(url)) != first and p)
        assert second != first and _gone(first)
    assert _wait_for(lambda: _gone(second), timeout=5)  # stopped with `detector serve`


def test_quick_deaths_back_off_and_stop_ends_it(tmp_path: Path):
    child = Supervisor([sys.executable, "-c", "import time; time.sleep(60)"],
                       tmp_path / "child.log", dict(os.environ), backoff_s=0.3,
                       backoff_max_s=5).start()
    try:
        pids, gaps = [child.pid], []
        for _ in range(2):
            killed_at = time.monotonic()
            os.kill(pids[-1], signal.SIGKILL)
            pids.append(_wait_for(lambda: child.pid if child.pid != pids[-1] else None))
            gaps.append(time.monotonic() - killed_at)
        assert child.restarts == 2
        assert gaps[0] >= 0.3 and gaps[1] >= 0.6  # the second quick death waits twice as long
    finally:
        child.stop()
    assert child.pid is None and _wait_for(lambda: _gone(pids[-1]), timeout=5)
    time.sleep(0.5)
    assert child.restarts == 2  # nothing restarts a stopped child
