"""The features type: `x` (float32 model input, one row per unit) plus JSON-able `meta`."""

from __future__ import annotations

from typing import Any

Features = dict[str, Any]
