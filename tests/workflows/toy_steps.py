"""Small stand-ins for preprocess and infer (same signatures) used to test the engines quickly."""

import json
import os
import time
from pathlib import Path
from typing import Annotated

from hera.workflows import Parameter, script

from config import get_config
from models.files import atomic_write_text
from storage.paths import Volumes


@script(constructor="runner")
def preprocess(
    job_id: str, media_id: str, modality: str, media_path: str
) -> Annotated[str, Parameter(name="features_path")]:
    """Upper-case a text file into scratch; 'fail-always' raises, 'fail-once' fails one attempt,
    'crash-once' kills the worker process once, 'crash-always' on every attempt, 'slow' takes a
    second, 'hang' a minute, 'hang-once' a minute on the first attempt only."""
    volumes = Volumes.from_config(get_config())
    text = volumes.media_file(media_path).read_text()
    if "slow" in text:
        time.sleep(1.0)
    if "hang" in text and "hang-once" not in text:
        time.sleep(60.0)
    if "crash-always" in text:
        os._exit(3)
    if "fail-always" in text:
        raise RuntimeError(f"cannot decode {media_id}")
    marker = volumes.job_scratch(job_id) / f"{media_id}.tried"
    if "hang-once" in text and not marker.exists():
        atomic_write_text(marker, "1")
        time.sleep(60.0)
    if "crash-once" in text and not marker.exists():
        atomic_write_text(marker, "1")
        os._exit(3)  # the worker process dies, like a pod killed for memory
    if "fail-once" in text and not marker.exists():
        atomic_write_text(marker, "1")
        raise RuntimeError("transient failure")
    return str(atomic_write_text(volumes.job_scratch(job_id) / f"{media_id}.feat", text.upper()))


@script(constructor="runner")
def infer(
    job_id: str, media_id: str, modality: str, features_path: str
) -> Annotated[str, Parameter(name="result_path")]:
    """A 'score' from the features' length, written as the result JSON the real infer writes."""
    volumes = Volumes.from_config(get_config())
    features = volumes.scratch_file(features_path).read_text()
    result = {
        "score": min(1.0, len(features) / 100),
        "verdict": "authentic",
        "model": {"name": "toy", "version": "1"},
        "explanation": {"chars": len(features)},
    }
    out = volumes.job_scratch(job_id) / f"{media_id}.result.json"
    return str(atomic_write_text(out, json.dumps(result)))


def scratch_exists(root: Path, job_id: str) -> bool:
    """Whether the job's scratch folder is still there."""
    return (root / job_id).exists()
