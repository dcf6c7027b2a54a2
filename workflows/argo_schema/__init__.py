"""Argo Workflows' own schema.json and swagger.json (v4.1), vendored unmodified: see README.md."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

ARGO_SCHEMA_DIR = Path(__file__).resolve().parent
SCHEMA_JSON = ARGO_SCHEMA_DIR / "schema.json"
"""JSON schema (draft 2020-12) of Argo's kinds; `definitions` holds every type."""
SWAGGER_JSON = ARGO_SCHEMA_DIR / "swagger.json"
"""The Argo Server REST API (OpenAPI 2): paths, methods and request bodies."""


def load(name: Literal["schema", "swagger"]) -> dict:
    """The parsed schema.json or swagger.json."""
    return json.loads({"schema": SCHEMA_JSON, "swagger": SWAGGER_JSON}[name].read_text())
