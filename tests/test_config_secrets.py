"""Local secrets (JWT key, inference token) are created private: never readable by others."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from config import _local_secret, get_config


@pytest.fixture
def open_umask() -> Iterator[None]:
    """A umask that leaves files world-readable unless the code asks otherwise."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def _mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def test_a_secret_is_0600_even_if_the_process_dies_before_any_chmod(
        tmp_path: Path, open_umask: None, monkeypatch: pytest.MonkeyPatch) -> None:
    def crash(*args: object, **kwargs: object) -> None:
        raise OSError("killed before chmod")

    monkeypatch.setattr(Path, "chmod", crash)
    monkeypatch.setattr(os, "chmod", crash)
    var = tmp_path / "var"
    try:
        _local_secret(var)
    except OSError:
        pass
    assert _mode(var / "jwt.key") == 0o600
    assert _mode(var) == 0o700


def test_the_key_is_kept_and_reused(tmp_path: Path, open_umask: None) -> None:
    first = _local_secret(tmp_path, "inference.token")
    assert len(first) == 64 and _local_secret(tmp_path, "inference.token") == first
    assert _mode(tmp_path / "inference.token") == 0o600


def test_inference_token_from_env_or_var(tmp_path: Path, open_umask: None,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DETECTOR_VAR_DIR", str(tmp_path / "v"))
    monkeypatch.delenv("INFERENCE_TOKEN", raising=False)
    made = get_config().inference_token
    assert (tmp_path / "v" / "inference.token").read_text() == made
    monkeypatch.setenv("INFERENCE_TOKEN", "from-the-environment")
    assert get_config().inference_token == "from-the-environment"
