"""Which version each modality's `champion` alias names, read from the registry without loading
any model (no torch): what a rescan compares each media's newest result with."""

from __future__ import annotations

from typing import Any

MODEL_NAMES = {m: f"detector-{m}" for m in ("image", "audio", "video", "text")}
"""`models.registry.client.MODEL_NAMES` (a test checks they agree): that module imports torch, which
reading the aliases does not need."""

_clients: dict[str, Any] = {}


def current_champions(tracking_uri: str) -> dict[str, tuple[str, str]]:
    """{modality: (model name, champion version)} for every modality that has a champion in the
    registry at `tracking_uri`."""
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    client = _clients.get(tracking_uri)
    if client is None:  # building a client checks the registry's schema: once per process
        client = _clients[tracking_uri] = MlflowClient(tracking_uri, registry_uri=tracking_uri)
    found = {}
    for modality, name in MODEL_NAMES.items():
        try:
            version = client.get_model_version_by_alias(name, "champion").version
        except MlflowException:
            continue
        found[modality] = (name, str(version))
    return found
