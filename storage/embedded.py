"""Start and stop the embedded MongoDB (nx-27017) as a child process on loopback.

nx-27017 has no authentication (no SCRAM, no `saslStart`): anyone who can reach its port can
read and write. It is bound to 127.0.0.1 only, and its files are private to this user (folder
0700, files 0600); on a shared machine any local process of any user can still connect."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

from pymongo import MongoClient
from pymongo.errors import PyMongoError


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _server_command() -> list[str]:
    exe = Path(sys.executable).with_name("nx-27017")
    if exe.exists():
        return [str(exe)]
    found = shutil.which("nx-27017")
    if found:
        return [found]
    return [sys.executable, "-m", "nx_27017"]


class EmbeddedMongo:
    """A real MongoDB wire-protocol server on SQLite, with its files under `data_dir`."""

    def __init__(self, data_dir: Path, port: int | None = None, start_timeout_s: float = 30.0):
        self.data_dir = Path(data_dir)
        self.port = port
        self.start_timeout_s = start_timeout_s
        self._proc: subprocess.Popen | None = None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    @property
    def uri(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}/"

    def start(self) -> str:
        """Start the server and return its URI once it answers `ping`."""
        self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.data_dir.chmod(0o700)  # one made by an older version was 0755
        self.port = self.port or _free_port()
        log = self.data_dir / "nx-27017.log"
        cmd = _server_command() + [
            "--data-dir", str(self.data_dir),
            "--host", "127.0.0.1",
            "--port", str(self.port),
            "--log-file", str(log),
            "--pid-file", str(self.data_dir / "nx-27017.pid"),
        ]
        stderr = os.open(self.data_dir / "stderr.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND,
                         0o600)
        try:  # the server's database, journal and log files are created 0600 (umask 077)
            self._proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=stderr,
                                          umask=0o077)
        finally:
            os.close(stderr)
        deadline = time.monotonic() + self.start_timeout_s
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"nx-27017 exited with {self._proc.returncode}; see {log}")
            try:
                with MongoClient(self.uri, serverSelectionTimeoutMS=300) as client:
                    client.admin.command("ping")
                return self.uri
            except PyMongoError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"nx-27017 did not answer ping within {self.start_timeout_s}s")

    def stop(self) -> None:
        """Stop the server (terminate, then kill after 10 s)."""
        if self._proc and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._proc = None

    def __enter__(self) -> EmbeddedMongo:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
