"""MongoDB stopped mid-run: 503s without driver text, /readyz red, nothing half-written after."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fault_helpers import bearer
from wf_helpers import toy_workflow

from api import create_app
from config import Config, get_config
from storage import jobs
from storage.db import get_db
from storage.embedded import EmbeddedMongo
from storage.janitor import sweep
from workflows.local.engine import LocalEngine

TEXT = "Plain words written by a person for the detector to read, twice over."
LEAKS = ("127.0.0.1", "localhost", "http:", "pymongo", "Errno", "refused", "Topology",
         "timeout")


@pytest.fixture
def own_mongo(detector_env: Config, tmp_path, monkeypatch) -> Iterator[EmbeddedMongo]:
    """A MongoDB of this test alone (it is stopped and started again)."""
    import storage.db

    # the client of this new URI gives up on an absent server after 1 s, not 5 (test time)
    monkeypatch.setattr(storage.db, "SERVER_SELECTION_TIMEOUT_MS", 1000)
    # no model registry answers either (quick to find: one try, 1 s), so /readyz is red for
    # both and neither reason may carry the client's text
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:9")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "1")
    server = EmbeddedMongo(tmp_path / "own-mongo")
    monkeypatch.setenv("MONGO_URI", server.start())
    yield server
    server.stop()


def _leak_free(body: bytes, server: EmbeddedMongo) -> None:
    text = body.decode()
    for word in (*LEAKS, str(server.port)):
        assert word not in text, f"{word!r} in {text}"


def test_mongodb_down_mid_run(own_mongo, tmp_path, monkeypatch):
    cfg = get_config()
    engine = LocalEngine(cfg, workflow=toy_workflow(retries=0), workers=1)
    try:
        app = create_app({"TESTING": True, "ENGINE": engine})
        client = app.test_client()
        alice = bearer(client, "alice")
        url = "/api/v1/detections?mode=sync"
        acked = client.post(url, json={"text": TEXT}, headers=alice)
        assert acked.status_code == 200 and len(acked.json["results"]) == 1
        assert client.get("/readyz").json["checks"]["mongodb"] is True

        own_mongo.stop()  # MongoDB goes away; the token's user is still cached by the api
        down = client.post(url, json={"text": TEXT + " Again."}, headers=alice)
        assert down.status_code == 503 and down.headers["Retry-After"]
        assert down.json["error"]["code"] == "unavailable" and set(down.json) == {"error"}
        _leak_free(down.data, own_mongo)
        ready = client.get("/readyz")
        assert ready.status_code == 503 and ready.json["checks"]["mongodb"] is False
        _leak_free(ready.data, own_mongo)

        own_mongo.start()  # back; then it dies in the middle of an upload (after the media)
        real_insert = jobs.insert_job

        def dies_first(db, doc):
            own_mongo.stop()
            return real_insert(db, doc)

        monkeypatch.setattr(jobs, "insert_job", dies_first)
        cut = client.post(url, json={"text": TEXT + " Cut short."}, headers=alice)
        assert cut.status_code == 503
        _leak_free(cut.data, own_mongo)
        monkeypatch.setattr(jobs, "insert_job", real_insert)

        own_mongo.start()  # back for good: `detector serve` sweeps on start
        assert sweep(get_db(), cfg.media_root, grace_s=0) == {"media": 1, "files": 1}
        db = get_db()
        assert db.jobs.count_documents({}) == 1 and db.media.count_documents({}) == 1
        blobs = [p for p in cfg.media_root.rglob("*") if p.is_file()]
        assert [f"{p.parent.name}/{p.name}" for p in blobs] == [db.media.find_one()["path"]]
        assert not any((cfg.var_dir / "tmp").iterdir())  # no upload temp file
        # the acknowledged result is still there, as it was answered
        job = client.get(f"/api/v1/jobs/{acked.json['job_id']}", headers=alice)
        assert job.status_code == 200
        stored = {r["media_id"]: r["score"] for r in job.json["results"]}
        assert stored == {r["media_id"]: r["score"] for r in acked.json["results"]}
        assert json.loads(client.get("/readyz").data)["checks"]["mongodb"] is True
    finally:
        engine.shutdown()


def test_a_job_running_when_mongodb_stops_ends_once_it_is_back(own_mongo):
    """The job's end cannot be stored while MongoDB is away: the engine keeps trying, so the
    job is not left `running` for ever."""
    import hashlib
    import time

    from storage.jobs import create_job, get_job
    from storage.media import insert_media
    from storage.node_batch import job_status
    from storage.results import results_for_job

    cfg = get_config()
    text = "slow: preprocess takes a second"
    path = cfg.media_root / "uploads" / "slow.txt"
    path.parent.mkdir(parents=True)
    path.write_text(text)
    media_id = insert_media(get_db(), {
        "owner": "u1", "sha256": hashlib.sha256(text.encode()).hexdigest(), "modality": "text",
        "filename": "slow.txt", "size": len(text), "path": "uploads/slow.txt"})
    job_id = create_job(get_db(), "u1", [media_id], "local", "async")["job_id"]
    engine = LocalEngine(cfg, workflow=toy_workflow(retries=0), workers=1)
    try:
        engine.warm_up()
        engine.submit(job_id)
        deadline = time.monotonic() + 10
        while get_job(get_db(), job_id)["nodes"].get(
                "detect-one(0)/preprocess", {}).get("status") != "running":
            assert time.monotonic() < deadline
            time.sleep(0.02)
        own_mongo.stop()  # while preprocess runs: persist cannot write, nor can the job's end
        time.sleep(8)  # longer than a worker's 5 s server selection: the run ends meanwhile
        own_mongo.start()
        deadline = time.monotonic() + 30
        while job_status(get_db(), job_id) == "running":
            assert time.monotonic() < deadline, "the job stayed running"
            time.sleep(0.1)
        job = get_job(get_db(), job_id)
        # persist could not reach MongoDB: the job failed at that step, and the node states of
        # the outage were kept and written once it was back (none left `running`)
        assert job["status"] == "failed" and "detect-one(0)/persist" in job["error"]
        nodes = job["nodes"]
        assert nodes["detect-one(0)/preprocess"]["status"] == "succeeded"
        assert nodes["detect-one(0)/persist"]["status"] == "failed"
        assert nodes["onExit/cleanup-scratch"]["status"] == "succeeded"
        assert results_for_job(get_db(), job_id) == []
    finally:
        engine.shutdown()
