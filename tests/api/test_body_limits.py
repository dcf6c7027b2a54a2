"""Body limits: waitress's cap, and per-route 413s from Content-Length before auth or a read."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from dataclasses import replace

import pytest
from flask import Flask
from flask.testing import FlaskClient
from waitress.server import create_server

from api.bodylimit import body_limit
from cli.serving import serve_options
from config import Limits

HUGE = 10**12  # a terabyte announced, nothing sent


class Unreadable:
    """A request body that fails the test if anything reads it."""

    def read(self, *args: object) -> bytes:
        raise AssertionError("the body was read")

    readline = readlines = __iter__ = read


def _announce(client: FlaskClient, path: str, length: int, **kw) -> object:
    environ = {"wsgi.input": Unreadable(), "CONTENT_LENGTH": str(length)}
    return client.post(path, environ_overrides=environ, **kw)


def _is_413(response, named: str) -> None:
    assert response.status_code == 413, response.get_data(as_text=True)
    error = response.json["error"]
    assert error["code"] == "too_large" and named in error["message"]


def test_upload_refused_before_auth_and_read(client: FlaskClient, app: Flask) -> None:
    limit = app.config["LIMITS"].max_request_bytes
    response = _announce(client, "/api/v1/detections", HUGE,
                         content_type="multipart/form-data; boundary=x")
    _is_413(response, str(limit))
    assert "MAX_UPLOAD_BYTES" in response.json["error"]["message"]


def test_upload_refused_with_a_token_too(client: FlaskClient, auth) -> None:
    response = _announce(client, "/api/v1/detections", HUGE, headers=auth.headers(),
                         content_type="multipart/form-data; boundary=x")
    _is_413(response, "MAX_UPLOAD_BYTES")


def test_login_takes_a_small_body(client: FlaskClient, app: Flask, auth) -> None:
    auth.user("bob")
    small = app.config["LIMITS"].max_json_body_bytes
    response = _announce(client, "/api/v1/auth/token", small + 1, auth=("bob", "password-bob"))
    _is_413(response, f"{small} bytes (MAX_JSON_BODY_BYTES)")
    assert client.post("/api/v1/auth/token", auth=("bob", "password-bob"),
                       data=b"x" * small).status_code == 200


def test_json_route_refuses_a_real_body_over_its_limit(client: FlaskClient, auth) -> None:
    body = b'{"name": "carol", "password": "' + b"p" * (64 * 1024) + b'"}'
    response = client.post("/api/v1/auth/users", headers=auth.headers("root", admin=True),
                           data=body, content_type="application/json")
    _is_413(response, "MAX_JSON_BODY_BYTES")


def test_upload_route_takes_a_file_at_the_limit(detector_env, auth_factory, samples,
                                                upload) -> None:
    """The upload route's limit is MAX_UPLOAD_BYTES plus framing, not the JSON one."""
    limits = replace(detector_env.limits, max_json_body_bytes=100)
    client, headers = auth_factory({"LIMITS": limits})
    response = client.post("/api/v1/detections?mode=async", headers=headers,
                           data=upload((samples["png"], "a.png")))
    assert response.status_code == 202, response.json


def test_body_limit_per_route() -> None:
    limits = Limits()
    assert body_limit("detections.create_detection", limits)[0] == (
        limits.max_upload_bytes + limits.multipart_overhead_bytes)
    for endpoint in ("auth.token", "auth.create_user", "jobs.stop_job", None):
        assert body_limit(endpoint, limits)[0] == limits.max_json_body_bytes


def test_max_content_length_is_the_upload_route_limit(app: Flask) -> None:
    assert app.config["MAX_CONTENT_LENGTH"] == app.config["LIMITS"].max_request_bytes


def test_serve_options_cap_the_body() -> None:
    limits = replace(Limits(), max_upload_bytes=5000, multipart_overhead_bytes=100)
    options = serve_options(limits, "127.0.0.1", 8000, 4, "detector")
    assert options == {"host": "127.0.0.1", "port": 8000, "threads": 4, "ident": "detector",
                       "max_request_body_size": 5101, "channel_timeout": 60,
                       "cleanup_interval": 15}


@pytest.fixture
def waitress_url() -> Iterator[tuple[int, list[int]]]:
    """A waitress server with `serve_options` on a port of its own; the app counts bodies."""
    seen: list[int] = []

    def app(environ, start_response):
        seen.append(len(environ["wsgi.input"].read()))
        start_response("200 OK", [("Content-Length", "0")])
        return [b""]

    limits = replace(Limits(), max_upload_bytes=1000, multipart_overhead_bytes=100)
    server = create_server(app, **serve_options(limits, "127.0.0.1", 0, 1, "test"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    yield server.effective_port, seen
    server.close()
    thread.join(timeout=5)


def _send(port: int, length: int, body: bytes = b"") -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                     + f"Content-Length: {length}\r\n\r\n".encode() + body)
        return sock.recv(4096)


def test_waitress_refuses_a_long_content_length_unread(waitress_url) -> None:
    port, seen = waitress_url
    assert _send(port, HUGE).startswith(b"HTTP/1.1 413")
    assert seen == []  # the app never ran
    assert _send(port, 1100, b"x" * 1100).startswith(b"HTTP/1.1 200")
    assert seen == [1100]  # the largest allowed body gets through
