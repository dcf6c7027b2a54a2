"""The real detect workflow on the local engine: an image and a text scored by the champions."""

from __future__ import annotations

import hashlib
import time

import cv2
import numpy as np
import pytest

from config import Config
from storage.db import get_db
from storage.jobs import create_job, get_job
from storage.media import insert_media
from storage.results import results_for_job
from workflows.local.engine import LocalEngine

TEXT = (
    "Rain fell over the harbour all night. By morning the boats were back, and the market "
    "opened late. Nobody seemed to mind the delay."
)


@pytest.fixture(scope="module")
def champions(module_env: Config) -> dict[str, str]:
    from models.registry.client import ensure_baselines
    from models.registry.settings import RegistrySettings

    return ensure_baselines(RegistrySettings.from_config(module_env))


def _store(cfg: Config, name: str, modality: str, data: bytes) -> str:
    digest = hashlib.sha256(data).hexdigest()
    path = cfg.media_root / digest[:2] / f"{digest}{name[name.rindex('.'):]}"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    doc = {"owner": "u1", "sha256": digest, "modality": modality, "filename": name,
           "size": len(data), "path": str(path.relative_to(cfg.media_root))}
    return insert_media(get_db(), doc)


def _png(seed: int = 1) -> bytes:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:192, 0:256]
    base = np.stack([x, y, (x + y) / 2], axis=-1).astype(np.float64)
    image = np.clip(base + rng.normal(0, 10, base.shape), 0, 255).astype(np.uint8)
    ok, encoded = cv2.imencode(".png", image)
    assert ok
    return encoded.tobytes()


def test_real_workflow_scores_an_image_and_a_text(module_env, champions):
    media_ids = [
        _store(module_env, "photo.png", "image", _png()),
        _store(module_env, "essay.txt", "text", TEXT.encode()),
    ]
    job_id = create_job(get_db(), "u1", media_ids, engine="local", mode="async")["job_id"]
    engine = LocalEngine(module_env, workers=2)
    try:
        started = time.perf_counter()  # cold workers: LocalEngine.warm_up() is not called
        engine.submit(job_id)
        status = engine.wait(job_id, timeout=180)
        print(f"\nreal detect job, image + text, cold: {time.perf_counter() - started:.1f}s")
    finally:
        engine.shutdown()
    job = get_job(get_db(), job_id)
    assert status == "succeeded", job.get("error")

    assert all(n["status"] == "succeeded" for n in job["nodes"].values())
    results = {r["media_id"]: r for r in results_for_job(get_db(), job_id)}
    image, text = results[media_ids[0]], results[media_ids[1]]
    assert image["model"] == {"name": "detector-image", "version": champions["image"]}
    assert text["model"] == {"name": "detector-text", "version": champions["text"]}
    for result in (image, text):
        assert 0.0 <= result["score"] <= 1.0
        assert result["verdict"] in {"synthetic", "authentic", "uncertain"}
        assert result["owner"] == "u1"
    assert text["explanation"]["unit"] == "sentence"
    assert not (module_env.scratch_root / job_id).exists()
