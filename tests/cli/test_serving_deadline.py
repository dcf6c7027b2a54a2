"""Slow clients: a request trickled in byte by byte is cut off at REQUEST_READ_TIMEOUT_S by the
real waitress server `detector serve` runs (`cli.serving.DeadlineServer`), on loopback."""

from __future__ import annotations

import select
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import replace

import pytest

from cli.serving import deadline_server, serve_options
from config import Limits

TIMEOUT_S = 2


@pytest.fixture
def server() -> Iterator[tuple[int, list[int]]]:
    seen: list[int] = []

    def app(environ, start_response):
        seen.append(len(environ["wsgi.input"].read()))
        start_response("200 OK", [("Content-Length", "2")])
        return [b"ok"]

    limits = replace(Limits(), request_read_timeout_s=TIMEOUT_S)
    srv = deadline_server(app, **serve_options(limits, "127.0.0.1", 0, 2, "test"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    yield srv.effective_port, seen
    srv.close()
    thread.join(timeout=5)


def _trickle(port: int, body: int, every_s: float, give_up_s: float) -> float | None:
    """Send headers, then one body byte every `every_s` (never idle long enough for an idle
    timeout); seconds until the server closed the connection, None if it never did."""
    start = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"POST /upload HTTP/1.1\r\nHost: x\r\n"
                     + f"Content-Length: {body}\r\n\r\n".encode())
        while time.monotonic() - start < give_up_s:
            try:
                sock.sendall(b"x")
            except OSError:  # reset or broken pipe: closed by the server
                return time.monotonic() - start
            readable, _, _ = select.select([sock], [], [], every_s)
            if readable:
                try:
                    if sock.recv(1024) == b"":
                        return time.monotonic() - start
                except OSError:
                    return time.monotonic() - start
    return None


def test_a_trickled_body_is_cut_off_at_the_deadline(server) -> None:
    port, seen = server
    closed_after = _trickle(port, body=10_000, every_s=0.4, give_up_s=4 * TIMEOUT_S + 2)
    assert closed_after is not None, "the slow client kept its connection"
    assert TIMEOUT_S - 0.5 < closed_after < 2 * TIMEOUT_S + 2  # the deadline plus one sweep
    assert seen == []  # the app never got the request


def test_a_prompt_request_is_served(server) -> None:
    port, seen = server
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                     b"Content-Length: 3\r\n\r\nabc")
        assert sock.recv(1024).startswith(b"HTTP/1.1 200")
    assert seen == [3]
