"""Helpers shared by the workflow tests (a uniquely named module: conftest is not importable)."""

from __future__ import annotations

import toy_steps
from hera.workflows import Workflow

from config import Faults
from steps.persist import persist
from steps.scratch import cleanup_scratch
from workflows.detect import DetectSteps, build_detect_workflow

DEFAULT_FAULTS = Faults()


def toy_workflow(retries: int = 2, faults: Faults = DEFAULT_FAULTS) -> Workflow:
    """The real detect DAG with the toy preprocess/infer and the real persist and cleanup;
    `faults`: the retry cap and step deadlines (by default the defaults)."""
    steps = DetectSteps(toy_steps.preprocess, toy_steps.infer, persist, cleanup_scratch)
    return build_detect_workflow(faults=faults, steps=steps, retries=retries, backoff="0s")
