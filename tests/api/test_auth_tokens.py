"""Token lifecycle: logout, password change, disabled users, the fresh admin check, paging."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
import pytest
from flask.testing import FlaskClient

from api import create_app
from api.auth import issue_token
from config import Config
from storage import users
from storage.db import get_db


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def cached_client(detector_env: Config, engine, monkeypatch: pytest.MonkeyPatch) -> FlaskClient:
    """An app whose user cache lasts an hour: revocation must not wait for it."""
    monkeypatch.setenv("USER_CACHE_TTL_S", "3600")
    return create_app({"TESTING": True, "ENGINE": engine}).test_client()


def _login(client: FlaskClient, name: str, password: str | None = None) -> str:
    answer = client.post("/api/v1/auth/token", auth=(name, password or f"password-{name}"))
    assert answer.status_code == 200, answer.json
    return answer.json["access_token"]


def _issued(client: FlaskClient, user: dict) -> str:
    """A token signed as /token signs it, for tests where the login is not the subject."""
    with client.application.app_context():
        return issue_token(user)


def test_token_claims_are_pinned(client: FlaskClient, auth, detector_env: Config) -> None:
    auth.user("alice")
    token = _login(client, "alice")
    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    claims = jwt.decode(token, detector_env.jwt_secret, algorithms=["HS256"])
    assert {"sub", "exp", "iat", "jti", "ver"} <= set(claims)
    assert claims["exp"] - claims["iat"] == detector_env.token_ttl_s
    for missing in ("jti", "ver", "exp"):
        forged = jwt.encode({k: v for k, v in claims.items() if k != missing},
                            detector_env.jwt_secret, algorithm="HS256")
        assert client.get("/api/v1/auth/me", headers=_bearer(forged)).status_code == 401
    late = jwt.encode({**claims, "exp": datetime.now(UTC) - timedelta(seconds=1)},
                      detector_env.jwt_secret, algorithm="HS256")
    assert client.get("/api/v1/auth/me", headers=_bearer(late)).status_code == 401


def test_logout_revokes_only_the_presented_token(cached_client: FlaskClient, auth) -> None:
    alice = auth.user("alice")
    first, second = _issued(cached_client, alice), _issued(cached_client, alice)
    assert cached_client.get("/api/v1/auth/me", headers=_bearer(first)).status_code == 200
    assert cached_client.post("/api/v1/auth/logout", headers=_bearer(first)).status_code == 200
    assert cached_client.get("/api/v1/auth/me", headers=_bearer(first)).status_code == 401
    assert cached_client.post("/api/v1/auth/logout", headers=_bearer(first)).status_code == 401
    me = cached_client.get("/api/v1/auth/me", headers=_bearer(second))
    assert me.status_code == 200
    assert not {"revoked_tokens", "token_version", "password_hash"} & set(me.json)


def test_password_change(cached_client: FlaskClient, auth) -> None:
    auth.user("alice")
    old = _login(cached_client, "alice")
    url = "/api/v1/auth/password"
    wrong = cached_client.post(url, headers=_bearer(old), json={
        "current_password": "not-it-at-all", "new_password": "a-new-password"})
    assert wrong.status_code == 403 and wrong.json["error"]["code"] == "wrong_password"
    weak = cached_client.post(url, headers=_bearer(old), json={
        "current_password": "password-alice", "new_password": "short"})
    assert weak.status_code == 400
    changed = cached_client.post(url, headers=_bearer(old), json={
        "current_password": "password-alice", "new_password": "a-new-password"})
    assert changed.status_code == 200
    assert cached_client.get("/api/v1/auth/me", headers=_bearer(old)).status_code == 401
    new = changed.json["access_token"]
    assert cached_client.get("/api/v1/auth/me", headers=_bearer(new)).status_code == 200
    refused = cached_client.post("/api/v1/auth/token", auth=("alice", "password-alice"))
    assert refused.status_code == 401
    assert _login(cached_client, "alice", "a-new-password")


def test_disabled_user_is_refused_at_once(cached_client: FlaskClient, auth) -> None:
    root = auth.user("root", admin=True)
    alice = auth.user("alice")
    admin = _bearer(_issued(cached_client, root))
    token = _login(cached_client, "alice")
    assert cached_client.get("/api/v1/auth/me", headers=_bearer(token)).status_code == 200
    url = f"/api/v1/auth/users/{alice['user_id']}"
    off = cached_client.patch(url, headers=admin, json={"disabled": True})
    assert off.status_code == 200 and off.json["disabled"] is True
    assert "password_hash" not in off.json and "token_version" not in off.json
    assert cached_client.get("/api/v1/auth/me", headers=_bearer(token)).status_code == 401
    login = cached_client.post("/api/v1/auth/token", auth=("alice", "password-alice"))
    wrong = cached_client.post("/api/v1/auth/token", auth=("alice", "wrong-password"))
    assert login.status_code == 401 and login.get_data() == wrong.get_data()
    assert cached_client.patch(url, headers=admin, json={"disabled": False}).status_code == 200
    assert cached_client.get("/api/v1/auth/me", headers=_bearer(token)).status_code == 401
    assert _login(cached_client, "alice")


def test_admin_check_reads_the_database(cached_client: FlaskClient, auth) -> None:
    """A demoted admin's token still says admin and its record is cached: refused anyway."""
    root = auth.user("root", admin=True)
    token = _bearer(_issued(cached_client, root))
    assert cached_client.get("/api/v1/auth/users", headers=token).status_code == 200
    assert cached_client.get("/api/v1/auth/me", headers=token).json["admin"] is True  # cached
    users.update_user(get_db(), root["user_id"], admin=False)  # behind this replica's back
    assert cached_client.get("/api/v1/auth/me", headers=token).json["admin"] is True
    answer = cached_client.get("/api/v1/auth/users", headers=token)
    assert answer.status_code == 403 and answer.json["error"]["code"] == "forbidden"
    assert cached_client.post("/api/v1/auth/users", headers=token, json={
        "name": "eve", "password": "eve-password"}).status_code == 403


