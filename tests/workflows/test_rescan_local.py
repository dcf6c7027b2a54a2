"""Rescans through the local engine: the real rescan definition, selection, batches, fan-out,
persist and summary on the embedded MongoDB and a real MLflow registry (its own, with a
champion per modality); light scoring steps (`rescan_toy_steps`) keep 2,000 media quick."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import rescan_toy_steps
from mlflow import MlflowClient

from config import Config, Faults, get_config
from steps.persist import persist
from steps.scratch import cleanup_scratch
from storage.db import get_db
from storage.jobs import get_job
from storage.media import MODALITIES
from storage.results import result_history
from workflows.detect import DetectSteps
from workflows.local.engine import LocalEngine
from workflows.rescan import build_rescan_workflow, run_rescan_now

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _build():
    steps = DetectSteps(rescan_toy_steps.preprocess, rescan_toy_steps.infer, persist,
                        cleanup_scratch)
    return build_rescan_workflow(faults=Faults(), steps=steps, retries=0, backoff="0s")


@pytest.fixture(scope="module")
def module_registry(module_env: Config, tmp_path_factory: pytest.TempPathFactory
                    ) -> Iterator[tuple[Config, LocalEngine]]:
    """An MLflow registry of this module's own (versions 1 and 2 of each detector, champion 2)
    and one local engine with the rescan workflow whose warm workers every test shares."""
    root = tmp_path_factory.mktemp("rescan-mlflow")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLFLOW_TRACKING_URI", uri)
        mp.setenv("MLFLOW_ARTIFACT_ROOT", str(root / "artifacts"))
        client = MlflowClient(uri, registry_uri=uri)
        for modality in MODALITIES:
            name = f"detector-{modality}"
            client.create_registered_model(name)
            for _ in range(2):
                client.create_model_version(name, source=str(root / "weights"))
            client.set_registered_model_alias(name, "champion", "2")
        cfg = get_config()
        engine = LocalEngine(cfg, workflow=_build(), workers=2)
        yield cfg, engine
        engine.shutdown()


@pytest.fixture
def registry(module_registry: tuple[Config, LocalEngine]) -> Config:
    """The module's configuration, its database emptied for the test."""
    db = get_db()
    for name in ("media", "results", "jobs", "job_nodes"):
        db[name].delete_many({})
    shutil.rmtree(module_registry[0].media_root, ignore_errors=True)
    return module_registry[0]


@pytest.fixture
def engine(module_registry: tuple[Config, LocalEngine]) -> LocalEngine:
    return module_registry[1]


def _seed(cfg: Config, n: int, contents: list[bytes] | None = None, gone: int = 0
          ) -> list[str]:
    """`n` media across modalities, each scored by version 1 (`authentic`); the last `gone`
    lose their bytes. Written in bulk: the rescan is what the test measures."""
    media, results = [], []
    for i in range(n):
        modality = MODALITIES[i % len(MODALITIES)]
        data = contents[i] if contents else (b"fake %d" % i if i % 3 == 0 else b"real %d" % i)
        rel = f"m/{i:05d}.bin"
        path = cfg.media_root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if i < n - gone:
            path.write_bytes(data)
        media_id = f"media{i:05d}"
        media.append({"media_id": media_id, "owner": "u1", "sha256": f"{i:064d}",
                      "modality": modality, "filename": f"{i}.bin", "size": len(data),
                      "path": rel, "info": {}, "created_at": T0})
        results.append({"job_id": "upload", "media_id": media_id, "owner": "u1",
                        "modality": modality, "score": 0.1, "verdict": "authentic",
                        "model": {"name": f"detector-{modality}", "version": "1"},
                        "created_at": T0 + timedelta(seconds=i), "_rev": 0})
    db = get_db()
    db.media.insert_many(media)
    db.results.insert_many(results)
    return [m["media_id"] for m in media]


def test_batches_fan_out_and_a_failure_fails_only_its_media(registry: Config, engine):
    contents = [b"fake a", b"real b", b"UNREADABLE c", b"real d", b"fake e", b"real f"]
    ids = _seed(registry, 6, contents, gone=1)  # media00005 has lost its bytes

    job_id = run_rescan_now(registry, batch_size=2, engine=engine)

    job = get_job(get_db(), job_id)
    s = job["summary"]
    assert (s["selected"], s["rescored"], s["changed"], s["failed"], s["missing"]) == (
        6, 4, 2, 1, 1)
    assert s["missing_ids"] == [ids[5]]
    (failure,) = s["failures"]
    assert failure["media_id"] == ids[2] and "cannot decode" in failure["error"]
    assert job["status"] == "succeeded" and job["error"] == "1 of 5 media failed"
    assert job["batch_size"] == 2 and len(job["media_ids"]) == 5  # 3 batches of <= 2
    (node,) = job["nodes"]  # only failures are recorded: rescan-batch(1)/detect-one(0)/...
    assert node.startswith(f"rescan-batch({job['media_ids'].index(ids[2]) // 2})/detect-one(")
    first = result_history(get_db(), ids[0], "u1")
    assert [(r["model"]["version"], r.get("changed_from")) for r in first] == [
        ("2", "authentic"), ("1", None)]
    assert first[0]["job_id"] == job_id
    assert not (registry.scratch_root / job_id).exists()

    again = get_job(get_db(), run_rescan_now(registry, batch_size=2, engine=engine))
    s = again["summary"]  # only what is still stale: the unreadable and the missing media
    assert (s["selected"], s["rescored"], s["failed"], s["missing"]) == (2, 0, 1, 1)
    assert again["status"] == "failed"  # every media it tried failed
    assert get_db().results.count_documents({}) == 6 + 4


def test_two_thousand_media_across_modalities(registry: Config, engine, capsys):
    n = 2000
    _seed(registry, n)
    started = time.monotonic()
    job_id = run_rescan_now(registry, batch_size=registry.rescans.batch_size, engine=engine)
    seconds = time.monotonic() - started
    job = get_job(get_db(), job_id)
    s = job["summary"]
    assert job["status"] == "succeeded" and job["error"] is None
    assert (s["selected"], s["rescored"], s["failed"], s["missing"]) == (n, n, 0, 0)
    assert s["changed"] == len(range(0, n, 3))  # the `fake` ones went authentic -> synthetic
    assert job["from_versions"] == {m: {"1": n // 4} for m in MODALITIES}
    db = get_db()
    assert db.results.count_documents({"model.version": "2"}) == n
    with capsys.disabled():
        print(f"\n2,000-media rescan through the local engine: {seconds:.1f} s")

    second = get_job(get_db(), run_rescan_now(registry, engine=engine))
    assert second["summary"]["selected"] == 0 and second["status"] == "succeeded"
    assert db.results.count_documents({}) == 2 * n  # nothing rescored twice
