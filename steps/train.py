"""Training steps: prepare data -> train -> evaluate -> register -> promote if better.

`evaluate` scores the candidate *and the current champion* on the candidate's held-out split
(the same media, the same features), so the gate (`models.registry.promotion.decide`) compares
like with like; `promote` runs that gate (`models.registry.promotion.promote_if_better`).
"""

import json
import logging
from typing import Annotated, Any

from hera.workflows import Parameter, script

from config import get_config
from models.files import atomic_write_text
from models.registry.settings import RegistrySettings
from storage.audit import record_workflow_audit
from storage.paths import Volumes, safe_id

# No `from __future__ import annotations` in step modules: Hera reads the live annotations.

log = logging.getLogger(__name__)

EVALUATION_FILE = "{modality}-evaluation.json"
"""The evaluate step's report, written beside the weights and logged to the version's run."""


def parse_bool(value: Any) -> bool:
    """A workflow parameter as a bool: Hera passes `false` as False but `False` as a string."""
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("1", "true", "yes", "on")


@script(constructor="runner")
def prepare(
    modality: str, seed: int = 0, quick: bool = False, run_id: str = "local"
) -> Annotated[str, Parameter(name="data_path")]:
    """Generate and featurise `modality`'s seeded data set
    (models.training.feature_cache.load_or_prepare, cached under VAR_DIR) into
    `<SCRATCH_ROOT>/<run_id>/<modality>-data.npz`; its path."""
    from models import MODALITIES
    from models.training.feature_cache import load_or_prepare
    from models.training.prepared import save_prepared
    from models.training.threads import single_thread

    if modality not in MODALITIES:
        raise ValueError(f"unknown modality {modality!r}")
    cfg = get_config()
    out_dir = Volumes.from_config(cfg).job_scratch(run_id)
    out_dir.mkdir(parents=True, exist_ok=True)
    with single_thread():
        prepared = load_or_prepare(cfg.var_dir / "cache", modality, int(seed), parse_bool(quick))
    return str(save_prepared(out_dir / f"{modality}-data.npz", prepared))


@script(constructor="runner")
def train(
    modality: str, data_path: str, run_id: str = "local"
) -> Annotated[str, Parameter(name="weights_path")]:
    """Train `modality` on the prepared data (models.training.baseline.train_prepared) into
    `<SCRATCH_ROOT>/<run_id>/<modality>.pt`; its path (the metrics ride inside it)."""
    from models.registry.promotion import AUC_METRIC
    from models.training.baseline import train_prepared
    from models.training.prepared import load_prepared
    from models.training.threads import single_thread

    cfg = get_config()
    volumes = Volumes.from_config(cfg)
    prepared = load_prepared(volumes.scratch_file(data_path))
    if prepared.modality != modality:
        raise ValueError(f"{data_path} holds {prepared.modality} data, not {modality}")
    out_dir = volumes.job_scratch(run_id)
    with single_thread():
        metrics = train_prepared(prepared, out_dir, cache_dir=cfg.var_dir / "cache")
    log.info("trained %s: held-out AUC %s", modality, metrics.get(AUC_METRIC))
    return str(out_dir / f"{modality}.pt")


@script(constructor="runner")
def evaluate(
    modality: str, weights_path: str, data_path: str
) -> Annotated[str, Parameter(name="evaluation_path")]:
    """Score the candidate and the current champion on the candidate's held-out split
    (`models.registry.promotion.evaluate_candidate`); the report's path (JSON beside the
    weights)."""
    from models.registry.promotion import evaluate_candidate
    from models.training.prepared import load_prepared
    from models.training.threads import single_thread

    cfg = get_config()
    volumes = Volumes.from_config(cfg)
    weights = volumes.scratch_file(weights_path)
    with single_thread():
        report = evaluate_candidate(modality, weights,
                                    load_prepared(volumes.scratch_file(data_path)),
                                    RegistrySettings.from_config(cfg))
    path = atomic_write_text(weights.with_name(EVALUATION_FILE.format(modality=modality)),
                             json.dumps(report, indent=2, sort_keys=True, default=str) + "\n")
    champ = report["champion"]
    log.info("evaluated %s: candidate AUC %s, champion %s", modality,
             report["candidate"]["auc"], champ and (champ["version"], champ["auc"]))
    return str(path)


@script(constructor="runner")
def register(
    modality: str, weights_path: str, run_id: str = "", evaluation_path: str = ""
) -> Annotated[str, Parameter(name="version")]:
    """Register the weights as a new version of the modality's model (not champion); the
    version. `register_weights` logs the checkpoint's metrics to the version's run, and the
    evaluate step's report is logged there as an artifact."""
    from models.registry.client import log_version_artifact, register_weights

    cfg = get_config()
    registry, volumes = RegistrySettings.from_config(cfg), Volumes.from_config(cfg)
    weights = volumes.scratch_file(weights_path)
    note = f"trained by workflow {safe_id(run_id, 'run_id')}" if run_id else "trained"
    version = register_weights(modality, weights, registry, champion=False, description=note)
    if evaluation_path:
        log_version_artifact(modality, version, volumes.scratch_file(evaluation_path),
                             "evaluation", registry)
    return version


@script(constructor="runner")
def promote(
    modality: str, version: str, evaluation_path: str = ""
) -> Annotated[str, Parameter(name="decision")]:
    """Move `champion` to `version` only when it beats the champion's held-out AUC by more than
    `models.registry.promotion.PROMOTION_MARGIN` (or there is no champion), both scored on the
    candidate's held-out split where the evaluate step could; the decision JSON, also tagged on
    the version."""
    from models.registry.promotion import promote_if_better

    cfg = get_config()
    volumes = Volumes.from_config(cfg)
    same_set = None
    if evaluation_path:
        same_set = json.loads(volumes.scratch_file(evaluation_path).read_text())
    decision = promote_if_better(modality, str(version), same_set,
                                 RegistrySettings.from_config(cfg), record_workflow_audit)
    text = json.dumps(decision, sort_keys=True)
    log.info("promotion %s", text)
    return text
