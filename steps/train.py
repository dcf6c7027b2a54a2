"""Training steps: train one modality -> register the weights -> promote them if they beat the
champion on the held-out evaluation.

The promotion gate compares the stored held-out AUC (`test_auc`, logged to the version's MLflow
run by `models.registry.register_weights` and kept in the .pt's metrics) of the candidate with the
champion's. When the two were evaluated on different held-out sets (another feature_version, data
seed, quick recipe or test-set size) the figures are still compared as stored - re-evaluating the
champion on the candidate's held-out set is out of scope - and the decision's reason says so.
"""

import json
import logging
import tempfile
from pathlib import Path
from typing import Annotated, Any

from hera.workflows import Parameter, script

from steps.scratch import job_scratch, safe_id, scratch_file

# No `from __future__ import annotations` in step modules: Hera reads the live annotations.

log = logging.getLogger(__name__)

AUC_METRIC = "test_auc"
"""The held-out (test split) media-level AUC written by `models.train`."""

PROMOTION_MARGIN = 0.005
"""A candidate must beat the champion's held-out AUC by more than this to take the alias."""

DECISION_TAG = "promotion_decision"
"""Model-version tag holding the decision JSON (on the candidate version)."""

HELD_OUT_KEYS = ("feature_version", "seed", "quick", "n_test_media")
"""What identifies the held-out set a figure was measured on; differences are reported."""


def should_promote(
    candidate_auc: float | None, champion_auc: float | None, margin: float = PROMOTION_MARGIN
) -> bool:
    """The gate: no champion figure (no champion) -> True; no candidate figure -> False;
    otherwise True only for a strict improvement larger than `margin`."""
    if candidate_auc is None:
        return False
    if champion_auc is None:
        return True
    return candidate_auc - champion_auc > margin


def flag(value: Any) -> bool:
    """A workflow parameter as a bool: Hera passes `false` as False but `False` as a string."""
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def _number(value: Any) -> float | None:
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


def version_evaluation(modality: str, version: str) -> dict[str, Any]:
    """The stored held-out figures of one registered version: `auc` plus HELD_OUT_KEYS, from
    the version's MLflow run metrics, else from the metrics inside its weights file."""
    from models.registry import MODEL_NAMES, _client

    client = _client()
    name = MODEL_NAMES[modality]
    mv = client.get_model_version(name, str(version))
    tags = dict(mv.tags or {})
    metrics: dict[str, Any] = {}
    if mv.run_id:
        metrics = dict(client.get_run(mv.run_id).data.metrics)
    feature_version = tags.get("feature_version")
    if AUC_METRIC not in metrics:
        ckpt = _version_checkpoint(client, name, str(version), modality)
        if ckpt is not None:
            metrics = {**ckpt.get("metrics", {}), **metrics}
            feature_version = feature_version or str(ckpt.get("feature_version"))
    found = {
        "auc": _number(metrics.get(AUC_METRIC)),
        "feature_version": feature_version,
        "seed": _number(metrics.get("seed")),
        "quick": _number(metrics.get("quick")),
        "n_test_media": _number(metrics.get("n_test_media")),
    }
    return found


def _version_checkpoint(client: Any, name: str, version: str, modality: str) -> dict | None:
    import mlflow.artifacts

    from models.checkpoint import load_checkpoint

    try:
        uri = client.get_model_version_download_uri(name, version)
        with tempfile.TemporaryDirectory() as tmp:
            local = Path(mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=tmp))
            weights = local / f"{modality}.pt" if local.is_dir() else local
            return load_checkpoint(weights) if weights.is_file() else None
    except Exception as exc:  # noqa: BLE001 - a foreign model: no stored figures
        log.warning("%s v%s: no readable checkpoint (%s)", name, version, exc)
        return None


