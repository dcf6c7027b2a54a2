"""Tokens: Basic credentials for a JWT; every /api/v1 route refuses a missing or bad token."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
import pytest
from flask import Flask
from flask.testing import FlaskClient

from api import create_app
from config import Config
from storage import users
from storage.db import get_db

PROTECTED = [
    ("post", "/api/v1/detections"),
    ("get", "/api/v1/jobs/abc"),
    ("get", "/api/v1/results"),
    ("get", "/api/v1/results/abc"),
    ("get", "/api/v1/auth/me"),
    ("post", "/api/v1/auth/users"),
]


def test_token_for_valid_credentials(client: FlaskClient, auth, detector_env: Config) -> None:
    user = auth.user("alice")
    response = client.post("/api/v1/auth/token", auth=("alice", "password-alice"))
    assert response.status_code == 200
    body = response.json
    assert body["token_type"] == "Bearer" and body["expires_in"] == detector_env.token_ttl_s
    claims = jwt.decode(body["access_token"], detector_env.jwt_secret, algorithms=["HS256"])
    assert claims["sub"] == user["user_id"] and claims["exp"] > claims["iat"]
    me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200 and me.json["name"] == "alice" and "password_hash" not in me.json


@pytest.mark.parametrize("credentials", [("alice", "wrong"), ("nobody", "password-alice"), None])
def test_token_refused(client: FlaskClient, auth, credentials) -> None:
    auth.user("alice")
    response = client.post("/api/v1/auth/token", auth=credentials)
    assert response.status_code == 401
    assert response.json["error"]["code"] == "unauthorized"


def _token(secret: str, sub: str, **delta) -> str:
    now = datetime.now(UTC)
    exp = now + timedelta(**delta) if delta else now + timedelta(hours=1)
    return jwt.encode({"sub": sub, "iat": now, "exp": exp}, secret, algorithm="HS256")


@pytest.mark.parametrize(("method", "url"), PROTECTED)
def test_protected_routes_need_a_token(client: FlaskClient, method: str, url: str) -> None:
    response = getattr(client, method)(url)
    assert response.status_code == 401 and response.json["error"]["code"] == "unauthorized"


@pytest.mark.parametrize("kind", ["garbage", "expired", "other key", "unknown user", "no exp",
                                  "alg none", "basic"])
def test_bad_tokens_are_refused(client: FlaskClient, auth, detector_env: Config, kind: str):
    user = auth.user("alice")
    secret, sub = detector_env.jwt_secret, user["user_id"]
    token = {
        "garbage": "not.a.jwt",
        "expired": _token(secret, sub, seconds=-5),
        "other key": _token("another-secret-key-that-is-long-enough-too", sub),
        "unknown user": _token(secret, "0" * 32),
        "no exp": jwt.encode({"sub": sub, "iat": datetime.now(UTC)}, secret, algorithm="HS256"),
        "alg none": jwt.encode({"sub": sub, "exp": datetime.now(UTC) + timedelta(hours=1)},
                               None, algorithm="none"),
        "basic": None,
    }[kind]
    if token is None:  # Basic credentials are for /auth/token only
        response = client.get("/api/v1/results", auth=("alice", "password-alice"))
    else:
        response = client.get("/api/v1/results", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert response.json["error"]["code"] == "unauthorized"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_admin_bootstrap(detector_env: Config, engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DETECTOR_ADMIN_USER", "root")
    monkeypatch.setenv("DETECTOR_ADMIN_PASSWORD", "root-password")
    create_app({"ENGINE": engine})
    create_app({"ENGINE": engine})  # a second start finds it
    admins = list(get_db().users.find({"name": "root"}))
    assert len(admins) == 1 and admins[0]["admin"] is True
    assert users.authenticate(get_db(), "root", "root-password") is not None


def test_admin_creates_users(client: FlaskClient, auth, app: Flask) -> None:
    admin = auth.headers("root", admin=True)
    body = {"name": "carol", "password": "carol-password"}
    created = client.post("/api/v1/auth/users", json=body, headers=admin)
    assert created.status_code == 201 and created.json["name"] == "carol"
    assert "password_hash" not in created.json
    assert client.post("/api/v1/auth/users", json=body, headers=admin).status_code == 409
    weak = client.post("/api/v1/auth/users", json={"name": "d", "password": "x"}, headers=admin)
    assert weak.status_code == 400
    assert auth.token("carol", "carol-password")
    plain = client.post("/api/v1/auth/users", json=body, headers=auth.headers("alice"))
    assert plain.status_code == 403 and plain.json["error"]["code"] == "forbidden"


@pytest.mark.parametrize("ttl", ["0", "3600"])
def test_user_record_cache(detector_env: Config, engine, monkeypatch: pytest.MonkeyPatch,
                           ttl: str) -> None:
    """USER_CACHE_TTL_S: a token's user record is reused for that long (0: read every time)."""
    monkeypatch.setenv("USER_CACHE_TTL_S", ttl)
    client = create_app({"TESTING": True, "ENGINE": engine}).test_client()
    users.create_user(get_db(), "carol", "password-carol")
    token = client.post("/api/v1/auth/token", auth=("carol", "password-carol")).json[
        "access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/auth/me", headers=headers).json["admin"] is False
    users.ensure_admin(get_db(), "carol", "ignored")  # made admin behind the API's back
    assert client.get("/api/v1/auth/me", headers=headers).json["admin"] is (ttl == "0")
    get_db().users.delete_one({"name": "carol"})
    expected = 401 if ttl == "0" else 200
    assert client.get("/api/v1/auth/me", headers=headers).status_code == expected
