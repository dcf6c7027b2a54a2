"""MLflow registry client: register versions, find and load each champion, read and tag versions.

Every function takes the registry's `RegistrySettings` (made once by the entry point); without
one it reads them from the environment (tests, a Python shell). Nothing else talks to MLflow's
client directly."""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from models import MODALITIES
from models.checkpoint import WEIGHTS_DIR, load_checkpoint, network_from_checkpoint
from models.registry.alias_audit import move_alias
from models.registry.aliases import ALIAS, MODEL_NAMES, forget_clients, registry_client
from models.registry.artifact_guard import load_state_dict_checkpoint, vetted_weights
from models.registry.settings import RegistrySettings
from models.scoring import LoadedModel

log = logging.getLogger(__name__)

EXPERIMENT = "detector-baselines"
ARTIFACT_DIR = "detector"  # run artifact folder holding `<modality>.pt`
DEFAULT_THRESHOLD = 0.5
DEFAULT_BAND = 0.1

_lock = threading.RLock()
_models: dict[tuple[str, str, str], RegisteredModel] = {}


@dataclass
class RegisteredModel:
    """One registered version ready to score (a `models.scoring.LoadedModel`): `predict(x)`
    gives one synthetic probability per unit."""

    name: str
    version: str
    modality: str
    network: nn.Module
    threshold: float = DEFAULT_THRESHOLD
    uncertain_band: float = DEFAULT_BAND
    temperature: float = 1.0
    media_calibration: tuple[float, float] = (1.0, 0.0)
    text_lm: Any = None  # text: the `HumanLM` this version's features are computed with
    tags: dict[str, str] = field(default_factory=dict)
    batch_size: int = 64

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Calibrated probabilities (sigmoid(logit / temperature)), shape (N,), float64."""
        x = np.asarray(x, dtype=np.float32)
        if len(x) == 0:
            return np.zeros(0, dtype=np.float64)
        out = []
        with torch.inference_mode():
            for i in range(0, len(x), self.batch_size):
                logits = self.network(torch.from_numpy(x[i : i + self.batch_size]))
                out.append(torch.sigmoid(logits.reshape(-1) / self.temperature).double().numpy())
        return np.concatenate(out)

    @property
    def identity(self) -> str:
        """What scores with it: the champion alias at this version."""
        return f"{ALIAS}:{self.version}"

    def members(self) -> list[tuple[str, RegisteredModel]]:
        """A single model is its only member, under the champion alias."""
        return [(ALIAS, self)]

    def predict_members(self, x: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
        """`predict(x)`, and the same as the one member's probabilities."""
        probs = self.predict(x)
        return probs, [probs]


def _version_text_lm(folder: Path, tags: dict[str, str], modality: str) -> Any:
    """A text version's language models (`text-lm.npz` logged beside its weights), checked
    against the digest tagged at registration; None for other modalities and for versions
    registered without the file (they score with the served models, TEXT_LM_PATH). A file
    whose digest differs, or a tagged digest whose file is gone, refuses to load."""
    if modality != "text":
        return None
    from models.features.text_lm import ARTIFACT_NAME, HumanLM

    path, expected = folder / ARTIFACT_NAME, tags.get("text_lm_sha256")
    if not path.is_file():
        if expected:
            raise ValueError(f"the text model's {ARTIFACT_NAME} is missing from its artifacts "
                             f"(tagged text_lm_sha256={expected[:12]}...)")
        return None
    digest = _sha256(path)
    if expected and digest != expected:
        raise ValueError(f"{ARTIFACT_NAME} digest {digest[:12]}... does not match the "
                         f"registered text_lm_sha256 {expected[:12]}...: refusing to load")
    return HumanLM.load(path)


def _calibration_tag(tags: dict[str, str], default: tuple) -> tuple[float, float]:
    """The `media_calibration` tag ("a,b"), else `default` (the weights file's)."""
    try:
        a, b = (float(v) for v in tags["media_calibration"].split(","))
        return a, b
    except (KeyError, ValueError):
        return float(default[0]), float(default[1])


def _settings(registry: RegistrySettings | None) -> RegistrySettings:
    return registry if registry is not None else RegistrySettings.from_env()


def _client(registry: RegistrySettings | None = None) -> Any:
    return registry_client(_settings(registry).tracking_uri)


