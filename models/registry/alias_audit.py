"""Audit trail of registry alias moves: one JSON line per move, to a file and the log."""

from __future__ import annotations

import getpass
import json
import logging
import os
import socket
import threading
import time
from pathlib import Path
from typing import Any

log = logging.getLogger("detector.audit")
_lock = threading.Lock()


def _actor() -> str:
    """Who moved the alias: the MLflow identity if set, else the OS user, with the host."""
    user = os.environ.get("MLFLOW_TRACKING_USERNAME")
    if not user:
        try:
            user = getpass.getuser()
        except (KeyError, OSError):
            user = str(os.getuid())
    return f"{user}@{socket.gethostname()}"


def move_alias(client: Any, name: str, alias: str, version: str, reason: str,
               audit_log: Path) -> dict[str, Any]:
    """Point `alias` of `name` at `version` and record who, when, from what, and why (a line
    in `audit_log`, `RegistrySettings.audit_log`)."""
    from mlflow.exceptions import MlflowException

    try:
        previous: str | None = str(client.get_model_version_by_alias(name, alias).version)
    except MlflowException:
        previous = None
    client.set_registered_model_alias(name, alias, str(version))
    record = {"time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "model": name,
              "alias": alias, "from": previous, "to": str(version), "actor": _actor(),
              "reason": reason}
    line = json.dumps(record, sort_keys=True)
    log.warning("alias move %s", line)  # the pod log: kept by the cluster's log pipeline
    with _lock:
        audit_log.parent.mkdir(parents=True, exist_ok=True)
        with audit_log.open("a", encoding="utf-8") as out:
            out.write(line + "\n")
    return record


def read_moves(path: Path) -> list[dict[str, Any]]:
    """Every move recorded in `path`, oldest first."""
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
