"""Fault-test fixtures: the real app on the embedded MongoDB with a held engine."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest

# the toy steps and workflow of tests/workflows (workers spawned by a local engine inherit this)
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflows"))
from fault_helpers import HeldEngine
from flask import Flask

from api import create_app
from config import Config


@pytest.fixture
def held_engine() -> HeldEngine:
    return HeldEngine()


@pytest.fixture
def make_app(detector_env: Config, held_engine: HeldEngine) -> Callable[..., Flask]:
    """`make_app(**test_config)`: the app as configured by the environment now."""

    def make(**extra: object) -> Flask:
        return create_app({"TESTING": True, "ENGINE": held_engine, **extra})

    return make
