"""Upload and sync-detection rate limits per user and per address, shared by replicas."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from api import create_app
from api.auth import issue_token
from storage import users
from storage.db import get_db

TEXT = {"text": "Plain words written by a person for the detector to read, twice over."}
URL = "/api/v1/detections"


class Tokens:
    """Bearer headers for new users, signed as /token signs them (no scrypt for the login)."""

    def __init__(self, app: Flask) -> None:
        self._app = app

    def headers(self, name: str) -> dict[str, str]:
        user = users.create_user(get_db(), name, f"password-{name}")
        with self._app.app_context():
            return {"Authorization": f"Bearer {issue_token(user)}"}


def _post(client: FlaskClient, headers: dict[str, str], mode: str = "async",
          address: str = "127.0.0.1") -> int:
    answer = client.post(f"{URL}?mode={mode}", json=TEXT, headers=headers,
                         environ_base={"REMOTE_ADDR": address})
    if answer.status_code == 429:
        assert answer.json["error"]["code"] == "too_many_requests"
        assert int(answer.headers["Retry-After"]) >= 1
    return answer.status_code


def test_uploads_per_user(make_app) -> None:
    client = make_app(RATE_LIMIT_UPLOADS_PER_USER="2/minute").test_client()
    auth = Tokens(client.application)
    alice, bob = auth.headers("alice"), auth.headers("bob")
    assert [_post(client, alice) for _ in range(3)] == [202, 202, 429]
    assert _post(client, alice, address="198.51.100.4") == 429  # another address: same user
    assert _post(client, bob) == 202


def test_uploads_per_address(make_app) -> None:
    client = make_app(RATE_LIMIT_UPLOADS_PER_ADDRESS="2/minute").test_client()
    auth = Tokens(client.application)
    alice, bob = auth.headers("alice"), auth.headers("bob")
    assert [_post(client, alice), _post(client, bob), _post(client, alice)] == [202, 202, 429]
    assert _post(client, bob, address="198.51.100.4") == 202


def test_sync_detections_per_user_and_address(make_app) -> None:
    client = make_app(RATE_LIMIT_SYNC_PER_USER="1/minute",
                      RATE_LIMIT_SYNC_PER_ADDRESS="2/minute").test_client()
    auth = Tokens(client.application)
    alice, bob, carol = auth.headers("alice"), auth.headers("bob"), auth.headers("carol")
    dave = auth.headers("dave")
    assert [_post(client, alice, "sync"), _post(client, alice, "sync")] == [200, 429]
    assert _post(client, alice, "async") == 202  # only sync detections count
    assert _post(client, bob, "sync") == 200
    assert _post(client, carol, "sync") == 429  # the address's 2 are used
    assert _post(client, dave, "sync", address="198.51.100.4") == 200  # another address


def test_limits_hold_across_replicas(make_app) -> None:
    first = make_app(RATE_LIMIT_UPLOADS_PER_USER="2/minute")
    second = create_app({"TESTING": True, "ENGINE": first.config["ENGINE"]})
    alice = Tokens(first).headers("alice")
    assert _post(first.test_client(), alice) == 202
    assert _post(second.test_client(), alice) == 202
    assert _post(first.test_client(), alice) == 429
    assert _post(second.test_client(), alice) == 429


def test_a_limit_can_be_switched_off(make_app) -> None:
    client = make_app(RATE_LIMIT_UPLOADS_PER_USER="none",
                      RATE_LIMIT_UPLOADS_PER_ADDRESS="1/minute").test_client()
    alice = Tokens(client.application).headers("alice")
    assert [_post(client, alice), _post(client, alice)] == [202, 429]  # the other still holds


def test_no_token_is_not_counted_for_a_user(make_app) -> None:
    """The token check comes first: anonymous requests get 401 and use up nobody's limit."""
    client = make_app(RATE_LIMIT_UPLOADS_PER_USER="1/minute",
                      RATE_LIMIT_UPLOADS_PER_ADDRESS="1/minute").test_client()
    assert [client.post(URL, json=TEXT).status_code for _ in range(3)] == [401, 401, 401]
    assert _post(client, Tokens(client.application).headers("alice")) == 202


def test_a_bad_limit_stops_the_app(make_app) -> None:
    with pytest.raises(ValueError, match="RATE_LIMIT_UPLOADS_PER_USER"):
        make_app(RATE_LIMIT_UPLOADS_PER_USER="many per minute")
