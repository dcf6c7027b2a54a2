"""Keeps a child process running: restarts it when it dies, with back-off (`detector serve`)."""

from __future__ import annotations

import logging
import subprocess
import threading
import time
from pathlib import Path

log = logging.getLogger(__name__)

POLL_S = 0.2
"""How often the supervisor looks whether the child is alive."""


class Supervisor:
    """Runs `command` as a child (output appended to `log_path`) and starts it again when it
    exits, after `backoff_s`; each death within `backoff_max_s` of a start doubles the wait (at
    most `backoff_max_s`), a child that ran longer resets it. `stop()` ends the child for good."""

    def __init__(self, command: list[str], log_path: Path, env: dict[str, str],
                 backoff_s: float, backoff_max_s: float) -> None:
        self.command, self.log_path, self.env = command, log_path, env
        self.backoff_s, self.backoff_max_s = max(0.0, backoff_s), max(0.0, backoff_max_s)
        self.restarts = 0
        self._child: subprocess.Popen | None = None
        self._started_at = 0.0
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @property
    def pid(self) -> int | None:
        """The current child's pid (None before start or after stop)."""
        with self._lock:
            return self._child.pid if self._child else None

    def start(self) -> Supervisor:
        """Start the child and the thread that watches it."""
        self._spawn()
        self._thread = threading.Thread(target=self._watch, name="supervisor", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout_s: float = 15.0) -> None:
        """Stop watching, then terminate the child (kill after `timeout_s`)."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
        with self._lock:
            child, self._child = self._child, None
        if child is not None and child.poll() is None:
            child.terminate()
            try:
                child.wait(timeout_s)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()

    def _spawn(self) -> None:
        with self.log_path.open("ab") as out:  # the child keeps its own copy of the descriptor
            child = subprocess.Popen(self.command, stdout=out, stderr=subprocess.STDOUT,
                                     env=self.env)
        with self._lock:
            self._child = child
        self._started_at = time.monotonic()

    def _watch(self) -> None:
        wait_s = self.backoff_s
        while not self._stopping.wait(POLL_S):
            with self._lock:
                child = self._child
            if child is None or child.poll() is None:
                continue
            ran_s = time.monotonic() - self._started_at
            wait_s = self.backoff_s if ran_s > self.backoff_max_s else wait_s
            log.warning("%s exited with %s after %.1f s; restarting in %.1f s",
                        self.command[-1], child.returncode, ran_s, wait_s)
            if self._stopping.wait(wait_s):
                return
            self._spawn()
            self.restarts += 1
            wait_s = min(max(wait_s * 2, self.backoff_s), self.backoff_max_s)
