"""Callbacks: signed POSTs to a loopback receiver, retries with back-off, private URLs refused."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from flask.testing import FlaskClient

from api import create_app
from api.webhook_urls import BadCallbackUrl, check_url
from storage.db import get_db
from tests.api.conftest import AuthActions


class Receiver:
    """An HTTP server on loopback that records each POST and answers the next queued status."""

    def __init__(self) -> None:
        self.statuses: list[int] = []
        self.delay_s = 0.0
        self.calls: list[tuple[dict[str, str], bytes, float]] = []
        self.got = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                time.sleep(receiver.delay_s)
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()
                with receiver.got:
                    receiver.calls.append((dict(self.headers), body, time.time()))
                    receiver.got.notify_all()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, n: int, timeout: float = 15.0) -> None:
        with self.got:
            assert self.got.wait_for(lambda: len(self.calls) >= n, timeout), self.calls


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.server.shutdown()
    server.server.server_close()


@pytest.fixture
def make_client(detector_env, engine, monkeypatch) -> Iterator[Callable[..., FlaskClient]]:
    """`make(**env)`: a client of an app built after setting WEBHOOK_* variables (fast loop)."""
    apps = []

    def make(**env: str) -> FlaskClient:
        for name, value in {"WEBHOOK_ALLOW_PRIVATE": "true", "WEBHOOK_POLL_S": "0.05",
                            "WEBHOOK_BACKOFF_S": "0.2", "WEBHOOK_REFRESH_S": "0.05",
                            **env}.items():
            monkeypatch.setenv(name, value)
        app = create_app({"TESTING": True, "ENGINE": engine})
        apps.append(app)
        return app.test_client()

    yield make
    for app in apps:
        app.extensions["webhooks"].stop()


def _verify(headers: dict[str, str], body: bytes, secret: str) -> int:
    """The signature's timestamp when it is right for `secret` (else an assertion fails)."""
    parts = dict(p.split("=", 1) for p in headers["X-Detector-Signature"].split(","))
    mac = hmac.new(secret.encode(), parts["t"].encode() + b"." + body, hashlib.sha256)
    assert hmac.compare_digest(parts["v1"], mac.hexdigest())
    return int(parts["t"])


def _job(client: FlaskClient, headers: dict, job_id: str, state: str) -> dict:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        job = client.get(f"/api/v1/jobs/{job_id}", headers=headers).json
        if job["callback"]["state"] == state:
            return job
        time.sleep(0.05)
    raise AssertionError(f"callback never {state}: {job['callback']}")


def test_the_finished_job_is_posted_signed(make_client, receiver, samples):
    client = make_client()
    headers = AuthActions(client).headers("alice")
    old = client.get("/api/v1/auth/webhook-secret", headers=headers).json["secret"]
    assert client.get("/api/v1/auth/webhook-secret", headers=headers).json["secret"] == old
    secret = client.post("/api/v1/auth/webhook-secret", headers=headers).json["secret"]
    assert secret != old and len(secret) >= 64
    response = client.post("/api/v1/detections", headers=headers, json={
        "text": samples["txt"].decode(), "callback_url": receiver.url})
    assert response.status_code == 200, response.json
    receiver.wait_for(1)
    sent, body, _ = receiver.calls[0]
    assert abs(_verify(sent, body, secret) - time.time()) < 30
    with pytest.raises(AssertionError):
        _verify(sent, body, old)
    job = json.loads(body)
    assert job["job_id"] == response.json["job_id"] and job["status"] == "succeeded"
    assert job["results"] == response.json["results"]
    seen = _job(client, headers, job["job_id"], "delivered")["callback"]
    assert [a["status_code"] for a in seen["attempts"]] == [200] and seen["delivered_at"]
    assert seen["url"] == receiver.url


