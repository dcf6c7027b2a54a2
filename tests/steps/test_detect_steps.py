"""preprocess -> infer -> persist called as plain Python, with the real models and MongoDB."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from config import Config
from models.files import load_features
from steps.infer import infer
from steps.persist import persist
from steps.preprocess import preprocess
from steps.scratch import cleanup_scratch
from storage.db import get_db
from storage.media import insert_media
from storage.results import results_for_job

TEXT = (
    "The committee met on Tuesday to discuss the budget. Several members raised concerns "
    "about the cost of the new bridge, and the chair promised a report by spring."
)


@pytest.fixture(scope="module")
def champions(mlflow_uri: str) -> dict[str, str]:
    """The committed baselines registered in the session's MLflow (idempotent, once a session)."""
    from dataclasses import replace

    from models.registry.client import ensure_baselines
    from models.registry.settings import RegistrySettings

    return ensure_baselines(replace(RegistrySettings.from_env(), tracking_uri=mlflow_uri))


def write_image(path: Path, seed: int = 0) -> Path:
    """A small textured image (gradient plus noise), enough for the image featuriser."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:160, 0:200]
    base = np.stack([x * 255 / 200, y * 255 / 160, (x + y) * 255 / 360], axis=-1)
    image = np.clip(base + rng.normal(0, 12, base.shape), 0, 255).astype(np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), image)
    return path


def add_media(cfg: Config, modality: str, name: str) -> dict:
    path = cfg.media_root / "ab" / name
    if modality == "image":
        write_image(path)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(TEXT)
    doc = {"owner": "u1", "sha256": "ab" * 32, "modality": modality, "filename": name,
           "size": path.stat().st_size, "path": f"ab/{name}"}
    doc["media_id"] = insert_media(get_db(), doc)
    return doc


@pytest.mark.parametrize("modality,name", [("image", "photo.png"), ("text", "essay.txt")])
def test_three_steps_end_to_end(detector_env, champions, modality, name):
    media = add_media(detector_env, modality, name)
    job_id, media_id = "job0001", media["media_id"]

    features_path = preprocess(job_id, media_id, modality, media["path"])
    assert Path(features_path) == detector_env.scratch_root / job_id / f"{media_id}.npz"
    features = load_features(Path(features_path))
    assert features["x"].dtype == np.float32 and len(features["x"]) >= 1
    assert isinstance(features["meta"], dict)

    result_path = infer(job_id, media_id, modality, features_path)
    result = json.loads(Path(result_path).read_text())
    assert 0.0 <= result["score"] <= 1.0
    assert result["verdict"] in {"synthetic", "authentic", "uncertain"}
    assert result["model"] == {"name": f"detector-{modality}", "version": champions[modality]}

    assert persist(job_id, media_id, result_path) == media_id
    (first,) = results_for_job(get_db(), job_id)
    assert persist(job_id, media_id, result_path) == media_id  # a retried persist
    (stored,) = results_for_job(get_db(), job_id)
    assert stored["created_at"] == first["created_at"]
    assert stored["model"]["name"] == f"detector-{modality}"
    assert stored["owner"] == "u1" and stored["filename"] == name
    assert stored["score"] == result["score"] and stored["created_at"] is not None

    cleanup_scratch(job_id)
    assert not (detector_env.scratch_root / job_id).exists()
    assert (detector_env.media_root / media["path"]).exists()


def test_paths_cannot_leave_their_roots(detector_env):
    with pytest.raises(ValueError, match="MEDIA_ROOT"):
        preprocess("job1", "m1", "text", "../../etc/passwd")
    with pytest.raises(ValueError, match="job_id"):
        preprocess("../job", "m1", "text", "a.txt")
    with pytest.raises(ValueError, match="SCRATCH_ROOT"):
        infer("job1", "m1", "text", "/etc/hosts")


def test_persist_needs_the_media(detector_env, tmp_path):
    result = detector_env.scratch_root / "job2" / "m.result.json"
    result.parent.mkdir(parents=True)
    result.write_text("{}")
    with pytest.raises(LookupError):
        persist("job2", "missing-media", str(result))


@pytest.mark.parametrize("modality,name,code", [
    ("audio", "silence.wav", "audio_silent"),
    ("text", "word.txt", "text_too_short"),
    ("image", "blank.png", "image_flat"),
])
def test_media_the_detector_does_not_apply_to(detector_env, champions, modality, name, code):
    import soundfile as sf

    path = detector_env.media_root / "ab" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if modality == "audio":
        sf.write(str(path), np.zeros(32_000, np.float32), 16_000)
    elif modality == "text":
        path.write_text("Antidisestablishmentarianism.")
    else:
        assert cv2.imwrite(str(path), np.full((240, 320, 3), 200, np.uint8))
    doc = {"owner": "u1", "sha256": "ab" * 32, "modality": modality, "filename": name,
           "size": path.stat().st_size, "path": f"ab/{name}"}
    media_id = insert_media(get_db(), doc)

    features_path = preprocess("job0002", media_id, modality, doc["path"])
    assert load_features(Path(features_path))["x"].size == 0  # not featurised
    result_path = infer("job0002", media_id, modality, features_path)
    persist("job0002", media_id, result_path)
    (stored,) = results_for_job(get_db(), "job0002")
    assert stored["score"] is None and stored["verdict"] == "not_applicable"
    assert stored["reason_code"] == code and stored["reason"]
    assert stored["model"] == {"name": f"detector-{modality}", "version": champions[modality]}
    assert "heatmap" not in stored["explanation"]
