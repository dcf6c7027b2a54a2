"""Login abuse: failures throttled per name and address before hashing, hashing capped, and a
wrong password answered exactly like an unknown user, in the same time."""

from __future__ import annotations

import statistics
import time

import pytest
from flask.testing import FlaskClient

from api import create_app
from storage import users
from storage.db import get_db

TOKEN_URL = "/api/v1/auth/token"


@pytest.fixture
def hash_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Counts the password hash checks `storage.users` makes (each still runs for real)."""
    calls: list[str] = []
    real = users.check_password_hash

    def counted(pwhash: str, password: str) -> bool:
        calls.append(password)
        return real(pwhash, password)

    monkeypatch.setattr(users, "check_password_hash", counted)
    return calls


def _retry_after(answer) -> int:
    return int(answer.headers["Retry-After"])


def test_failures_per_name_are_throttled_before_hashing(make_app, hash_calls) -> None:
    client = make_app(LOGIN_FAILURES_PER_NAME="3/minute").test_client()
    users.create_user(get_db(), "alice", "password-alice")
    for _ in range(3):
        assert client.post(TOKEN_URL, auth=("alice", "wrong-password")).status_code == 401
    assert len(hash_calls) == 3
    throttled = client.post(TOKEN_URL, auth=("alice", "password-alice"))  # even the right one
    assert throttled.status_code == 429 and throttled.json["error"]["code"] == "too_many_requests"
    assert 1 <= _retry_after(throttled) <= 60
    assert len(hash_calls) == 3  # refused before any hashing
    unknown = [client.post(TOKEN_URL, auth=("nobody", "x-password")) for _ in range(4)]
    assert [a.status_code for a in unknown] == [401, 401, 401, 429]  # unknown names alike
    other = users.create_user(get_db(), "bob", "password-bob")
    assert client.post(TOKEN_URL, auth=("bob", "password-bob")).status_code == 200
    assert other["name"] == "bob"


def test_successes_are_not_counted(make_app) -> None:
    client = make_app(LOGIN_FAILURES_PER_NAME="2/minute").test_client()
    users.create_user(get_db(), "alice", "password-alice")
    for _ in range(4):
        assert client.post(TOKEN_URL, auth=("alice", "password-alice")).status_code == 200


def test_failures_per_address_are_throttled(make_app, hash_calls) -> None:
    client = make_app(LOGIN_FAILURES_PER_ADDRESS="3/minute").test_client()
    users.create_user(get_db(), "alice", "password-alice")
    for i in range(3):
        assert client.post(TOKEN_URL, auth=(f"guess{i}", "wrong-password")).status_code == 401
    answer = client.post(TOKEN_URL, auth=("alice", "password-alice"))
    assert answer.status_code == 429 and _retry_after(answer) >= 1
    assert len(hash_calls) == 3
    elsewhere = client.post(TOKEN_URL, auth=("alice", "password-alice"),
                            environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert elsewhere.status_code == 200


def test_password_change_failures_share_the_throttle(make_app) -> None:
    client = make_app(LOGIN_FAILURES_PER_NAME="2/minute").test_client()
    users.create_user(get_db(), "alice", "password-alice")
    token = client.post(TOKEN_URL, auth=("alice", "password-alice")).json["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    body = {"current_password": "guessed-wrong", "new_password": "another-password"}
    codes = [client.post("/api/v1/auth/password", headers=headers, json=body).status_code
             for _ in range(3)]
    assert codes == [403, 403, 429]
    assert client.post(TOKEN_URL, auth=("alice", "password-alice")).status_code == 429


def test_the_throttle_holds_across_replicas(make_app) -> None:
    """Two apps on one database (two api replicas) count the same failures."""
    first = make_app(LOGIN_FAILURES_PER_NAME="2/minute").test_client()
    second = create_app({"TESTING": True, "ENGINE": None}).test_client()
    users.create_user(get_db(), "alice", "password-alice")
    assert first.post(TOKEN_URL, auth=("alice", "wrong-password")).status_code == 401
    assert second.post(TOKEN_URL, auth=("alice", "wrong-password")).status_code == 401
    assert first.post(TOKEN_URL, auth=("alice", "password-alice")).status_code == 429
    assert second.post(TOKEN_URL, auth=("alice", "password-alice")).status_code == 429


def test_hashing_is_capped(make_app, hash_calls) -> None:
    """With every hashing slot taken, a login is turned away at once: 503 + Retry-After."""
    app = make_app(LOGIN_HASH_CONCURRENCY="1", LOGIN_HASH_WAIT_S="0")
    client = app.test_client()
    users.create_user(get_db(), "alice", "password-alice")
    slots = app.extensions["login_hashing"]
    assert slots.acquire(timeout=1)  # a login hashing elsewhere in this process
    try:
        busy = client.post(TOKEN_URL, auth=("alice", "password-alice"))
    finally:
        slots.release()
    assert busy.status_code == 503 and busy.json["error"]["code"] == "unavailable"
    assert _retry_after(busy) >= 1 and hash_calls == []
    assert client.post(TOKEN_URL, auth=("alice", "password-alice")).status_code == 200


def _scrypt_seconds() -> float:
    """The time of one password check made directly, without the API around it."""
    start = time.perf_counter()
    users.check_password_hash(users._DUMMY_HASH, "some-password")
    return time.perf_counter() - start


def test_wrong_password_answers_like_unknown_user(make_app) -> None:
    client: FlaskClient = make_app(LOGIN_FAILURES_PER_NAME="1000/minute",
                                   LOGIN_FAILURES_PER_ADDRESS="1000/minute").test_client()
    users.create_user(get_db(), "alice", "password-alice")
    wrong, unknown, scrypt = [], [], []
    answers = {}
    for i in range(15):  # interleaved, so load on the machine hits all three alike
        for name, times in (("alice", wrong), ("nobody-here", unknown)):
            start = time.perf_counter()
            answer = client.post(TOKEN_URL, auth=(name, "not-the-password"))
            times.append(time.perf_counter() - start)
            answers[name] = answer
        if i % 3 == 0:
            scrypt.append(_scrypt_seconds())
    a, b = answers["alice"], answers["nobody-here"]
    assert a.status_code == b.status_code == 401
    assert a.get_data() == b.get_data()
    assert sorted(a.headers.items()) == sorted(b.headers.items())
    wrong_median, unknown_median = statistics.median(wrong), statistics.median(unknown)
    floor = 0.5 * min(scrypt)  # both must hash: without the dummy hash, unknown is ~10x faster
    assert wrong_median >= floor and unknown_median >= floor, (wrong, unknown, scrypt)
    assert 0.5 <= wrong_median / unknown_median <= 2.0, (wrong, unknown)
