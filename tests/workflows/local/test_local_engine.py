"""The local engine runs the detect DAG in worker processes against the real embedded MongoDB."""

from __future__ import annotations

import hashlib
import socket
import time
from collections.abc import Iterator

import pytest
from wf_helpers import toy_workflow

from config import Config
from storage.db import get_db
from storage.jobs import create_job, get_job
from storage.media import insert_media
from storage.results import results_for_job
from workflows.engine import STOPPED, Engine, JobStateError
from workflows.local.engine import LocalEngine

STEPS = ("preprocess", "infer", "persist")


@pytest.fixture(scope="module")
def engine(module_env: Config) -> Iterator[LocalEngine]:
    engine = LocalEngine(module_env, workflow=toy_workflow(retries=2), workers=2)
    started = time.perf_counter()
    pids = engine.warm_up()
    took = time.perf_counter() - started
    print(f"\nlocal engine: {len(pids)} spawned workers warm in {took:.2f}s")
    yield engine
    engine.shutdown()


def _media(cfg: Config, name: str, text: str) -> str:
    path = cfg.media_root / "uploads" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return insert_media(
        get_db(),
        {
            "owner": "u1",
            "sha256": hashlib.sha256(text.encode()).hexdigest(),
            "modality": "text",
            "filename": name,
            "size": len(text),
            "path": f"uploads/{name}",
        },
    )


def _job(cfg: Config, *texts: str) -> str:
    media_ids = [_media(cfg, f"{i}-{time.monotonic_ns()}.txt", t) for i, t in enumerate(texts)]
    return create_job(get_db(), "u1", media_ids, engine="local", mode="async")["job_id"]


def test_engine_satisfies_the_protocol(engine):
    assert isinstance(engine, Engine)
    assert engine.name == "local"


def test_two_media_run_every_node(engine, module_env):
    job_id = _job(module_env, "first text to score", "second, longer text to score")
    started = time.perf_counter()
    engine.submit(job_id)  # returns at once; the job runs on a background thread
    assert engine.wait(job_id, timeout=60) == "succeeded"
    print(f"\ntoy job with 2 media: {time.perf_counter() - started:.2f}s")

    job = get_job(get_db(), job_id)
    assert job["error"] is None
    assert job["engine_ref"]["engine"] == "local"
    expected = {f"detect-one({i})/{s}" for i in (0, 1) for s in STEPS} | {"onExit/cleanup-scratch"}
    assert set(job["nodes"]) == expected
    for node in job["nodes"].values():
        assert node["status"] == "succeeded"
        assert node["attempts"] == 1
        assert node["started_at"] <= node["finished_at"]
    results = results_for_job(get_db(), job_id)
    assert [r["media_id"] for r in results] == job["media_ids"]
    assert all(r["model"] == {"name": "toy", "version": "1"} for r in results)
    assert results[0]["owner"] == "u1" and results[0]["filename"].endswith(".txt")
    assert not (module_env.scratch_root / job_id).exists()
    assert all((module_env.media_root / "uploads").iterdir())  # uploads stay


def test_transient_failure_is_retried(engine, module_env):
    job_id = _job(module_env, "fail-once then fine")
    engine.submit(job_id)
    assert engine.wait(job_id, timeout=60) == "succeeded"
    node = get_job(get_db(), job_id)["nodes"]["detect-one(0)/preprocess"]
    assert node["attempts"] == 2 and node["status"] == "succeeded"


def test_failing_step_is_retried_then_fails_the_job(engine, module_env):
    job_id = _job(module_env, "fail-always", "a good one")
    engine.submit(job_id)
    assert engine.wait(job_id, timeout=60) == "failed"
    job = get_job(get_db(), job_id)
    bad = job["nodes"]["detect-one(0)/preprocess"]
    assert bad["status"] == "failed"
    assert bad["attempts"] == 3  # the first try and STEP retries=2
    assert "RuntimeError: cannot decode" in bad["error"]
    assert "detect-one(0)/preprocess" in job["error"] and "cannot decode" in job["error"]
    assert "detect-one(0)/infer" not in job["nodes"]
    assert job["nodes"]["onExit/cleanup-scratch"]["status"] == "succeeded"
    assert not (module_env.scratch_root / job_id).exists()


def test_wait_times_out_with_the_current_status(engine, module_env):
    job_id = _job(module_env, "never submitted")
    assert engine.wait(job_id, timeout=0.2) == "queued"


def test_missing_media_fails_the_job_at_submit(engine, module_env):
    job_id = create_job(get_db(), "u1", ["no-such-media"], engine="local", mode="async")["job_id"]
    with pytest.raises(LookupError):
        engine.submit(job_id)
    job = get_job(get_db(), job_id)
    assert job["status"] == "failed" and "no-such-media" in job["error"]


def test_refresh_fails_a_job_whose_process_is_gone(engine, module_env):
    from storage.jobs import update_job

    job_id = _job(module_env, "orphan")
    ref = {"engine": "local", "host": socket.gethostname(), "pid": 2**22 + 12345}
    # already requeued once (MAX_JOB_RECOVERIES=1): failed now (test_faults_recovery: requeue)
    update_job(get_db(), job_id, status="running", engine_ref=ref, recoveries=1)
    engine.refresh(job_id)
    job = get_job(get_db(), job_id)
    assert job["status"] == "failed" and "stopped" in job["error"]


def test_a_dead_worker_is_replaced_and_the_step_retried(engine, module_env):
    job_id = _job(module_env, "crash-once, then fine")
    engine.submit(job_id)
    assert engine.wait(job_id, timeout=90) == "succeeded"
    node = get_job(get_db(), job_id)["nodes"]["detect-one(0)/preprocess"]
    assert node["attempts"] == 2 and node["status"] == "succeeded"


def _wait_for(predicate, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_stop_cancels_the_remaining_nodes_then_retry_runs_again(engine, module_env):
    job_id = _job(module_env, "slow one", "slow two", "slow three", "slow four")
    engine.submit(job_id)
    _wait_for(lambda: any(n.get("status") == "running"
                          for n in get_job(get_db(), job_id)["nodes"].values()))
    engine.stop(job_id)
    job = get_job(get_db(), job_id)
    assert job["status"] == "failed" and job["error"] == STOPPED  # at once
    with pytest.raises(JobStateError):
        engine.stop(job_id)
    _wait_for(lambda: "onExit/cleanup-scratch" in get_job(get_db(), job_id)["nodes"])
    _wait_for(lambda: job_id not in engine._threads)
    job = get_job(get_db(), job_id)
    assert job["status"] == "failed" and job["error"] == STOPPED
    persisted = [n for n in job["nodes"] if n.endswith("/persist")]
    assert len(persisted) < 4  # 2 workers, 1 s per preprocess: stopped before the end
    assert job["nodes"]["onExit/cleanup-scratch"]["status"] == "succeeded"

    engine.retry(job_id)
    assert engine.wait(job_id, timeout=60) == "succeeded"
    job = get_job(get_db(), job_id)
    assert job["error"] is None and len(results_for_job(get_db(), job_id)) == 4
    with pytest.raises(JobStateError):
        engine.retry(job_id)
