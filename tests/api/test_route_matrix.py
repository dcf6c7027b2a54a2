"""Every route of app.url_map against no token, expired, forged and other users' tokens."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.routing import Rule

from api import create_app
from api.auth import issue_token
from config import Config
from storage import users
from storage.db import get_db

PUBLIC_ENDPOINTS = {
    "auth.token",  # Basic credentials buy the token
    "health.healthz", "health.readyz",  # probes
    "static", "web.index", "web.static",  # the upload page and its files
    "openapi.openapi_json", "openapi.docs_page", "openapi.static",  # the API's own document
}
"""Routes public by design; every other route needs a valid token."""
METHODS_SKIPPED = {"HEAD", "OPTIONS"}
BOB_FILE = f"bob-private-{uuid.uuid4().hex[:8]}.png"


def _routes(app: Flask) -> list[tuple[Rule, str]]:
    return [(rule, method) for rule in app.url_map.iter_rules()
            if rule.endpoint not in PUBLIC_ENDPOINTS
            for method in sorted(rule.methods - METHODS_SKIPPED)]


def _url(rule: Rule, values: dict[str, str]) -> str:
    """The rule's path with each argument set to the other user's value of that name."""
    path = rule.rule
    for arg in rule.arguments:
        path = path.replace(f"<{arg}>", values.get(arg, values["user_id"]))
    return path


def _token(secret: str, sub: str, key_alg: str = "HS256", **claims: Any) -> str:
    now = datetime.now(UTC)
    body = {"sub": sub, "name": "x", "admin": True, "ver": 0, "jti": uuid.uuid4().hex,
            "iat": now, "exp": now + timedelta(hours=1), **claims}
    return jwt.encode(body, secret, algorithm=key_alg)


@pytest.fixture(scope="module")
def world(module_env: Config) -> dict[str, Any]:
    """One app and database for the module: bob's job, media and result; alice, a plain user;
    tokens of every kind."""
    from tests.api.conftest import AuthActions, FakeEngine, _png, files

    app = create_app({"TESTING": True, "ENGINE": FakeEngine()})
    client = app.test_client()
    auth = AuthActions(client)
    bob = auth.user("bob-matrix")
    alice = auth.user("alice-matrix")
    bob_headers = auth.headers("bob-matrix")
    made = client.post("/api/v1/detections?mode=sync", data=files((_png(), BOB_FILE)),
                       headers=bob_headers, content_type="multipart/form-data")
    assert made.status_code == 200, made.json
    job_id, media_id = made.json["job_id"], made.json["results"][0]["media_id"]
    secret = module_env.jwt_secret
    alice_token = auth.token("alice-matrix")  # only for the swapped payload
    header, payload, signature = alice_token.split(".")
    bob_payload = jwt.utils.base64url_encode(json.dumps(
        {**jwt.decode(alice_token, options={"verify_signature": False}),
         "sub": bob["user_id"], "admin": True}).encode()).decode()
    return {
        "app": app, "client": client,
        "bob": {"user_id": bob["user_id"], "job_id": job_id, "media_id": media_id},
        "secrets": [BOB_FILE, bob["user_id"], job_id, media_id, "bob-matrix"],
        "bad": {
            "expired": _token(secret, alice["user_id"], exp=datetime.now(UTC) - timedelta(
                seconds=5), iat=datetime.now(UTC) - timedelta(hours=1)),
            "other key": _token("a-forged-key-that-is-long-enough-for-hs256", bob["user_id"]),
            "alg none": _token("", bob["user_id"], key_alg="none"),
            "HS512 with the real key": _token(secret, bob["user_id"], key_alg="HS512"),
            "payload swapped": f"{header}.{bob_payload}.{signature}",
            "garbage": "not.a.token",
        },
    }


def _leaks(secrets: list[str], body: str, url: str) -> list[str]:
    """Bob's values in an answer, less those the caller sent in the URL (an echoed id)."""
    return [s for s in secrets if s in body and s not in url]


def _call(client: FlaskClient, method: str, url: str, headers: dict[str, str]) -> Any:
    return client.open(url, method=method, headers=headers, json={})


def test_public_list_names_real_routes(world: dict[str, Any]) -> None:
    endpoints = {rule.endpoint for rule in world["app"].url_map.iter_rules()}
    assert PUBLIC_ENDPOINTS <= endpoints  # a renamed public route must be listed again
    assert len(_routes(world["app"])) >= 12


@pytest.mark.parametrize("kind", ["none", "expired", "other key", "alg none",
                                  "HS512 with the real key", "payload swapped", "garbage"])
def test_every_route_refuses_bad_tokens(world: dict[str, Any], kind: str) -> None:
    """401 with the JSON error and a Bearer challenge, and none of bob's data."""
    headers = {} if kind == "none" else {"Authorization": f"Bearer {world['bad'][kind]}"}
    for rule, method in _routes(world["app"]):
        url = _url(rule, world["bob"])
        answer = _call(world["client"], method, url, headers)
        where = f"{method} {rule.rule} with {kind}"
        assert answer.status_code == 401, f"{where}: {answer.status_code}"
        assert answer.json["error"]["code"] == "unauthorized", where
        assert answer.headers["WWW-Authenticate"].startswith("Bearer"), where
        assert not _leaks(world["secrets"], answer.get_data(as_text=True), url), where


def test_every_route_keeps_other_users_data(world: dict[str, Any]) -> None:
    """Alice (no admin) on bob's ids: admin routes 403, routes naming a resource 404, the rest
    answer her own data only; no body holds bob's filename, ids or name. Each call gets a fresh
    token of hers (one route is logout)."""
    app, client = world["app"], world["client"]
    alice = users.get_user_by_name(get_db(), "alice-matrix")
    for rule, method in _routes(app):
        with app.app_context():  # what /token signs, without paying a scrypt each time
            headers = {"Authorization": f"Bearer {issue_token(alice)}"}
        url = _url(rule, world["bob"])
        answer = _call(client, method, url, headers)
        where = f"{method} {rule.rule}: {answer.status_code}"
        if getattr(app.view_functions[rule.endpoint], "admin_only", False):
            assert answer.status_code == 403, where
        elif rule.arguments:
            assert answer.status_code == 404, where
        else:
            assert answer.status_code < 500, where
        assert not _leaks(world["secrets"], answer.get_data(as_text=True), url), where


def test_admin_routes_are_marked(world: dict[str, Any]) -> None:
    """The user routes are admin routes (the matrix reads the mark, so it must be there)."""
    views = world["app"].view_functions
    for endpoint in ("admin_users.list_users", "admin_users.create_user",
                     "admin_users.update_user", "rescans.start", "rescans.list_all",
                     "rescans.get_rescan", "models_admin.list_models"):
        assert getattr(views[endpoint], "admin_only", False), endpoint


def test_bob_sees_his_own(world: dict[str, Any]) -> None:
    """The ids used above are real: bob's own token reaches them (so 404 meant 'not yours')."""
    db = get_db()
    bob = users.get_user(db, world["bob"]["user_id"])
    client = world["client"]
    token = client.post("/api/v1/auth/token", auth=(bob["name"], f"password-{bob['name']}"))
    headers = {"Authorization": f"Bearer {token.json['access_token']}"}
    assert client.get(f"/api/v1/jobs/{world['bob']['job_id']}", headers=headers).status_code == 200
    got = client.get(f"/api/v1/results/{world['bob']['media_id']}", headers=headers)
    assert got.status_code == 200
