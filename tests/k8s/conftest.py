"""Rendered overlays: k8s/ copied to a temporary folder, throw-away secrets written, then built."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from k8s_helpers import COMMITTED_SECRETS_FILES, K8S, OVERLAYS, tool


def _skip_real_secrets(folder: str, names: list[str]) -> set[str]:
    if Path(folder).resolve() == (K8S / "secrets").resolve():
        return {n for n in names if n not in COMMITTED_SECRETS_FILES}
    return set()


@pytest.fixture(scope="session")
def k8s_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """k8s/ without any local secret file, plus fresh ones written by k8s/make-secrets.sh."""
    copy = tmp_path_factory.mktemp("k8s") / "k8s"
    shutil.copytree(K8S, copy, ignore=_skip_real_secrets)
    subprocess.run(["sh", str(copy / "make-secrets.sh")], check=True, capture_output=True)
    return copy


@pytest.fixture(scope="session")
def render(k8s_copy: Path) -> Callable[[str], str]:
    """`kubectl kustomize` of an overlay (cached), as YAML text."""
    cache: dict[str, str] = {}

    def _render(overlay: str) -> str:
        if overlay not in cache:
            done = subprocess.run(
                [tool("kubectl"), "kustomize", str(k8s_copy / "overlays" / overlay)],
                capture_output=True, text=True, timeout=120,
            )
            assert done.returncode == 0, done.stderr
            cache[overlay] = done.stdout
        return cache[overlay]

    return _render


@pytest.fixture(params=OVERLAYS)
def overlay(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def docs(render: Callable[[str], str], overlay: str) -> list[dict[str, Any]]:
    """The overlay's rendered resources."""
    return [d for d in yaml.safe_load_all(render(overlay)) if d]
