"""Trained generator networks kept on disk."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import torch
from torch import nn

Net = TypeVar("Net", bound=nn.Module)


def cache_path(cache_dir: Path, name: str, seed: int, params: dict, version: int) -> Path:
    """`<cache_dir>/<name>-<seed>-v<version>-<hash of params>.pt`."""
    digest = hashlib.sha1(json.dumps(params, sort_keys=True).encode()).hexdigest()[:8]
    return cache_dir / f"{name}-{seed}-v{version}-{digest}.pt"


def default_cache_dir() -> Path:
    """`var/cache/generators` under the configured var folder."""
    from config import get_config

    return get_config().var_dir / "cache" / "generators"


def save_atomic(state: dict, path: Path) -> None:
    """`torch.save` to a temporary file beside `path`, then rename (parallel runs are safe)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    os.close(fd)
    try:
        torch.save(state, tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def load_or_train(path: Path, model: Net, train: Callable[[], Net]) -> Net:
    """`model` with the weights cached at `path`, or `train()`'s model, then cached there; a
    broken cache file is trained again. Returned in eval mode."""
    if path.exists():
        try:
            model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
            return model.eval()
        except (RuntimeError, OSError, EOFError):
            pass  # a broken cache file: train again
    trained = train()
    save_atomic(trained.state_dict(), path)
    return trained.eval()
