"""The persist step keeps history: a new model version adds a result, a retry replaces its own,
and a verdict that changed from the media's previous result says so (`changed_from`)."""

from __future__ import annotations

import json
import time

from config import Config, get_config
from models.files import atomic_write_text
from steps.persist import persist
from storage.db import get_db
from storage.media import insert_media
from storage.paths import Volumes
from storage.results import result_history


def _score(job_id: str, media_id: str, version: str, verdict: str) -> None:
    result = {"score": 0.8 if verdict == "synthetic" else 0.2, "verdict": verdict,
              "model": {"name": "detector-text", "version": version}, "explanation": {}}
    scratch = Volumes.from_config(get_config()).job_scratch(job_id)
    path = atomic_write_text(scratch / f"{media_id}.json", json.dumps(result))
    persist(job_id=job_id, media_id=media_id, result_path=str(path))
    time.sleep(0.005)  # results are ordered by created_at, kept to the millisecond


def test_rescores_keep_history_and_say_what_changed(detector_env: Config):
    media_id = insert_media(get_db(), {"owner": "u1", "sha256": "aa" * 32, "modality": "text",
                                       "filename": "t.txt", "size": 3, "path": "aa/t"})
    _score("upload-job", media_id, "1", "authentic")
    _score("rescan-1", media_id, "2", "synthetic")
    _score("rescan-1", media_id, "2", "synthetic")  # the batch retried: no second result
    _score("rescan-2", media_id, "3", "synthetic")  # same verdict: nothing changed

    history = result_history(get_db(), media_id, "u1")
    assert [(r["job_id"], r["model"]["version"]) for r in history] == [
        ("rescan-2", "3"), ("rescan-1", "2"), ("upload-job", "1")]
    assert "changed_from" not in history[0]
    assert history[0]["previous_model"] == {"name": "detector-text", "version": "2"}
    assert history[1]["changed_from"] == "authentic"
    assert "changed_from" not in history[2] and "previous_model" not in history[2]


def test_a_rollback_makes_the_older_version_current_again(detector_env: Config):
    media_id = insert_media(get_db(), {"owner": "u1", "sha256": "bb" * 32, "modality": "text",
                                       "filename": "t.txt", "size": 3, "path": "bb/t"})
    _score("upload-job", media_id, "1", "authentic")
    _score("rescan-1", media_id, "2", "synthetic")
    _score("rescan-2", media_id, "1", "authentic")  # champion rolled back to version 1
    history = result_history(get_db(), media_id, "u1")
    assert [(r["job_id"], r["model"]["version"]) for r in history] == [
        ("rescan-2", "1"), ("rescan-1", "2")]
    assert history[0]["changed_from"] == "synthetic"
