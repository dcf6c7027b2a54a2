"""Where the registry lives: tracking URI, local artifact root and alias-audit log, read once."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol


class _RegistryConfig(Protocol):
    """The part of `config.Config` the registry needs."""

    var_dir: Path
    mlflow_tracking_uri: str

    @property
    def mlflow_artifact_root(self) -> Path: ...

    @property
    def alias_audit_log(self) -> Path: ...


@dataclass(frozen=True)
class RegistrySettings:
    """The registry's locations; entry points make one and pass it to every registry call."""

    tracking_uri: str
    artifact_root: Path
    """Where a local (non-HTTP) tracking store keeps artifacts: MLFLOW_ARTIFACT_ROOT."""
    audit_log: Path
    """One JSON line per alias move: ALIAS_AUDIT_LOG, else <var>/audit/alias-moves.jsonl."""

    @classmethod
    def from_config(cls, cfg: _RegistryConfig) -> RegistrySettings:
        """The settings of a loaded configuration (`config.Config`)."""
        return cls(tracking_uri=cfg.mlflow_tracking_uri,
                   artifact_root=cfg.mlflow_artifact_root, audit_log=cfg.alias_audit_log)

    @classmethod
    def from_env(cls) -> RegistrySettings:
        """The settings the environment gives now: for entry points, and for registry calls
        made without settings (tests, a Python shell)."""
        from config import get_config

        return cls.from_config(get_config())
