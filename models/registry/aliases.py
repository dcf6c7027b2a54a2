"""The registered model names and which version an alias names, read from the registry without
loading any model (no torch): for /readyz and for what a rescan compares results with."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from models import MODALITIES

MODEL_NAMES = {m: f"detector-{m}" for m in MODALITIES}
"""The registered model of each modality."""
ALIAS = "champion"
"""The alias every scoring path follows."""

_clients: dict[str, Any] = {}
_clients_lock = threading.Lock()


def registry_client(tracking_uri: str) -> Any:
    """One MlflowClient per tracking URI and process (creating one checks the store's schema);
    a local SQLite store's folder is made first."""
    from mlflow import MlflowClient

    with _clients_lock:
        client = _clients.get(tracking_uri)
        if client is None:
            if tracking_uri.startswith("sqlite:///"):
                Path(tracking_uri.removeprefix("sqlite:///")).parent.mkdir(parents=True,
                                                                          exist_ok=True)
            client = _clients[tracking_uri] = MlflowClient(tracking_uri,
                                                           registry_uri=tracking_uri)
        return client


def forget_clients() -> None:
    """Drop the cached clients (tests, or after a registry is replaced)."""
    with _clients_lock:
        _clients.clear()


def alias_version(tracking_uri: str, modality: str, alias: str = ALIAS) -> str | None:
    """The version `alias` names for the modality's model, None when it names none. Errors
    other than MLflow's own (a registry that cannot be reached) reach the caller."""
    from mlflow.exceptions import MlflowException

    try:
        found = registry_client(tracking_uri).get_model_version_by_alias(MODEL_NAMES[modality],
                                                                         alias)
    except MlflowException:
        return None
    return str(found.version)


def current_champions(tracking_uri: str) -> dict[str, tuple[str, str]]:
    """{modality: (model name, champion version)} for every modality that has a champion in the
    registry at `tracking_uri`."""
    found = {}
    for modality, name in MODEL_NAMES.items():
        version = alias_version(tracking_uri, modality)
        if version is not None:
            found[modality] = (name, version)
    return found
