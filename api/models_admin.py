"""GET /api/v1/models (admins): each modality's registered model versions and its champion."""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import quote

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue

from api.admin import admin_only
from api.auth import require_token
from api.context import settings
from api.openapi import documented
from api.schemas import ModelsList

bp = Blueprint("models_admin", __name__, url_prefix="/api/v1/models")
require_token(bp)
MAX_VERSIONS = 50
"""Versions listed per model at most, newest first."""


def mlflow_ui_link(name: str | None, version: str | None) -> str | None:
    """The model version's page in the MLflow UI (MLFLOW_UI_URL, e.g. https://mlflow.example.com),
    or None when it is unset or the model is unknown."""
    base = os.environ.get("MLFLOW_UI_URL")
    if not base or not name or not version:
        return None
    return f"{base.rstrip('/')}/#/models/{quote(name)}/versions/{quote(str(version))}"


def _versions(client: Any, name: str) -> tuple[list[dict[str, Any]], str | None]:
    """The newest MAX_VERSIONS versions of `name` (version, aliases, created_at, description,
    link) and the one holding the champion alias."""
    from mlflow.exceptions import MlflowException

    from models.registry.client import ALIAS

    try:  # a search leaves the aliases out: they come from the registered model
        registered = client.get_registered_model(name)
        found = client.search_model_versions(f"name = '{name}'")
    except MlflowException:
        return [], None
    by_version: dict[str, list[str]] = {}
    for alias, version in (registered.aliases or {}).items():
        by_version.setdefault(str(version), []).append(str(alias))
    champion = next((v for v, names in by_version.items() if ALIAS in names), None)
    out = []
    for mv in sorted(found, key=lambda v: int(v.version), reverse=True)[:MAX_VERSIONS]:
        aliases = sorted(by_version.get(str(mv.version), []))
        out.append({"version": str(mv.version), "aliases": aliases,
                    "created_at": mv.creation_timestamp, "description": mv.description or "",
                    "link": mlflow_ui_link(name, str(mv.version))})
    return out, champion


@bp.get("")
@documented({200: ModelsList})
@admin_only
def list_models() -> ResponseReturnValue:
    """`{"models": [{"modality", "name", "champion", "versions": [...]}]}`; 403 for non-admins.
    `created_at` is MLflow's (milliseconds since the epoch)."""
    from mlflow import MlflowClient

    from models.registry.client import MODEL_NAMES

    uri = settings().mlflow_tracking_uri
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    models = []
    for modality, name in MODEL_NAMES.items():
        versions, champion = _versions(client, name)
        models.append({"modality": modality, "name": name, "champion": champion,
                       "versions": versions})
    return jsonify({"models": models})
