"""The audit trail: logins, failures, uploads and admin acts with the actor and its address."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from api import create_app
from config import Config
from storage import audit
from storage.db import get_db

TEXT = {"text": "Plain words written by a person for the detector to read, twice over."}


def _one(action: str) -> dict:
    found = audit.events(get_db(), action)
    assert len(found) == 1, (action, found)
    return found[0]


def test_logins_are_audited(client: FlaskClient, auth) -> None:
    alice = auth.user("alice")
    assert client.post("/api/v1/auth/token", auth=("alice", "password-alice"),
                       environ_base={"REMOTE_ADDR": "192.0.2.10"}).status_code == 200
    assert client.post("/api/v1/auth/token", auth=("alice", "wrong-one"),
                       environ_base={"REMOTE_ADDR": "192.0.2.11"}).status_code == 401
    ok, failed = _one("auth.login"), _one("auth.login_failed")
    assert ok["user_id"] == alice["user_id"] and ok["address"] == "192.0.2.10"
    assert failed["name"] == "alice" and failed["address"] == "192.0.2.11"
    assert failed["level"] == "warning" and failed["user_id"] is None
    assert "wrong-one" not in str(audit.events(get_db()))  # never the password


def test_uploads_and_admin_acts_are_audited(client: FlaskClient, auth) -> None:
    alice = auth.user("alice")
    root = auth.user("root", admin=True)
    made = client.post("/api/v1/detections?mode=async", json=TEXT, headers=auth.headers("alice"))
    upload = _one("detection.created")
    assert upload["user_id"] == alice["user_id"] and upload["address"] == "127.0.0.1"
    assert upload["job_id"] == made.json["job_id"] and len(upload["media_ids"]) == 1
    admin = auth.headers("root")
    created = client.post("/api/v1/auth/users", headers=admin,
                          json={"name": "carol", "password": "carol-password"}).json
    assert _one("user.created")["target"] == created["user_id"]
    client.patch(f"/api/v1/auth/users/{created['user_id']}", headers=admin,
                 json={"disabled": True})
    updated = _one("user.updated")
    assert updated["user_id"] == root["user_id"] and updated["disabled"] is True
    assert updated["target"] == created["user_id"]


def test_logout_password_change_and_throttle_are_audited(client: FlaskClient, auth,
                                                         monkeypatch: pytest.MonkeyPatch,
                                                         engine) -> None:
    alice = auth.user("alice")
    headers = auth.headers("alice")
    client.post("/api/v1/auth/password", headers=headers, json={
        "current_password": "nope-nope", "new_password": "alice-new-password"})
    assert _one("auth.password_change_failed")["name"] == "alice"
    changed = client.post("/api/v1/auth/password", headers=headers, json={
        "current_password": "password-alice", "new_password": "alice-new-password"})
    assert _one("auth.password_changed")["user_id"] == alice["user_id"]
    client.post("/api/v1/auth/logout",
                headers={"Authorization": f"Bearer {changed.json['access_token']}"})
    assert _one("auth.logout")["user_id"] == alice["user_id"]
    monkeypatch.setenv("LOGIN_FAILURES_PER_NAME", "1/minute")
    strict = create_app({"TESTING": True, "ENGINE": engine}).test_client()
    for _ in range(2):
        strict.post("/api/v1/auth/token", auth=("alice", "wrong-again"))
    assert _one("auth.login_throttled")["endpoint"] == "auth.token"


@pytest.mark.parametrize(("proxies", "expected"), [("0", "127.0.0.1"), ("1", "203.0.113.9")])
def test_address_behind_trusted_proxies(detector_env: Config, engine, auth,
                                        monkeypatch: pytest.MonkeyPatch, proxies: str,
                                        expected: str) -> None:
    """X-Forwarded-For counts only with TRUSTED_PROXIES set; otherwise a client could pick
    the address its limits and audit events are kept under."""
    monkeypatch.setenv("TRUSTED_PROXIES", proxies)
    client = create_app({"TESTING": True, "ENGINE": engine}).test_client()
    auth.user("alice")
    client.post("/api/v1/auth/token", auth=("alice", "password-alice"),
                headers={"X-Forwarded-For": "203.0.113.9"})
    assert _one("auth.login")["address"] == expected
