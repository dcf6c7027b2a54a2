"""The hardened Argo engine against the swagger-checking fake: auth forms, path prefix, TLS and
time-outs, labels, stop/retry, the archive fallback, logs and the UI link."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import requests
from fake_argo import FakeArgoServer

from config import Config, get_config
from storage.db import get_db
from storage.jobs import create_job, get_job
from storage.media import insert_media
from storage.results import upsert_result
from workflows import argo_schema
from workflows.argo_engine import ArgoEngine, argo_ui_link
from workflows.engine import STOPPED, JobStateError

HOST = "https://argo.test"


@pytest.fixture(scope="module")
def swagger() -> dict:
    return argo_schema.load("swagger")


Make = Callable[..., tuple[ArgoEngine, FakeArgoServer]]


@pytest.fixture
def make(detector_env: Config, swagger: dict, monkeypatch: pytest.MonkeyPatch) -> Iterator[Make]:
    """`make(server=..., token=..., prefix=..., **env)` -> (engine, fake server)."""
    engines: list[ArgoEngine] = []

    def _make(server: str = HOST, token: str = "s3cret", prefix: str = "",
              **env: str) -> tuple[ArgoEngine, FakeArgoServer]:
        monkeypatch.setenv("ARGO_SERVER", server)
        monkeypatch.setenv("ARGO_TOKEN", token)
        monkeypatch.setenv("ARGO_NAMESPACE", "detector")
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        fake = FakeArgoServer(swagger, token="s3cret", prefix=prefix, strict=True)
        session = requests.Session()
        session.mount(HOST, fake)
        engine = ArgoEngine(get_config(), session=session, poll_interval=0.01,
                            champion={"image": "3", "text": "7"}.get)
        engines.append(engine)
        return engine, fake

    yield _make
    for engine in engines:
        engine.shutdown()


def _job(*modalities: str) -> str:
    db = get_db()
    media_ids = [
        insert_media(db, {"owner": "u1", "sha256": "ab" * 32, "modality": m,
                          "filename": f"f{i}", "size": 10, "path": f"ab/f{i}"})
        for i, m in enumerate(modalities or ("image", "text"))
    ]
    return create_job(db, "u1", media_ids, engine="argo", mode="async")["job_id"]


def _submitted(engine: ArgoEngine, *modalities: str) -> tuple[str, dict]:
    job_id = _job(*modalities)
    engine.submit(job_id)
    return job_id, get_job(get_db(), job_id)["engine_ref"]


@pytest.mark.parametrize("token", ["s3cret", "Bearer s3cret"])
@pytest.mark.parametrize("server,prefix", [
    (HOST, ""), (f"{HOST}/argo", "/argo"), (f"{HOST}/argo/", "/argo"),
])
def test_token_forms_and_path_prefix(make, token, server, prefix):
    engine, fake = make(server=server, token=token, prefix=prefix)
    job_id, ref = _submitted(engine)
    engine.refresh(job_id)
    assert [(r["method"], r["path"]) for r in fake.requests] == [
        ("POST", f"{prefix}/api/v1/workflows/detector"),
        ("GET", f"{prefix}/api/v1/workflows/detector/{ref['name']}"),
    ]
    assert {r["headers"]["Authorization"] for r in fake.requests} == {"Bearer s3cret"}


@pytest.mark.parametrize("env,verify,timeout", [
    ({}, True, 10.0),
    ({"ARGO_VERIFY_TLS": "false", "ARGO_TIMEOUT_S": "2.5"}, False, 2.5),
])
def test_tls_switch_and_timeout_on_every_call(make, env, verify, timeout):
    engine, fake = make(**env)
    job_id, _ = _submitted(engine)
    fake.statuses[get_job(get_db(), job_id)["engine_ref"]["name"]] = [{"phase": "Failed"}]
    engine.refresh(job_id)
    engine.retry(job_id)
    engine.stop(job_id)
    engine.logs(job_id)
    assert len(fake.requests) >= 5
    # verify=True may arrive as the CA bundle path (REQUESTS_CA_BUNDLE): truthy either way
    assert all(bool(r["verify"]) is verify and r["timeout"] == timeout for r in fake.requests)


def test_labels_name_job_modality_and_versions(make):
    engine, fake = make()
    job_id, _ = _submitted(engine, "image", "text")
    labels = fake.requests[0]["body"]["workflow"]["metadata"]["labels"]
    assert labels["detector/job-id"] == job_id
    assert labels["detector/modality"] == "mixed"
    assert labels["detector/model-image"] == "3" and labels["detector/model-text"] == "7"
    assert labels["detector/workflow"] == "detect"

    job_id, _ = _submitted(engine, "audio")  # no champion known: no version label
    labels = fake.requests[-1]["body"]["workflow"]["metadata"]["labels"]
    assert labels["detector/modality"] == "audio" and "detector/model-audio" not in labels
    spec = fake.requests[-1]["body"]["workflow"]["spec"]  # archiveLogs, podGC: the template's
    assert set(spec) == {"workflowTemplateRef", "arguments"}


def test_stop_then_retry(make):
    engine, fake = make()
    job_id, ref = _submitted(engine)
    fake.statuses[ref["name"]] = [{"phase": "Running"}]
    engine.stop(job_id)
    stop = fake.requests[-1]
    assert (stop["method"], stop["template"]) == (
        "PUT", "/api/v1/workflows/{namespace}/{name}/stop")
    assert stop["body"] == {"name": ref["name"], "namespace": "detector", "message": STOPPED}
    job = get_job(get_db(), job_id)
    assert job["status"] == "failed" and job["error"] == STOPPED
    with pytest.raises(JobStateError):
        engine.stop(job_id)

    engine.retry(job_id)
    retry = fake.requests[-1]
    assert retry["template"] == "/api/v1/workflows/{namespace}/{name}/retry"
    assert retry["body"] == {"name": ref["name"], "namespace": "detector"}
    job = get_job(get_db(), job_id)
    assert job["status"] == "running" and job["error"] is None
    with pytest.raises(JobStateError):
        engine.retry(job_id)


def test_status_from_the_archive_after_garbage_collection(make):
    engine, fake = make()
    job_id, ref = _submitted(engine)
    fake.archive_workflow("detector", ref["name"], {
        "phase": "Succeeded", "finishedAt": "2026-11-27T10:01:00Z"})
    engine.refresh(job_id)
    assert get_job(get_db(), job_id)["status"] == "succeeded"
    archived = fake.requests[-1]
    assert archived["path"] == f"/api/v1/archived-workflows/{ref['uid']}"
    assert archived["query"] == {"namespace": "detector", "name": ref["name"]}


def test_retry_of_an_archived_workflow(make):
    engine, fake = make()
    job_id, ref = _submitted(engine)
    fake.archive_workflow("detector", ref["name"], {"phase": "Failed", "message": "boom"})
    engine.refresh(job_id)
    assert get_job(get_db(), job_id)["error"] == "boom"
    engine.retry(job_id)
    assert fake.requests[-1]["template"] == "/api/v1/archived-workflows/{uid}/retry"
    job = get_job(get_db(), job_id)
    assert job["status"] == "running" and job["engine_ref"]["uid"] != ref["uid"]
    assert job["engine_ref"]["name"] == ref["name"]


def test_gone_without_archive_uses_the_results(make):
    engine, fake = make()
    job_id, _ = _submitted(engine)
    fake.workflows.clear()
    for media_id in get_job(get_db(), job_id)["media_ids"]:
        upsert_result(get_db(), {"job_id": job_id, "media_id": media_id, "score": 0.1})
    engine.refresh(job_id)
    assert get_job(get_db(), job_id)["status"] == "succeeded"


def test_logs_read_the_streamed_entries(make):
    engine, fake = make()
    job_id, ref = _submitted(engine)
    fake.logs[ref["name"]] = [{"podName": "p1", "content": "loading"},
                              {"podName": "p2", "content": "scored"}]
    assert engine.logs(job_id, tail_lines=5) == [
        {"pod_name": "p1", "content": "loading"}, {"pod_name": "p2", "content": "scored"}]
    assert fake.requests[-1]["query"] == {"logOptions.container": "main",
                                         "logOptions.tailLines": "5"}


def test_a_job_never_submitted_is_stopped_and_resubmitted(make):
    engine, fake = make()
    job_id = _job("image")
    engine.stop(job_id)  # queued, nothing in Argo yet
    assert fake.requests == [] and get_job(get_db(), job_id)["error"] == STOPPED
    engine.retry(job_id)
    assert fake.requests[-1]["method"] == "POST"
    assert get_job(get_db(), job_id)["engine_ref"]["engine"] == "argo"


def test_argo_ui_link():
    ref = {"engine": "argo", "namespace": "ns", "name": "detect-ab12c", "uid": "u-1"}
    assert argo_ui_link({"engine_ref": ref}, None) is None
    base = "https://host/argo/"
    assert argo_ui_link({"engine_ref": ref}, base) == "https://host/argo/workflows/ns/detect-ab12c?uid=u-1"
    assert argo_ui_link({"engine_ref": {"engine": "local", "pid": 1}}, base) is None