def test_admin_token_revoked_elsewhere_is_refused_on_admin_routes(cached_client: FlaskClient,
                                                                  auth) -> None:
    """Disabled through another replica (the database): admin routes see it at once."""
    root = auth.user("root", admin=True)
    token = _bearer(_issued(cached_client, root))
    assert cached_client.get("/api/v1/auth/me", headers=token).status_code == 200
    users.update_user(get_db(), root["user_id"], disabled=True)
    assert cached_client.get("/api/v1/auth/users", headers=token).status_code == 401


def test_admin_cannot_lock_itself_out(client: FlaskClient, auth) -> None:
    root = auth.user("root", admin=True)
    admin = auth.headers("root")
    url = f"/api/v1/auth/users/{root['user_id']}"
    assert client.patch(url, headers=admin, json={"disabled": True}).status_code == 409
    assert client.patch(url, headers=admin, json={"admin": False}).status_code == 409
    assert client.patch(url, headers=admin, json={"disabled": "yes"}).status_code == 400
    assert client.patch(url, headers=admin, json={"owner": True}).status_code == 400
    assert client.patch("/api/v1/auth/users/" + "0" * 32, headers=admin,
                        json={"admin": True}).status_code == 404


def test_list_users_pages_without_secrets(client: FlaskClient, auth) -> None:
    auth.user("root", admin=True)
    for name in ("carol", "bob", "alice"):
        users.create_user(get_db(), name, f"password-{name}")
    admin = auth.headers("root")
    first = client.get("/api/v1/auth/users?page=1&per_page=2", headers=admin).json
    second = client.get("/api/v1/auth/users?page=2&per_page=2", headers=admin).json
    assert first["total"] == 4 and first["per_page"] == 2 and second["page"] == 2
    names = [u["name"] for u in first["items"] + second["items"]]
    assert names == ["alice", "bob", "carol", "root"]
    for item in first["items"] + second["items"]:
        assert not {"password_hash", "token_version", "revoked_tokens", "_id"} & set(item)
    assert client.get("/api/v1/auth/users?per_page=1000", headers=admin).status_code == 400
    assert client.get("/api/v1/auth/users", headers=auth.headers("bob")).status_code == 403
