"""MLflow basic-auth identities: a read-only `scorer` and a writing `trainer`, set up by admin."""

from __future__ import annotations

import argparse
import json
import os
import time
from typing import Any

SCORER, TRAINER = "scorer", "trainer"
# What each identity may do on the detector's registered models and their experiment.
PERMISSIONS = {SCORER: "READ", TRAINER: "EDIT"}


def _wait_for(uri: str, timeout_s: float) -> None:
    """Block until MLflow's unauthenticated /health answers."""
    import requests

    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if requests.get(f"{uri.rstrip('/')}/health", timeout=5).ok:
                return
        except requests.RequestException:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"MLflow at {uri} did not answer /health in {timeout_s:.0f}s")
        time.sleep(2)


def _ensure_user(auth: Any, username: str, password: str) -> None:
    from mlflow.exceptions import RestException

    try:
        auth.create_user(username, password)
    except RestException:  # exists: keep it in step with the Secret
        auth.update_user_password(username, password)


def bootstrap(tracking_uri: str, users: dict[str, tuple[str, str]]) -> dict[str, Any]:
    """As the MLflow admin (MLFLOW_TRACKING_USERNAME/PASSWORD): register the baselines where
    needed, create or update the `scorer` and `trainer` users (`users`: role -> (name,
    password)), and grant each its permission on every detector model and on the baselines
    experiment. Idempotent; returns what was granted."""
    from mlflow.server.auth.client import AuthServiceClient

    from models.registry.client import EXPERIMENT, MODEL_NAMES, _client, ensure_baselines

    versions = ensure_baselines(tracking_uri)
    auth = AuthServiceClient(tracking_uri)
    experiment = _client(tracking_uri).get_experiment_by_name(EXPERIMENT).experiment_id
    granted = {}
    for role, permission in PERMISSIONS.items():
        user, password = users[role]
        _ensure_user(auth, user, password)
        auth.grant_user_permission(user, "experiment", str(experiment), permission)
        for name in MODEL_NAMES.values():
            auth.grant_user_permission(user, "registered_model", name, permission)
        granted[user] = permission
    return {"champions": versions, "permissions": granted, "experiment": experiment}


def main(argv: list[str] | None = None) -> None:
    """`python -m models.registry.auth`: the api pod's init container runs this."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--wait-s", type=float, default=300.0)
    args = parser.parse_args(argv)
    uri = os.environ["MLFLOW_TRACKING_URI"]
    _wait_for(uri, args.wait_s)
    users = {role: (os.environ.get(f"MLFLOW_{role.upper()}_USERNAME", role),
                    os.environ[f"MLFLOW_{role.upper()}_PASSWORD"]) for role in PERMISSIONS}
    print(json.dumps(bootstrap(uri, users)))


if __name__ == "__main__":
    main()
