"""The embedded MongoDB listens on loopback only and keeps its files private (0700 / 0600)."""

from __future__ import annotations

import os
import socket
from pathlib import Path

from pymongo import MongoClient

from storage.embedded import EmbeddedMongo


def test_embedded_files_are_private_and_bound_to_loopback(tmp_path: Path) -> None:
    old = os.umask(0o022)  # what a shell usually has: the server must not depend on it
    try:
        data = tmp_path / "mongo"
        with EmbeddedMongo(data) as server:
            with MongoClient(server.uri, serverSelectionTimeoutMS=5000) as client:
                client.detector.things.insert_one({"x": 1})  # the database file exists now
            host_ip = _non_loopback_ip()
            if host_ip is not None:  # the port answers on 127.0.0.1 only
                with socket.socket() as sock:
                    sock.settimeout(1)
                    assert sock.connect_ex((host_ip, server.port)) != 0
            assert data.stat().st_mode & 0o777 == 0o700
            made = [p for p in data.rglob("*") if p.is_file()]
            assert any(p.suffix == ".db" for p in made), made
            for path in made:
                assert path.stat().st_mode & 0o077 == 0, (path, oct(path.stat().st_mode))
    finally:
        os.umask(old)


def _non_loopback_ip() -> str | None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.connect(("192.0.2.1", 9))  # no packet is sent: picks the outgoing address
        except OSError:
            return None
        ip = sock.getsockname()[0]
    return None if ip.startswith("127.") else ip
