"""Helpers shared by the workflow tests (a uniquely named module: conftest is not importable)."""

from __future__ import annotations

import toy_steps
from hera.workflows import Workflow

from steps.persist import persist
from steps.scratch import cleanup_scratch
from workflows.detect import DetectSteps, build_detect_workflow


def toy_workflow(retries: int = 2) -> Workflow:
    """The real detect DAG with the toy preprocess/infer and the real persist and cleanup."""
    steps = DetectSteps(toy_steps.preprocess, toy_steps.infer, persist, cleanup_scratch)
    return build_detect_workflow(steps=steps, retries=retries, backoff="0s")
