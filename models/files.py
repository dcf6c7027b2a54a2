"""Files no reader ever sees half-written, the JSON form of numpy values, and the features file
(.npz) a preprocess step writes and the infer step reads."""

from __future__ import annotations

import io
import json
import os
import threading
from pathlib import Path
from typing import Any

import numpy as np


def atomic_write_bytes(path: Path, data: bytes) -> Path:
    """Write `data` to a temporary file beside `path`, then rename it over `path`: a retried
    step, a concurrent reader or a crash never leaves half a file under that name."""
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.part")
    try:
        part.write_bytes(data)
        os.replace(part, path)
    finally:
        part.unlink(missing_ok=True)
    return path


def atomic_write_text(path: Path, text: str) -> Path:
    """`atomic_write_bytes` of `text` in UTF-8."""
    return atomic_write_bytes(path, text.encode())


def json_default(value: Any) -> Any:
    """`json.dumps(default=...)` for numpy arrays and scalars (and anything with `tolist` or
    `item`); TypeError for the rest, as json itself would raise."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def save_features(path: Path, features: dict[str, Any]) -> Path:
    """Write the arrays of `features` plus `meta` (as JSON) to `path` atomically."""
    arrays = {k: np.asarray(v) for k, v in features.items() if k != "meta"}
    if "x" not in arrays:
        raise ValueError("features have no 'x' array")
    arrays["meta"] = np.array(json.dumps(features.get("meta") or {}, default=json_default))
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return atomic_write_bytes(path, buffer.getvalue())


def load_features(path: Path) -> dict[str, Any]:
    """The inverse of `save_features`: arrays by name and `meta` as a dict."""
    with np.load(path, allow_pickle=False) as data:
        features: dict[str, Any] = {k: data[k] for k in data.files if k != "meta"}
        features["meta"] = json.loads(str(data["meta"])) if "meta" in data.files else {}
    return features
