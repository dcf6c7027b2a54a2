"""The Argo engine against a fake Argo Server that checks every request against Argo's swagger."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import requests
from fake_argo import FakeArgoServer, SwaggerViolation
from hera.exceptions import Forbidden

from config import Config, get_config
from storage.db import get_db
from storage.jobs import create_job, get_job
from storage.media import insert_media
from workflows import argo_schema
from workflows.argo_engine import ArgoEngine, job_status
from workflows.engine import Engine, get_engine, shutdown_engines
from workflows.local.engine import LocalEngine

HOST = "https://argo.test"


@pytest.fixture(scope="module")
def swagger() -> dict:
    return argo_schema.load("swagger")


@pytest.fixture
def argo_cfg(detector_env: Config, monkeypatch: pytest.MonkeyPatch) -> Config:
    monkeypatch.setenv("ARGO_SERVER", HOST)
    monkeypatch.setenv("ARGO_TOKEN", "s3cret")
    monkeypatch.setenv("ARGO_NAMESPACE", "detector")
    return get_config()


@pytest.fixture
def server(swagger: dict) -> FakeArgoServer:
    return FakeArgoServer(swagger, token="s3cret", strict=True)


@pytest.fixture
def engine(argo_cfg: Config, server: FakeArgoServer) -> Iterator[ArgoEngine]:
    session = requests.Session()
    session.mount(HOST, server)
    engine = ArgoEngine(argo_cfg, session=session, poll_interval=0.01, champion=lambda m: "1")
    yield engine
    engine.shutdown()


def _job() -> tuple[str, list[str]]:
    db = get_db()
    media_ids = [
        insert_media(db, {"owner": "u1", "sha256": "ab" * 32, "modality": m, "filename": f,
                          "size": 10, "path": f"ab/{f}"})
        for m, f in (("image", "face.png"), ("text", "essay.txt"))
    ]
    return create_job(db, "u1", media_ids, engine="argo", mode="async")["job_id"], media_ids


def test_submit_creates_the_workflow_and_records_name_and_uid(engine, server):
    job_id, media_ids = _job()
    engine.submit(job_id)

    (req,) = server.requests  # validated against swagger by the fake
    assert (req["method"], req["path"]) == ("POST", "/api/v1/workflows/detector")
    assert req["headers"]["Authorization"] == "Bearer s3cret"
    wf = req["body"]["workflow"]
    assert wf["metadata"]["generateName"] == "detect-"
    assert wf["metadata"]["labels"]["detector/job-id"] == job_id
    args = {p["name"]: p["value"] for p in wf["spec"]["arguments"]["parameters"]}
    assert args["job_id"] == job_id
    assert json.loads(args["media"]) == [
        {"media_id": media_ids[0], "modality": "image", "media_path": "ab/face.png"},
        {"media_id": media_ids[1], "modality": "text", "media_path": "ab/essay.txt"},
    ]
    assert set(wf["spec"]) == {"workflowTemplateRef", "arguments"}  # no inline spec (Strict)
    assert wf["spec"]["workflowTemplateRef"] == {"name": "detect"}

    job = get_job(get_db(), job_id)
    (name,) = [n for (_, n) in server.workflows]
    assert job["engine_ref"]["name"] == name and name.startswith("detect-")
    assert job["engine_ref"]["uid"] == server.workflows[("detector", name)]["metadata"]["uid"]
    assert job["engine_ref"]["namespace"] == "detector"
    assert job["status"] == "queued"


@pytest.mark.parametrize(
    "phase,status",
    [("Pending", "running"), ("Running", "running"), ("Succeeded", "succeeded"),
     ("Failed", "failed"), ("Error", "failed"), (None, None), ("", None)],
)
def test_phase_mapping(phase, status):
    assert job_status(phase) == status


def _node(wf: str, item: int, step: str, phase: str, attempts: int, message: str = "") -> dict:
    name = f'{wf}.detect-one({item}:{{"media_id":"m{item}","media_path":"ab/x.png"}}).{step}'
    return {
        f"{wf}-{item}-{step}": {
            "id": f"{wf}-{item}-{step}", "name": name, "displayName": step, "type": "Retry",
            "phase": phase, "templateName": step, "message": message,
            "startedAt": "2026-11-27T10:00:00Z", "finishedAt": "2026-11-27T10:00:05Z",
            "children": [f"{wf}-{item}-{step}-{i}" for i in range(attempts)],
        }
    }


def test_refresh_follows_the_phases_and_records_nodes(engine, server):
    job_id, _ = _job()
    engine.submit(job_id)
    name = get_job(get_db(), job_id)["engine_ref"]["name"]

    server.statuses[name] = [{}]
    engine.refresh(job_id)
    assert get_job(get_db(), job_id)["status"] == "queued"

    server.statuses[name] = [{"phase": "Running", "startedAt": "2026-11-27T10:00:00Z",
                              "nodes": _node(name, 0, "preprocess", "Succeeded", 2)}]
    engine.refresh(job_id)
    job = get_job(get_db(), job_id)
    assert job["status"] == "running"
    node = job["nodes"]["detect-one(0)/preprocess"]
    assert node["status"] == "succeeded" and node["attempts"] == 2

    server.statuses[name] = [{
        "phase": "Failed", "message": "child 'detect-one(0)' failed",
        "finishedAt": "2026-11-27T10:01:00Z",
        "nodes": _node(name, 0, "infer", "Failed", 3, "Error (exit code 1): boom"),
    }]
    engine.refresh(job_id)
    job = get_job(get_db(), job_id)
    assert job["status"] == "failed"
    assert job["error"] == "child 'detect-one(0)' failed"
    assert job["nodes"]["detect-one(0)/infer"]["error"] == "Error (exit code 1): boom"
    assert all(r["template"] in {"/api/v1/workflows/{namespace}",
                                 "/api/v1/workflows/{namespace}/{name}"} for r in server.requests)


def test_wait_polls_to_the_end_and_honours_its_deadline(engine, server):
    job_id, _ = _job()
    engine.submit(job_id)
    name = get_job(get_db(), job_id)["engine_ref"]["name"]
    server.statuses[name] = [{"phase": "Pending"}, {"phase": "Running"},
                             {"phase": "Succeeded", "finishedAt": "2026-11-27T10:01:00Z"}]
    assert engine.wait(job_id, timeout=10) == "succeeded"
    gets = [r for r in server.requests if r["method"] == "GET"]
    assert len(gets) == 3

    job_id, _ = _job()
    engine.submit(job_id)
    name = get_job(get_db(), job_id)["engine_ref"]["name"]
    server.statuses[name] = [{"phase": "Running"}]
    assert engine.wait(job_id, timeout=0.1) == "running"


def test_submit_refused_marks_the_job_failed(engine, server):
    job_id, _ = _job()
    server.fail_next = (403, "workflows.argoproj.io is forbidden")
    with pytest.raises(Forbidden):
        engine.submit(job_id)
    job = get_job(get_db(), job_id)
    assert job["status"] == "failed" and "forbidden" in job["error"]


def test_a_deleted_workflow_fails_the_job(engine, server):
    job_id, _ = _job()
    engine.submit(job_id)
    server.workflows.clear()
    engine.refresh(job_id)
    job = get_job(get_db(), job_id)
    assert job["status"] == "failed" and "no longer exists" in job["error"]


def test_the_fake_rejects_what_argo_would(server, swagger):
    with pytest.raises(SwaggerViolation):
        server.validate("#/definitions/io.argoproj.workflow.v1alpha1.WorkflowCreateRequest",
                        {"workflow": {"metadata": {}, "spec": {"parallelism": "many"}}})
    session = requests.Session()
    session.mount(HOST, server)
    with pytest.raises(SwaggerViolation):
        session.post(f"{HOST}/api/v1/workflowz/detector", json={})


def test_the_strict_fake_refuses_an_inline_spec(engine, server):
    """Like a controller with templateReferencing: Strict: a full Workflow (its own templates
    and pod settings) is refused, with or without a template reference beside it."""
    session = requests.Session()
    session.mount(HOST, server)
    inline = engine.workflow.build().model_dump(by_alias=True, exclude_none=True, mode="json")
    headers = {"Authorization": "Bearer s3cret"}
    reply = session.post(f"{HOST}/api/v1/workflows/detector", json={"workflow": inline},
                         headers=headers)
    assert reply.status_code == 400 and "workflowTemplateRef" in reply.json()["message"]
    inline["spec"]["workflowTemplateRef"] = {"name": "detect"}
    reply = session.post(f"{HOST}/api/v1/workflows/detector", json={"workflow": inline},
                         headers=headers)
    assert reply.status_code == 400 and "templates" in reply.json()["message"]
    assert not server.workflows


def test_the_token_file_is_read_on_each_request_and_rotates(argo_cfg, swagger, tmp_path,
                                                             monkeypatch):
    """ARGO_TOKEN_FILE wins over ARGO_TOKEN; a rotated file (the kubelet renews a projected
    token in place) is picked up without restarting the engine."""
    token_file = tmp_path / "token"
    token_file.write_text("first-token\n")
    monkeypatch.setenv("ARGO_TOKEN_FILE", str(token_file))
    server = FakeArgoServer(swagger, token="first-token", strict=True)
    session = requests.Session()
    session.mount(HOST, server)
    engine = ArgoEngine(get_config(), session=session, poll_interval=0.01, champion=lambda m: "1")
    try:
        job_id, _ = _job()
        engine.submit(job_id)
        token_file.write_text("second-token-longer\n")
        server.token = "second-token-longer"
        engine.refresh(job_id)
        engine.logs(job_id)
        assert [r["headers"]["Authorization"] for r in server.requests] == [
            "Bearer first-token", "Bearer second-token-longer", "Bearer second-token-longer"]
    finally:
        engine.shutdown()


def test_get_engine_chooses_by_config(argo_cfg, monkeypatch):
    try:
        engine = get_engine(argo_cfg)
        assert engine.name == "argo" and get_engine(argo_cfg) is engine
        monkeypatch.delenv("ARGO_SERVER")
        local = get_engine(get_config())
        assert local.name == "local" and local is not engine
        # what the API's `api.context.engine()` returns: both satisfy the Engine protocol
        assert isinstance(engine, ArgoEngine) and isinstance(local, LocalEngine)
        assert isinstance(engine, Engine) and isinstance(local, Engine)
    finally:
        shutdown_engines()


def test_the_app_holds_the_configured_engine(argo_cfg):
    """`create_app` builds the engine from the configuration it read once; the API's accessor
    hands it out as an Engine."""
    from api import create_app
    from api.context import engine as app_engine

    try:
        app = create_app({"TESTING": True})
        with app.app_context():
            held = app_engine()
        assert held is get_engine(argo_cfg) and isinstance(held, Engine)
    finally:
        shutdown_engines()


def test_engine_protocol_rejects_an_incomplete_engine():
    class NoRetry:
        name = "partial"

        def submit(self, job_id: str) -> None:
            pass

        def refresh(self, job_id: str) -> None:
            pass

        def wait(self, job_id: str, timeout: float) -> str:
            return "queued"

        def stop(self, job_id: str) -> None:
            pass

    assert not isinstance(NoRetry(), Engine)
