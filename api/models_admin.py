"""GET /api/v1/models (admins): each modality's registered model versions and its champion."""

from __future__ import annotations

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


def mlflow_ui_link(base: str | None, name: str | None, version: str | None) -> str | None:
    """The model version's page in the MLflow UI at `base` (MLFLOW_UI_URL,
    `Config.mlflow_ui_url`, e.g. https://mlflow.example.com), or None when it is unset or the
    model is unknown."""
    if not base or not name or not version:
        return None
    return f"{base.rstrip('/')}/#/models/{quote(name)}/versions/{quote(str(version))}"


def _listing(rows: list[dict[str, Any]], name: str,
             mlflow_ui_url: str | None) -> tuple[list[dict[str, Any]], str | None]:
    """The newest MAX_VERSIONS versions of `name` in `rows` (`models.registry.client.list_models`,
    newest first) as listed here, and the one holding the champion alias."""
    from models.registry.client import ALIAS

    mine = [row for row in rows if row["name"] == name]
    champion = next((row["version"] for row in mine if ALIAS in row["aliases"]), None)
    return [{"version": row["version"], "aliases": row["aliases"], "created_at": row["created"],
             "description": row["description"],
             "link": mlflow_ui_link(mlflow_ui_url, name, row["version"])}
            for row in mine[:MAX_VERSIONS]], champion


@bp.get("")
@documented({200: ModelsList})
@admin_only
def list_models() -> ResponseReturnValue:
    """`{"models": [{"modality", "name", "champion", "versions": [...]}]}`; 403 for non-admins.
    `created_at` is MLflow's (milliseconds since the epoch)."""
    from mlflow.exceptions import MlflowException

    from models.registry import client
    from models.registry.settings import RegistrySettings

    try:
        rows = client.list_models(RegistrySettings.from_config(settings()))
    except MlflowException:  # the registry does not answer: nothing listed
        rows = []
    models = []
    for modality, name in client.MODEL_NAMES.items():
        versions, champion = _listing(rows, name, settings().mlflow_ui_url)
        models.append({"modality": modality, "name": name, "champion": champion,
                       "versions": versions})
    return jsonify({"models": models})
