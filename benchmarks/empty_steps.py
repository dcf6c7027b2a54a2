"""Empty steps with the detect steps' signatures: what is left of a task is the engine's cost."""

from typing import Annotated

from hera.workflows import Parameter, script

# No `from __future__ import annotations`: Hera reads the live annotations.


@script(constructor="runner")
def preprocess(
    job_id: str, media_id: str, modality: str, media_path: str
) -> Annotated[str, Parameter(name="features_path")]:
    """Nothing: returns a name."""
    return f"{media_id}.npz"


@script(constructor="runner")
def infer(
    job_id: str, media_id: str, modality: str, features_path: str
) -> Annotated[str, Parameter(name="result_path")]:
    """Nothing: returns a name."""
    return f"{media_id}.result.json"


@script(constructor="runner")
def persist(
    job_id: str, media_id: str, result_path: str
) -> Annotated[str, Parameter(name="media_id")]:
    """Nothing: returns the media id."""
    return media_id


@script(constructor="runner")
def cleanup_scratch(job_id: str) -> None:
    """Nothing."""