def _experiment_id(client: Any, registry: RegistrySettings) -> str:
    experiment = client.get_experiment_by_name(EXPERIMENT)
    if experiment is not None:
        return experiment.experiment_id
    location = None
    if not registry.tracking_uri.startswith(("http://", "https://", "databricks")):
        root = registry.artifact_root
        root.mkdir(parents=True, exist_ok=True)
        location = root.as_uri()
    try:
        return client.create_experiment(EXPERIMENT, artifact_location=location)
    except Exception:  # created meanwhile by another process
        experiment = client.get_experiment_by_name(EXPERIMENT)
        if experiment is None:
            raise
        return experiment.experiment_id


def champion_version(modality: str, registry: RegistrySettings | None = None) -> str | None:
    """The version (str) holding the `champion` alias for `modality`, or None."""
    from mlflow.exceptions import MlflowException

    try:
        mv = _client(registry).get_model_version_by_alias(MODEL_NAMES[modality], ALIAS)
    except MlflowException:
        return None
    return str(mv.version)


def register_weights(
    modality: str,
    weights: str | Path,
    registry: RegistrySettings | None = None,
    champion: bool = True,
    description: str = "",
    source: str = "trained",
) -> str:
    """Log a weights file as a run artifact and register it as a new version; returns it.

    The version's tags carry `threshold`, `uncertain_band`, `temperature` and
    `media_calibration` from the file (chosen on out-of-family scores,
    `models.training.cross_validation`). A text model's `text-lm.npz` (the human-text language
    models its features were computed with) is logged beside it and its digest tagged
    `text_lm_sha256`; loading the version checks that digest and scores with those language
    models (`_version_text_lm`).
    """
    registry = _settings(registry)
    client = _client(registry)
    name = MODEL_NAMES[modality]
    ckpt = load_checkpoint(weights)
    if ckpt["modality"] != modality:
        raise ValueError(f"{weights} holds a {ckpt['modality']} model, not {modality}")
    run = client.create_run(_experiment_id(client, registry), run_name=f"register-{modality}")
    run_id = run.info.run_id
    with tempfile.TemporaryDirectory() as tmp:
        staged = Path(tmp) / f"{modality}.pt"
        staged.write_bytes(Path(weights).read_bytes())
        client.log_artifact(run_id, str(staged), ARTIFACT_DIR)
    lm = Path(weights).with_name("text-lm.npz")  # the feature models a text network was fit on
    lm_file = lm if modality == "text" and lm.is_file() else None
    if lm_file:
        client.log_artifact(run_id, str(lm_file), ARTIFACT_DIR)
    for key, value in ckpt["hparams"].items():
        client.log_param(run_id, f"net.{key}", value)
    for key, value in ckpt.get("metrics", {}).items():
        if isinstance(value, int | float):
            client.log_metric(run_id, key, float(value))
    client.set_terminated(run_id)
    from mlflow.exceptions import MlflowException

    try:
        client.create_registered_model(name, description=f"Synthetic-{modality} detector")
    except MlflowException:
        pass  # exists already
    tags = {
        "modality": modality,
        "format": "detector-state-dict",
        "threshold": f"{ckpt['threshold']:.6f}",
        "uncertain_band": f"{ckpt['uncertain_band']:.6f}",
        "temperature": f"{ckpt['temperature']:.6f}",
        "media_calibration": ",".join(f"{v:.6f}" for v in ckpt.get("media_calibration",
                                                                   (1.0, 0.0))),
        "feature_version": str(ckpt["feature_version"]),
        "source": source,  # "baseline": the committed weights, replaced when they change
        "weights_sha256": _sha256(Path(weights)),
    }
    if lm_file:
        tags["text_lm_sha256"] = _sha256(lm_file)
    mv = client.create_model_version(
        name, f"{run.info.artifact_uri}/{ARTIFACT_DIR}", run_id=run_id, tags=tags,
        description=description,
    )
    version = str(mv.version)
    if champion:
        move_alias(client, name, ALIAS, version, reason=f"registered ({source})",
                   audit_log=registry.audit_log)
    return version


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _stale_baseline(modality: str, version: str, weights: Path,
                    registry: RegistrySettings) -> bool:
    """Whether the champion is a committed baseline whose weights file has changed since."""
    tags = _client(registry).get_model_version(MODEL_NAMES[modality], version).tags or {}
    return tags.get("source") == "baseline" and tags.get("weights_sha256") != _sha256(weights)