def test_failures_are_retried_with_back_off(make_client, receiver, samples, upload):
    client = make_client()
    headers = AuthActions(client).headers("alice")
    receiver.statuses = [500, 503]
    # async: the job ends when the delivery loop refreshes it from the engine
    response = client.post("/api/v1/detections?mode=async", headers=headers, data={
        **upload((samples["png"], "a.png")), "callback_url": receiver.url})
    assert response.status_code == 202, response.json
    receiver.wait_for(3)
    job = _job(client, headers, response.json["job_id"], "delivered")
    attempts = job["callback"]["attempts"]
    assert [a["status_code"] for a in attempts] == [500, 503, 200]
    assert [a["error"] for a in attempts] == ["HTTP 500", "HTTP 503", None]
    gaps = [b[2] - a[2] for a, b in zip(receiver.calls, receiver.calls[1:], strict=False)]
    assert gaps[0] >= 0.2 and gaps[1] >= 0.4  # WEBHOOK_BACKOFF_S, then doubled
    for sent, body, _ in receiver.calls:
        _verify(sent, body, client.get("/api/v1/auth/webhook-secret",
                                       headers=headers).json["secret"])


def test_delivery_gives_up_after_the_last_attempt(make_client, receiver, samples):
    client = make_client(WEBHOOK_MAX_ATTEMPTS="2", WEBHOOK_BACKOFF_S="0.05")
    headers = AuthActions(client).headers("alice")
    receiver.statuses = [500] * 5
    response = client.post("/api/v1/detections", headers=headers, json={
        "text": samples["txt"].decode(), "callback_url": receiver.url})
    job = _job(client, headers, response.json["job_id"], "failed")
    assert [a["status_code"] for a in job["callback"]["attempts"]] == [500, 500]
    time.sleep(0.3)
    assert len(receiver.calls) == 2


def test_a_slow_receiver_does_not_hold_the_request(make_client, receiver, samples):
    client = make_client()
    headers = AuthActions(client).headers("alice")
    receiver.delay_s = 1.5
    started = time.monotonic()
    response = client.post("/api/v1/detections", headers=headers, json={
        "text": samples["txt"].decode(), "callback_url": receiver.url})
    assert response.status_code == 200 and time.monotonic() - started < 1.0
    receiver.wait_for(1)


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:9/hook", "http://localhost/hook", "http://10.1.2.3/", "http://[::1]/",
    "http://169.254.169.254/latest/meta-data", "http://192.168.0.10/", "http://[::ffff:10.0.0.1]/",
    "ftp://example.com/", "http://user:pw@example.org/", "not a url",
])
def test_private_and_odd_urls_are_refused(make_client, url):
    client = make_client(WEBHOOK_ALLOW_PRIVATE="false")
    headers = AuthActions(client).headers("alice")
    response = client.post("/api/v1/detections", headers=headers,
                           json={"text": "Words of a person, long enough to be read.",
                                 "callback_url": url})
    assert response.status_code == 400, response.json
    assert response.json["error"]["code"] == "bad_callback_url"
    assert get_db().jobs.count_documents({}) == 0 and get_db().media.count_documents({}) == 0


def test_public_addresses_pass_and_the_switch_allows_loopback() -> None:
    check_url("http://93.184.215.14/hook", allow_private=False, max_chars=100)
    check_url("http://127.0.0.1:9/hook", allow_private=True, max_chars=100)
    with pytest.raises(BadCallbackUrl):
        check_url("http://127.0.0.1:9/hook", allow_private=False, max_chars=100)
    with pytest.raises(BadCallbackUrl):
        check_url("http://93.184.215.14/" + "x" * 100, allow_private=False, max_chars=100)


def test_a_callback_left_pending_goes_out_when_the_loop_starts(make_client, receiver):
    """What `detector serve` does at start: a job that ended while no loop ran is announced."""
    from storage import jobs, webhooks

    client = make_client()
    owner = AuthActions(client).user("carol")["user_id"]
    job = jobs.create_job(get_db(), owner, [], engine="fake", mode="async")
    jobs.update_job(get_db(), job["job_id"], status="succeeded",
                    callback=webhooks.new_callback(receiver.url))
    time.sleep(0.2)
    assert receiver.calls == []  # nothing runs the loop yet
    client.application.extensions["webhooks"].start()
    receiver.wait_for(1)
    assert json.loads(receiver.calls[0][1])["job_id"] == job["job_id"]