def decide(
    modality: str,
    candidate: str,
    champion: str | None,
    cand_eval: dict[str, Any],
    champ_eval: dict[str, Any] | None,
    margin: float = PROMOTION_MARGIN,
) -> dict[str, Any]:
    """The decision dict {modality, candidate, champion, candidate_auc, champion_auc,
    promoted, reason} (pure: the figures are given)."""
    cand_auc = cand_eval.get("auc")
    champ_auc = champ_eval.get("auc") if champ_eval else None
    decision = {"modality": modality, "candidate": str(candidate), "champion": champion,
                "candidate_auc": cand_auc, "champion_auc": champ_auc, "margin": margin}
    if champion is None:
        promoted = should_promote(cand_auc, None, margin)
        reason = "no champion" if promoted else "no champion, but the candidate has no held-out AUC"
    elif str(champion) == str(candidate):
        promoted, reason = False, "the candidate is the champion already"
    elif cand_auc is None:
        promoted, reason = False, f"the candidate has no stored held-out {AUC_METRIC}"
    elif champ_auc is None:
        promoted = False
        reason = (f"the champion v{champion} has no stored held-out {AUC_METRIC}: not compared; "
                  "promote by hand (detector promote) if wanted")
    else:
        promoted = should_promote(cand_auc, champ_auc, margin)
        verb = "beats" if promoted else "does not beat"
        reason = (f"held-out AUC {cand_auc:.4f} {verb} the champion's {champ_auc:.4f} "
                  f"by more than {margin}")
        differ = [k for k in HELD_OUT_KEYS if k in cand_eval and k in (champ_eval or {})
                  and cand_eval[k] != champ_eval[k]]
        if differ:
            shown = ", ".join(f"{k} {champ_eval[k]} -> {cand_eval[k]}" for k in differ)
            reason += (f"; evaluated on different held-out sets ({shown}): stored figures "
                       "compared, re-evaluating the champion is out of scope")
    decision.update(promoted=promoted, reason=reason)
    return decision


@script(constructor="runner")
def train(
    modality: str, seed: int = 0, quick: bool = False, run_id: str = "local"
) -> Annotated[str, Parameter(name="weights_path")]:
    """Train `modality` (models.train.train_modality) into `<SCRATCH_ROOT>/<run_id>/`; the .pt
    path (its metrics, held-out AUC included, ride inside it)."""
    from models import MODALITIES
    from models.train import train_modality

    if modality not in MODALITIES:
        raise ValueError(f"unknown modality {modality!r}")
    out_dir = job_scratch(run_id)
    out_dir.mkdir(parents=True, exist_ok=True)
    metrics = train_modality(modality, out_dir, seed=int(seed), quick=flag(quick))
    log.info("trained %s: held-out AUC %s", modality, metrics.get(AUC_METRIC))
    return str(out_dir / f"{modality}.pt")


@script(constructor="runner")
def register(
    modality: str, weights_path: str, run_id: str = ""
) -> Annotated[str, Parameter(name="version")]:
    """Register the weights as a new version of the modality's model (not champion); the
    version. `register_weights` logs the checkpoint's metrics to the version's run."""
    from models.registry import register_weights

    weights = scratch_file(weights_path)
    note = f"trained by workflow {safe_id(run_id, 'run_id')}" if run_id else "trained"
    return register_weights(modality, weights, champion=False, description=note)


@script(constructor="runner")
def promote(modality: str, version: str) -> Annotated[str, Parameter(name="decision")]:
    """Move `champion` to `version` only when it beats the champion's held-out AUC by more than
    PROMOTION_MARGIN (or there is no champion); the decision JSON, also tagged on the version."""
    from models import promotion
    from models.registry import MODEL_NAMES, _client, champion_version

    champion = champion_version(modality)
    cand_eval = version_evaluation(modality, version)
    champ_eval = version_evaluation(modality, champion) if champion is not None else None
    decision = decide(modality, version, champion, cand_eval, champ_eval)
    if decision["promoted"]:
        promotion.promote(MODEL_NAMES[modality], str(version))
    text = json.dumps(decision, sort_keys=True)
    _client().set_model_version_tag(MODEL_NAMES[modality], str(version), DECISION_TAG, text)
    log.info("promotion %s", text)
    return text