def ensure_baselines(
    registry: RegistrySettings | None = None, weights_dir: str | Path = WEIGHTS_DIR
) -> dict[str, str]:
    """Make the committed `models/weights/<modality>.pt` the champion where it should be.

    A name with no champion gets the baseline. A champion that is an older baseline (the
    weights file in the repository changed, e.g. after `git pull`) is replaced by a new version
    of the current file, since old weights may not fit today's features. A champion that is not
    a baseline (trained by the workflow or promoted by hand) is left alone. Idempotent; returns
    `{modality: champion version}`.
    """
    registry = _settings(registry)
    versions = {}
    with _lock:
        for modality in MODALITIES:
            weights = Path(weights_dir) / f"{modality}.pt"
            version = champion_version(modality, registry)
            if version is None or _stale_baseline(modality, version, weights, registry):
                start = time.perf_counter()
                version = register_weights(
                    modality, weights, registry,
                    description="baseline trained by models.training.baseline", source="baseline",
                )
                log.info("registered %s v%s in %.1fs", MODEL_NAMES[modality], version,
                         time.perf_counter() - start)
            versions[modality] = version
    return versions


def _float_tag(tags: dict[str, str], key: str, default: float) -> float:
    try:
        return float(tags[key])
    except (KeyError, ValueError):
        return default


def load_version(modality: str, version: str,
                 registry: RegistrySettings | None = None) -> RegisteredModel:
    """Load one registered version (cached per process by tracking URI, name and version)."""
    registry = _settings(registry)
    name = MODEL_NAMES[modality]
    key = (registry.tracking_uri, name, str(version))
    with _lock:
        if key in _models:
            return _models[key]
    client = _client(registry)
    mv = client.get_model_version(name, str(version))
    tags = dict(mv.tags or {})
    download_uri = client.get_model_version_download_uri(name, str(version))
    import mlflow.artifacts

    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    with tempfile.TemporaryDirectory() as tmp:
        local = Path(mlflow.artifacts.download_artifacts(artifact_uri=download_uri, dst_path=tmp))
        # Models are data: only the registered state dict (and a text version's language
        # models), each checked against the digest recorded at registration, and read with
        # torch.load(weights_only=True). Pickled models (mlflow.pytorch) are refused.
        weights = vetted_weights(local, modality, tags)
        ckpt = load_state_dict_checkpoint(weights)
        if ckpt["modality"] != modality:
            raise ValueError(f"{name} v{version} holds a {ckpt['modality']} model")
        network = network_from_checkpoint(ckpt)
        defaults = (ckpt["threshold"], ckpt["uncertain_band"], ckpt["temperature"])
        calibration = tuple(ckpt.get("media_calibration", (1.0, 0.0)))
        text_lm = _version_text_lm(weights.parent, tags, modality)
    loaded = RegisteredModel(
        name=name,
        version=str(version),
        modality=modality,
        network=network,
        threshold=_float_tag(tags, "threshold", defaults[0]),
        uncertain_band=_float_tag(tags, "uncertain_band", defaults[1]),
        temperature=_float_tag(tags, "temperature", defaults[2]),
        media_calibration=_calibration_tag(tags, calibration),
        text_lm=text_lm,
        tags=tags,
    )
    with _lock:
        return _models.setdefault(key, loaded)


def load_champion(modality: str, registry: RegistrySettings | None = None) -> RegisteredModel:
    """The current champion of `modality` (alias looked up on every call, weights cached)."""
    version = champion_version(modality, registry)
    if version is None:
        raise LookupError(f"{MODEL_NAMES[modality]} has no {ALIAS!r} version; "
                          "call models.registry.client.ensure_baselines()")
    return load_version(modality, version, registry)


def model_aliases(modality: str, registry: RegistrySettings | None = None) -> dict[str, str]:
    """The scoring aliases of `modality` -> version: `champion` first, then every
    `ensemble-*` alias (sorted); empty when there is no champion."""
    from mlflow.exceptions import MlflowException

    from models.ensemble import ENSEMBLE_PREFIX

    try:
        registered = _client(registry).get_registered_model(MODEL_NAMES[modality])
    except MlflowException:
        return {}
    aliases = {str(k): str(v) for k, v in (registered.aliases or {}).items()}
    if ALIAS not in aliases:
        return {}
    members = sorted(a for a in aliases if a.startswith(ENSEMBLE_PREFIX))
    return {ALIAS: aliases[ALIAS], **{a: aliases[a] for a in members}}


