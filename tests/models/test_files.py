"""Atomic writes leave the old file or the new one, never a part; numpy values become JSON."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from models.files import atomic_write_bytes, atomic_write_text, json_default


def test_atomic_write_replaces_and_leaves_no_part(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "result.json"
    atomic_write_text(path, "old")
    assert atomic_write_bytes(path, b"new") == path
    assert path.read_bytes() == b"new"
    assert [p.name for p in path.parent.iterdir()] == ["result.json"]


def test_a_failed_write_keeps_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "result.json"
    atomic_write_text(path, "old")

    def disk_full(*_args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("models.files.os.replace", disk_full)
    with pytest.raises(OSError):
        atomic_write_text(path, "new")
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["result.json"]


def test_json_default_turns_numpy_into_json() -> None:
    value = {"a": np.float32(0.5), "b": np.arange(3), "c": np.int64(7)}
    assert json.loads(json.dumps(value, default=json_default)) == {"a": 0.5, "b": [0, 1, 2],
                                                                   "c": 7}
    with pytest.raises(TypeError):
        json.dumps({"x": object()}, default=json_default)
