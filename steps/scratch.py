"""The detect and train workflows' exit handler: remove one job's scratch folder."""

import shutil

from hera.workflows import script

from config import get_config
from storage.paths import Volumes

# No `from __future__ import annotations` in step modules: Hera reads the live annotations.


@script(constructor="runner")
def cleanup_scratch(job_id: str) -> None:
    """Remove `<SCRATCH_ROOT>/<job_id>` (the workflow's exit handler; uploaded media stay)."""
    shutil.rmtree(Volumes.from_config(get_config()).job_scratch(job_id), ignore_errors=True)
