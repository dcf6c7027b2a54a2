"""Files no reader ever sees half-written, and the JSON form of numpy values."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any


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
