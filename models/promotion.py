"""Move the `champion` alias by hand, and list what the registry holds for each detector."""

from __future__ import annotations

from typing import Any

from models.alias_audit import move_alias
from models.registry import ALIAS, MODEL_NAMES, _client


def _modality_of(name: str) -> str:
    for modality, model_name in MODEL_NAMES.items():
        if name in (model_name, modality):
            return modality
    raise ValueError(f"unknown model {name!r}; one of {', '.join(MODEL_NAMES.values())}")


def promote(name: str, version: str, tracking_uri: str | None = None) -> dict[str, Any]:
    """Point `champion` of `name` (e.g. detector-image) at `version`; the previous champion.

    Raises ValueError for an unknown name or version. Services that watch the alias (the
    inference service, the workflow steps) pick the new champion up without a restart.
    """
    from mlflow.exceptions import MlflowException

    model_name = MODEL_NAMES[_modality_of(name)]
    client = _client(tracking_uri)
    try:
        client.get_model_version(model_name, str(version))
    except MlflowException as exc:
        raise ValueError(f"{model_name} has no version {version}") from exc
    moved = move_alias(client, model_name, ALIAS, str(version), reason="promoted by hand")
    return {"name": model_name, "champion": str(version), "previous": moved["from"]}


def list_models(tracking_uri: str | None = None) -> list[dict[str, Any]]:
    """Every version of every detector, newest first, with its aliases and tags."""
    client = _client(tracking_uri)
    rows = []
    for model_name in MODEL_NAMES.values():
        versions = client.search_model_versions(f"name='{model_name}'")
        if not versions:
            continue
        aliases = client.get_registered_model(model_name).aliases or {}  # alias -> version
        for mv in sorted(versions, key=lambda v: int(v.version), reverse=True):
            version = str(mv.version)
            rows.append({"name": model_name, "version": version,
                         "aliases": sorted(a for a, v in aliases.items() if str(v) == version),
                         "tags": dict(mv.tags or {}), "created": mv.creation_timestamp})
    return rows
