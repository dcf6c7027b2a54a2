"""The engine's process killed while jobs run, then a new one started: orphans are recovered."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from wf_helpers import toy_workflow

from cli.stack import recover_jobs
from config import Config
from storage.db import get_db
from storage.jobs import get_job
from storage.media import insert_media
from storage.results import results_for_job
from workflows.local.engine import LocalEngine

ROOT = Path(__file__).resolve().parents[2]

# The "api": creates jobs as the API would, runs one on its local engine, then is killed.
_API = """
import json, sys, time
from config import get_config
from storage.db import get_db
from storage.jobs import create_job, this_process, update_job
from workflows.local.engine import LocalEngine
from wf_helpers import toy_workflow

media = json.loads(sys.argv[1])
db = get_db()
jobs = {
    "queued": create_job(db, "u1", [media["queued"]], "local", "async")["job_id"],
    "sync": create_job(db, "u1", [media["sync"]], "inference", "sync", status="running")["job_id"],
    "spent": create_job(db, "u1", [media["spent"]], "local", "async")["job_id"],
    "running": create_job(db, "u1", [media["running"]], "local", "async")["job_id"],
}
update_job(db, jobs["spent"], status="running", recoveries=1,
           engine_ref={"engine": "local", **this_process()})
engine = LocalEngine(get_config(), workflow=toy_workflow(retries=0), workers=1)
engine.submit(jobs["running"])
print(json.dumps(jobs), flush=True)
time.sleep(120)
"""


def _media(cfg: Config, text: str) -> str:
    name = f"{time.monotonic_ns()}.txt"
    path = cfg.media_root / "uploads" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return insert_media(get_db(), {
        "owner": "u1", "sha256": hashlib.sha256(text.encode()).hexdigest(), "modality": "text",
        "filename": name, "size": len(text), "path": f"uploads/{name}"})


def _wait_for(predicate, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def _node(job_id: str, node: str) -> dict:
    return get_job(get_db(), job_id)["nodes"].get(node, {})


def test_jobs_of_a_killed_engine_are_requeued_or_failed_on_restart(detector_env):
    media = {"queued": _media(detector_env, "queued, never submitted"),
             "sync": _media(detector_env, "scored by the service when the api died"),
             "spent": _media(detector_env, "requeued once already"),
             "running": _media(detector_env, "hang-once: killed mid-step")}
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(Path(__file__).parent)])}
    api = subprocess.Popen([sys.executable, "-c", _API, json.dumps(media)], cwd=ROOT, env=env,
                           stdout=subprocess.PIPE, text=True, start_new_session=True)
    try:
        jobs = json.loads(api.stdout.readline())
        # the worker is in the middle of preprocess (it sleeps a minute) when the api dies
        marker = detector_env.scratch_root / jobs["running"] / f"{media['running']}.tried"
        _wait_for(marker.exists)
        assert _node(jobs["running"], "detect-one(0)/preprocess").get("status") == "running"
    finally:
        os.killpg(api.pid, signal.SIGKILL)  # the api and its worker processes, at once
        api.wait(10)
        api.stdout.close()
    stuck = {k: get_job(get_db(), j)["status"] for k, j in jobs.items()}
    assert stuck == {"queued": "queued", "sync": "running", "spent": "running",
                     "running": "running"}

    engine = LocalEngine(detector_env, workflow=toy_workflow(retries=0), workers=1)
    try:
        done = recover_jobs(engine)  # what `detector serve` does on start
        assert sorted(done["requeued"]) == sorted([jobs["queued"], jobs["sync"],
                                                   jobs["running"]])
        assert done["failed"] == [jobs["spent"]]
        for key in ("queued", "sync", "running"):
            assert engine.wait(jobs[key], timeout=60) == "succeeded", key
            job = get_job(get_db(), jobs[key])
            assert job["recoveries"] == 1 and job["engine"] == "local"
            assert [r["media_id"] for r in results_for_job(get_db(), jobs[key])] == [
                media[key]]
        spent = get_job(get_db(), jobs["spent"])
        assert spent["status"] == "failed"
        assert "engine process stopped before the job finished" in spent["error"]
        assert results_for_job(get_db(), jobs["spent"]) == []
        assert recover_jobs(engine) == {"requeued": [], "failed": []}  # nothing left over
    finally:
        engine.shutdown()


def test_jobs_of_a_live_process_are_left_alone(detector_env):
    """A job created by this (live) process and not submitted yet is not an orphan."""
    from storage.jobs import create_job

    job_id = create_job(get_db(), "u1", [_media(detector_env, "mine")], "local",
                        "async")["job_id"]
    engine = LocalEngine(detector_env, workflow=toy_workflow(retries=0), workers=1)
    try:
        assert engine.recover() == {"requeued": [], "failed": []}
        engine.refresh(job_id)
        assert get_job(get_db(), job_id)["status"] == "queued"
    finally:
        engine.shutdown()
