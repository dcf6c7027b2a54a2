"""Which MLflow identity a workflow's steps use: `scorer` (read) or `trainer` (write)."""

from __future__ import annotations

from collections.abc import Callable

from hera.workflows import Script, SecretEnv

SCORER_SECRET = "detector-mlflow-scorer"  # detect, rescan: load champions, never write
TRAINER_SECRET = "detector-mlflow-trainer"  # train: register versions, move `champion`


def with_registry_identity(
    step: Callable[[Callable], Script], secret: str
) -> Callable[[Callable], Script]:
    """`step` whose Script templates also read MLFLOW_TRACKING_USERNAME/PASSWORD from
    Secret `secret` (k8s/secrets), the credentials MLflow's basic-auth server checks."""

    def wrapped(fn: Callable) -> Script:
        script = step(fn)
        script.env = [*(script.env or []), *(
            SecretEnv(name=key, secret_name=secret, secret_key=key)
            for key in ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"))]
        return script

    return wrapped
