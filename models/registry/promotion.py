"""Move the `champion` alias by hand, and list what the registry holds for each detector."""

from __future__ import annotations

from typing import Any

from models.registry.alias_audit import move_alias
from models.registry.client import ALIAS, MODEL_NAMES, _client


def modality_of(name: str) -> str:
    """The modality of a detector's model name (or of the modality itself); ValueError else."""
    for modality, model_name in MODEL_NAMES.items():
        if name in (model_name, modality):
            return modality
    raise ValueError(f"unknown model {name!r}; one of {', '.join(MODEL_NAMES.values())}")


def promote(name: str, version: str, tracking_uri: str | None = None,
            user_id: str | None = None) -> dict[str, Any]:
    """Point `champion` of `name` (e.g. detector-image) at `version`; the previous champion.

    Raises ValueError for an unknown name or version. Services that watch the alias (the
    inference service, the workflow steps) pick the new champion up without a restart. The move
    is logged (`model.promoted`, by `user_id`) when a database is configured. Media whose newest
    result came from any other version are stale from now on (`storage.rescan_select`).
    """
    from mlflow.exceptions import MlflowException

    model_name = MODEL_NAMES[modality_of(name)]
    client = _client(tracking_uri)
    try:
        client.get_model_version(model_name, str(version))
    except MlflowException as exc:
        raise ValueError(f"{model_name} has no version {version}") from exc
    alias_move = move_alias(client, model_name, ALIAS, str(version), reason="promoted by hand")
    moved = {"name": model_name, "champion": str(version), "previous": alias_move["from"]}
    _log_promotion(moved, user_id)
    return moved


def _log_promotion(moved: dict[str, Any], user_id: str | None) -> None:
    from storage import audit
    from storage.db import get_db

    try:
        db = get_db()
    except RuntimeError:  # no MongoDB configured (a bare registry call): nothing to log to
        return
    audit.record(db, "model.promoted", user_id=user_id, address="cli", **moved)


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
