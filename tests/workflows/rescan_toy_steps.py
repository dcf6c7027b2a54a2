"""Light preprocess and infer for rescan tests (same signatures as the real ones): they read the
media bytes from the volume and score them as the champion of the media's modality, so the
rescan machinery (selection, batches, fan-out, the real persist, the summary) is what is timed."""

import functools
import json
from typing import Annotated

from hera.workflows import Parameter, script

from config import get_config
from models.files import atomic_write_text
from models.registry.aliases import current_champions
from storage.paths import Volumes


@functools.lru_cache(maxsize=8)
def _champion(modality: str) -> str:
    return current_champions(get_config().mlflow_tracking_uri)[modality][1]


@script(constructor="runner")
def preprocess(
    job_id: str, media_id: str, modality: str, media_path: str
) -> Annotated[str, Parameter(name="features_path")]:
    """The bytes as 'features'; bytes starting with UNREADABLE cannot be decoded."""
    volumes = Volumes.from_config(get_config())
    data = volumes.media_file(media_path).read_bytes()
    if data.startswith(b"UNREADABLE"):
        raise ValueError(f"cannot decode {media_id}")
    return str(atomic_write_text(volumes.job_scratch(job_id) / f"{media_id}.feat",
                                 data.decode()))


@script(constructor="runner")
def infer(
    job_id: str, media_id: str, modality: str, features_path: str
) -> Annotated[str, Parameter(name="result_path")]:
    """`synthetic` when the features say `fake`, else `authentic`, by today's champion."""
    volumes = Volumes.from_config(get_config())
    fake = "fake" in volumes.scratch_file(features_path).read_text()
    result = {"score": 0.9 if fake else 0.1, "verdict": "synthetic" if fake else "authentic",
              "model": {"name": f"detector-{modality}", "version": _champion(modality)},
              "explanation": {"unit": "toy"}}
    out = volumes.job_scratch(job_id) / f"{media_id}.result.json"
    return str(atomic_write_text(out, json.dumps(result)))