def model_identity(modality: str, registry: RegistrySettings | None = None) -> str | None:
    """`alias:version,...` of what scores `modality` now (None without a champion)."""
    aliases = model_aliases(modality, registry)
    return ",".join(f"{a}:{v}" for a, v in aliases.items()) or None


def load_model(modality: str, registry: RegistrySettings | None = None) -> LoadedModel:
    """What scores `modality`: the champion alone, or an `models.ensemble.Ensemble` of it and
    its `ensemble-*` members when such aliases exist."""
    from models.ensemble import Ensemble

    registry = _settings(registry)
    aliases = model_aliases(modality, registry)
    if not aliases:
        return load_champion(modality, registry)
    members = [(a, load_version(modality, v, registry)) for a, v in aliases.items()]
    if len(members) == 1:
        return members[0][1]
    return Ensemble(members)


def clear_cache() -> None:
    """Forget loaded models and clients (tests, or after a registry is replaced)."""
    with _lock:
        _models.clear()
    forget_clients()


def version_tags(modality: str, version: str,
                 registry: RegistrySettings | None = None) -> dict[str, str]:
    """The tags of one registered version; ValueError when there is no such version."""
    from mlflow.exceptions import MlflowException

    name = MODEL_NAMES[modality]
    try:
        mv = _client(registry).get_model_version(name, str(version))
    except MlflowException as exc:
        raise ValueError(f"{name} has no version {version}") from exc
    return dict(mv.tags or {})


def version_run_metrics(modality: str, version: str,
                        registry: RegistrySettings | None = None) -> dict[str, float]:
    """The metrics logged to the run that registered a version (empty without a run)."""
    client = _client(registry)
    mv = client.get_model_version(MODEL_NAMES[modality], str(version))
    return dict(client.get_run(mv.run_id).data.metrics) if mv.run_id else {}


def version_checkpoint(modality: str, version: str,
                       registry: RegistrySettings | None = None) -> dict[str, Any] | None:
    """A version's weights file read as a checkpoint (its stored metrics, or to score it
    again), or None when it is not one (a user's model that is not a detector checkpoint)."""
    import mlflow.artifacts

    name = MODEL_NAMES[modality]
    try:
        uri = _client(registry).get_model_version_download_uri(name, str(version))
        with tempfile.TemporaryDirectory() as tmp:
            local = Path(mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=tmp))
            weights = local / f"{modality}.pt" if local.is_dir() else local
            return load_checkpoint(weights) if weights.is_file() else None
    except Exception as exc:  # noqa: BLE001 - a foreign model: no stored figures
        log.warning("%s v%s: no readable checkpoint (%s)", name, version, exc)
        return None


def set_version_tag(modality: str, version: str, key: str, value: str,
                    registry: RegistrySettings | None = None) -> None:
    """Tag one registered version."""
    _client(registry).set_model_version_tag(MODEL_NAMES[modality], str(version), key, value)


def log_version_artifact(modality: str, version: str, path: str | Path, folder: str,
                         registry: RegistrySettings | None = None) -> None:
    """Log a file under `folder` of the run that registered a version."""
    client = _client(registry)
    mv = client.get_model_version(MODEL_NAMES[modality], str(version))
    client.log_artifact(mv.run_id, str(path), folder)


def move_champion(modality: str, version: str, reason: str,
                  registry: RegistrySettings | None = None) -> str | None:
    """Point `champion` of `modality` at `version` (audited); the previous champion."""
    registry = _settings(registry)
    moved = move_alias(_client(registry), MODEL_NAMES[modality], ALIAS, str(version), reason,
                       audit_log=registry.audit_log)
    return moved["from"]


def list_models(registry: RegistrySettings | None = None) -> list[dict[str, Any]]:
    """Every version of every detector, newest first: name, version, aliases, tags, created
    (MLflow's milliseconds since the epoch) and description."""
    client = _client(registry)
    rows = []
    for model_name in MODEL_NAMES.values():
        versions = client.search_model_versions(f"name='{model_name}'")
        if not versions:
            continue
        # a search leaves the aliases out: they come from the registered model
        aliases = client.get_registered_model(model_name).aliases or {}  # alias -> version
        for mv in sorted(versions, key=lambda v: int(v.version), reverse=True):
            version = str(mv.version)
            rows.append({"name": model_name, "version": version,
                         "aliases": sorted(a for a, v in aliases.items() if str(v) == version),
                         "tags": dict(mv.tags or {}), "created": mv.creation_timestamp,
                         "description": mv.description or ""})
    return rows
