"""POST /api/v1/jobs/<id>/stop and /retry: owner only (404 for others), 409 when the job's state
does not allow it; the job JSON's Argo UI link."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from api import create_app
from config import Config
from storage import jobs
from storage.db import get_db
from workflows.engine import RETRYABLE, STOPPABLE, STOPPED, check_state


class ActingEngine:
    """An engine with stop and retry doing what the real ones do to the job document."""

    name = "acting"

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def submit(self, job_id: str) -> None:
        pass

    def refresh(self, job_id: str) -> None:
        pass

    def wait(self, job_id: str, timeout: float) -> str:
        return jobs.get_job(get_db(), job_id)["status"]

    def stop(self, job_id: str) -> None:
        check_state(jobs.get_job(get_db(), job_id), job_id, STOPPABLE, "stop")
        self.calls.append(("stop", job_id))
        jobs.update_job(get_db(), job_id, status="failed", error=STOPPED)

    def retry(self, job_id: str) -> None:
        check_state(jobs.get_job(get_db(), job_id), job_id, RETRYABLE, "retry")
        self.calls.append(("retry", job_id))
        jobs.update_job(get_db(), job_id, status="running", error=None)


@pytest.fixture
def acting() -> ActingEngine:
    return ActingEngine()


@pytest.fixture
def client(detector_env: Config, acting: ActingEngine) -> FlaskClient:
    return create_app({"TESTING": True, "ENGINE": acting}).test_client()


def _job(owner_headers: dict, client: FlaskClient, status: str, **fields) -> str:
    me = client.get("/api/v1/auth/me", headers=owner_headers)
    assert me.status_code == 200, me.json
    owner = me.json["user_id"]
    job_id = jobs.create_job(get_db(), owner, ["m1"], engine="acting", mode="async")["job_id"]
    jobs.update_job(get_db(), job_id, status=status, **fields)
    return job_id


def test_stop_then_retry_by_the_owner(client, auth, acting):
    alice = auth.headers("alice")
    job_id = _job(alice, client, "running")
    response = client.post(f"/api/v1/jobs/{job_id}/stop", headers=alice)
    assert response.status_code == 200, response.json
    assert response.json["status"] == "failed" and response.json["error"] == STOPPED
    assert response.json["links"] == {"argo_ui": None}

    again = client.post(f"/api/v1/jobs/{job_id}/stop", headers=alice)
    assert again.status_code == 409 and again.json["error"]["code"] == "conflict"

    response = client.post(f"/api/v1/jobs/{job_id}/retry", headers=alice)
    assert response.status_code == 200 and response.json["status"] == "running"
    again = client.post(f"/api/v1/jobs/{job_id}/retry", headers=alice)
    assert again.status_code == 409
    assert acting.calls == [("stop", job_id), ("retry", job_id)]


@pytest.mark.parametrize("action", ["stop", "retry"])
def test_other_users_and_unknown_jobs_get_404(client, auth, acting, action):
    alice, bob = auth.headers("alice"), auth.headers("bob")
    job_id = _job(alice, client, "running" if action == "stop" else "failed")
    for url, headers in ((f"/api/v1/jobs/{job_id}/{action}", bob),
                         (f"/api/v1/jobs/no-such-job/{action}", alice)):
        response = client.post(url, headers=headers)
        assert response.status_code == 404 and response.json["error"]["code"] == "not_found"
    assert client.post(f"/api/v1/jobs/{job_id}/{action}").status_code == 401
    assert acting.calls == []
    assert jobs.get_job(get_db(), job_id)["status"] in {"running", "failed"}


@pytest.mark.parametrize("action,status", [
    ("stop", "succeeded"), ("stop", "failed"), ("retry", "queued"), ("retry", "running"),
    ("retry", "succeeded"),
])
def test_state_conflicts_get_409(client, auth, action, status):
    alice = auth.headers("alice")
    job_id = _job(alice, client, status)
    response = client.post(f"/api/v1/jobs/{job_id}/{action}", headers=alice)
    assert response.status_code == 409, response.json
    assert jobs.get_job(get_db(), job_id)["status"] == status


def test_an_engine_without_stop_or_retry_is_refused_at_start(detector_env):
    class Plain:
        name = "plain"

        def submit(self, job_id: str) -> None: ...
        def refresh(self, job_id: str) -> None: ...
        def wait(self, job_id: str, timeout: float) -> str: ...

    with pytest.raises(TypeError, match="not a workflow engine"):
        create_app({"TESTING": True, "ENGINE": Plain()})


def test_argo_ui_link_on_the_job(client, auth, acting, monkeypatch):
    monkeypatch.setenv("ARGO_UI_URL", "https://argo.example.com/")
    client = create_app({"TESTING": True, "ENGINE": acting}).test_client()  # read at build
    alice = auth.headers("alice")
    ref = {"engine": "argo", "namespace": "deepfake-detector", "name": "detect-x1y2z",
           "uid": "0b6c"}
    job_id = _job(alice, client, "running", engine_ref=ref)
    job = client.get(f"/api/v1/jobs/{job_id}", headers=alice).json
    assert job["links"]["argo_ui"] == (
        "https://argo.example.com/workflows/deepfake-detector/detect-x1y2z?uid=0b6c")
