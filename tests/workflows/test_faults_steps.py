"""Faults inside a job: a step that raises, a worker killed mid-step, a step past its deadline."""

from __future__ import annotations

import copy
import hashlib
import time
from collections.abc import Iterator

import pytest
from wf_helpers import toy_workflow

from config import Config, Faults
from storage.db import get_db
from storage.jobs import create_job, get_job
from storage.media import insert_media
from storage.results import results_for_job
from workflows.local.engine import LocalEngine
from workflows.render import render

CAP = 1  # MAX_STEP_RETRIES here: 2 attempts
DEADLINE_S = 2  # STEP_DEADLINE_S here
PRE = "detect-one(0)/preprocess"


@pytest.fixture(scope="module")
def engine(module_env: Config) -> Iterator[LocalEngine]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MAX_STEP_RETRIES", str(CAP))
        mp.setenv("STEP_DEADLINE_S", str(DEADLINE_S))
        from config import get_config

        cfg = get_config()
        engine = LocalEngine(cfg, workflow=toy_workflow(retries=5, faults=cfg.faults), workers=1)
    engine.warm_up()
    yield engine
    engine.shutdown()


def _job(cfg: Config, text: str) -> str:
    name = f"{time.monotonic_ns()}.txt"
    path = cfg.media_root / "uploads" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    media_id = insert_media(get_db(), {
        "owner": "u1", "sha256": hashlib.sha256(text.encode()).hexdigest(), "modality": "text",
        "filename": name, "size": len(text), "path": f"uploads/{name}"})
    return create_job(get_db(), "u1", [media_id], engine="local", mode="async")["job_id"]


def _templates(manifest: dict) -> dict[str, dict]:
    return {t["name"]: t for t in manifest["spec"]["templates"] if "script" in t}


def test_the_workflow_carries_the_cap_and_the_deadline(engine):
    """retries=5 asked, MAX_STEP_RETRIES=1 allowed; STEP_DEADLINE_S on every step."""
    for template in _templates(engine.manifest).values():
        assert template["retryStrategy"]["limit"] == str(CAP)
        assert int(template["activeDeadlineSeconds"]) == DEADLINE_S


def test_rendered_manifests_have_a_retry_limit_and_a_deadline_on_every_step():
    """k8s/argo/: no step without a bounded retry limit and an activeDeadlineSeconds."""
    import yaml

    from workflows.local.walk import workflow_spec

    for name, text in render().items():
        doc = yaml.safe_load(text)
        if doc.get("kind") != "WorkflowTemplate":  # CronWorkflow rescan: a template reference
            continue
        for template in _templates({"spec": workflow_spec(doc)}).values():
            assert int(template["activeDeadlineSeconds"]) > 0, (name, template["name"])
            retry = template.get("retryStrategy")
            if retry is not None:
                assert 0 <= int(retry["limit"]) <= Faults.max_step_retries


def test_the_engine_caps_retries_whatever_the_manifest_says(engine, module_env):
    """A manifest asking for 5 retries still gets 1 + MAX_STEP_RETRIES attempts locally."""
    saved = engine.manifest
    greedy = copy.deepcopy(saved)
    _templates(greedy)["preprocess"]["retryStrategy"]["limit"] = "5"
    engine.manifest = greedy
    try:
        job_id = _job(module_env, "fail-always")
        engine.submit(job_id)
        assert engine.wait(job_id, timeout=60) == "failed"
    finally:
        engine.manifest = saved
    job = get_job(get_db(), job_id)
    assert job["nodes"][PRE]["attempts"] == CAP + 1
    assert PRE in job["error"] and "cannot decode" in job["error"]
    assert results_for_job(get_db(), job_id) == []  # no partial result
    assert not (module_env.scratch_root / job_id).exists()


def test_a_worker_killed_on_every_attempt_fails_the_job_with_the_step(engine, module_env):
    job_id = _job(module_env, "crash-always")
    engine.submit(job_id)
    assert engine.wait(job_id, timeout=60) == "failed"
    job = get_job(get_db(), job_id)
    node = job["nodes"][PRE]
    assert node["status"] == "failed" and node["attempts"] == CAP + 1
    assert "terminated abruptly" in node["error"] and PRE in job["error"]
    assert "detect-one(0)/infer" not in job["nodes"]
    assert results_for_job(get_db(), job_id) == []


def test_a_step_past_its_deadline_is_killed_and_fails_with_the_reason(engine, module_env):
    """The toy step sleeps 60 s; the deadline is 2 s: both attempts are killed in time."""
    job_id = _job(module_env, "hang")
    started = time.monotonic()
    engine.submit(job_id)
    assert engine.wait(job_id, timeout=30) == "failed"
    took = time.monotonic() - started
    job = get_job(get_db(), job_id)
    node = job["nodes"][PRE]
    assert node["attempts"] == CAP + 1
    assert "deadline exceeded" in node["error"] and f"={DEADLINE_S}" in node["error"]
    assert "deadline exceeded" in job["error"]
    assert results_for_job(get_db(), job_id) == []
    assert took < 30

    # the engine works on afterwards (a fresh pool)
    ok = _job(module_env, "fine text")
    engine.submit(ok)
    assert engine.wait(ok, timeout=60) == "succeeded"
