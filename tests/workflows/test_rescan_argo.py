"""Rescans on Argo: the API and the CLI's runner submit the CronWorkflow's workflow now
(submit-from-resource) to a fake Argo Server that checks each request against Argo's swagger;
the job links to the Argo UI."""

from __future__ import annotations

import pytest
import requests
from fake_argo import FakeArgoServer

from api import create_app
from config import Config, Faults, get_config
from storage import users
from storage.db import get_db
from storage.jobs import get_job
from storage.rescan_select import Filters
from tests.api.conftest import FakeEngine
from workflows import argo_schema
from workflows.rescan import build_rescan_workflow, strict_manifests
from workflows.rescan_runner import start_rescan

HOST = "https://argo.test"


@pytest.fixture
def argo(detector_env: Config, monkeypatch: pytest.MonkeyPatch
         ) -> tuple[Config, FakeArgoServer, requests.Session]:
    monkeypatch.setenv("ARGO_SERVER", HOST)
    monkeypatch.setenv("ARGO_TOKEN", "s3cret")
    monkeypatch.setenv("ARGO_NAMESPACE", "detector")
    monkeypatch.setenv("ARGO_UI_URL", "https://argo-ui.test")
    server = FakeArgoServer(argo_schema.load("swagger"), token="s3cret", strict=True)
    built = build_rescan_workflow(faults=Faults(), namespace="detector")
    _, cron = strict_manifests(built.to_dict())
    server.crons[("detector", "rescan")] = cron  # as rendered: a template reference
    session = requests.Session()
    session.mount(HOST, server)
    return get_config(), server, session


def test_submit_from_the_cronworkflow_with_the_job_and_filters(argo):
    cfg, server, session = argo
    job_id = start_rescan(cfg, Filters(modality="image", media_ids=("m1",)), started_by="adm",
                          session=session)
    (req,) = server.requests  # validated against Argo's swagger by the fake
    assert req["template"] == "/api/v1/workflows/{namespace}/submit"
    assert (req["body"]["resourceKind"], req["body"]["resourceName"]) == ("cronwf", "rescan")
    params = dict(p.split("=", 1) for p in req["body"]["submitOptions"]["parameters"])
    assert params == {"job_id": job_id, "modality": "image", "since": "", "media_ids": '["m1"]'}
    ((ns, name), wf), = server.workflows.items()
    assert ns == "detector" and wf["metadata"]["labels"] == {"detector/job-id": job_id}
    given = {p["name"]: p["value"] for p in wf["spec"]["arguments"]["parameters"]}
    assert given["job_id"] == job_id and given["engine"] == "argo"
    job = get_job(get_db(), job_id)
    assert (job["mode"], job["engine"], job["status"], job["started_by"]) == (
        "rescan", "argo", "running", "adm")
    assert job["engine_ref"]["name"] == name


def test_the_api_starts_an_argo_rescan_and_links_the_ui(argo):
    cfg, server, session = argo
    app = create_app({"TESTING": True, "ENGINE": FakeEngine(), "ARGO_SESSION": session})
    client = app.test_client()
    users.create_user(get_db(), "root", "password-root", admin=True)
    token = client.post("/api/v1/auth/token", auth=("root", "password-root")).json
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    answer = client.post("/api/v1/rescans", json={"modality": "text"}, headers=headers)
    assert answer.status_code == 202, answer.json
    shown = client.get(answer.json["status_url"], headers=headers).json
    ((_, name),) = server.workflows
    assert shown["links"]["argo_ui"].startswith(f"https://argo-ui.test/workflows/detector/{name}")
    assert shown["engine"] == "argo" and shown["filters"]["modality"] == "text"


def test_a_refused_submit_fails_the_job(argo):
    cfg, server, session = argo
    server.crons.clear()  # no CronWorkflow `rescan` on the cluster: 404
    with pytest.raises(Exception):  # noqa: B017 - Hera's NotFound
        start_rescan(cfg, session=session)
    (job,) = list(get_db().jobs.find({"mode": "rescan"}))
    assert job["status"] == "failed" and job["error"].startswith("argo submit failed")
