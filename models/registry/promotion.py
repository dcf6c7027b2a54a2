"""Promotion: move the `champion` alias by hand, or when a trained candidate beats the champion.

The gate (`decide`) compares held-out AUCs: the candidate's and the champion's scored on the
candidate's held-out split by the train workflow's evaluate step where it could, otherwise the
stored figures (`test_auc`, logged to each version's MLflow run by
`models.registry.client.register_weights`), and the decision's reason says which, naming any
difference between the two held-out sets. Each move is recorded by the caller's `record`
(`record(action, **details)`, e.g. an audit log in MongoDB): the registry itself stores nothing
but the alias-move log (`models.registry.alias_audit`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from models.registry.client import (
    MODEL_NAMES,
    champion_version,
    move_champion,
    set_version_tag,
    version_checkpoint,
    version_run_metrics,
    version_tags,
)
from models.registry.settings import RegistrySettings

Recorder = Callable[..., None]
"""`record(action, **details)`: stores one audit event (the caller knows where)."""

PROMOTED = "model.promoted"
"""The audit action of a promotion."""

AUC_METRIC = "test_auc"
"""The held-out (test split) media-level AUC written by `models.training.baseline`."""

PROMOTION_MARGIN = 0.005
"""A candidate must beat the champion's held-out AUC by more than this to take the alias."""

DECISION_TAG = "promotion_decision"
"""Model-version tag holding the decision JSON (on the candidate version)."""

HELD_OUT_KEYS = ("feature_version", "seed", "quick", "n_test_media")
"""What identifies the held-out set a figure was measured on; differences are reported."""


def modality_of(name: str) -> str:
    """The modality of a detector's model name (or of the modality itself); ValueError else."""
    for modality, model_name in MODEL_NAMES.items():
        if name in (model_name, modality):
            return modality
    raise ValueError(f"unknown model {name!r}; one of {', '.join(MODEL_NAMES.values())}")


def promote(name: str, version: str, registry: RegistrySettings | None = None,
            record: Recorder | None = None) -> dict[str, Any]:
    """Point `champion` of `name` (e.g. detector-image) at `version`; the previous champion.

    Raises ValueError for an unknown name or version. Services that watch the alias (the
    inference service, the workflow steps) pick the new champion up without a restart. The move
    is recorded with `record(PROMOTED, name=..., champion=..., previous=...)` when given. Media
    whose newest result came from any other version are stale from now on
    (`storage.rescan_select`).
    """
    modality = modality_of(name)
    version_tags(modality, str(version), registry)  # ValueError: no such version
    previous = move_champion(modality, str(version), "promoted by hand", registry)
    moved = {"name": MODEL_NAMES[modality], "champion": str(version), "previous": previous}
    if record is not None:
        record(PROMOTED, **moved)
    return moved


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


def _number(value: Any) -> float | None:
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


def version_evaluation(modality: str, version: str,
                       registry: RegistrySettings | None = None) -> dict[str, Any]:
    """The stored held-out figures of one registered version: `auc` plus HELD_OUT_KEYS, from
    the version's MLflow run metrics, else from the metrics inside its weights file."""
    tags = version_tags(modality, str(version), registry)
    metrics: dict[str, Any] = version_run_metrics(modality, str(version), registry)
    feature_version = tags.get("feature_version")
    if AUC_METRIC not in metrics:
        ckpt = version_checkpoint(modality, str(version), registry)
        if ckpt is not None:
            metrics = {**ckpt.get("metrics", {}), **metrics}
            feature_version = feature_version or str(ckpt.get("feature_version"))
    return {
        "auc": _number(metrics.get(AUC_METRIC)),
        "feature_version": feature_version,
        "seed": _number(metrics.get("seed")),
        "quick": _number(metrics.get("quick")),
        "n_test_media": _number(metrics.get("n_test_media")),
    }


def decide(
    modality: str,
    candidate: str,
    champion: str | None,
    cand_eval: dict[str, Any],
    champ_eval: dict[str, Any] | None,
    margin: float = PROMOTION_MARGIN,
    same_set: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The decision dict {modality, candidate, champion, candidate_auc, champion_auc,
    promoted, reason, compared_on} (pure: the figures are given).

    `same_set` is the evaluate step's report (`evaluate_candidate`): when it scored
    the current champion on the candidate's held-out split, those two AUCs are compared;
    otherwise the stored figures `cand_eval` / `champ_eval` (`version_evaluation`)."""
    fair = (same_set is not None and champion is not None and same_set.get("champion")
            and str(same_set["champion"].get("version")) == str(champion)
            and same_set["champion"].get("auc") is not None)
    if fair:
        cand_eval = {"auc": same_set["candidate"].get("auc")}
        champ_eval = {"auc": same_set["champion"]["auc"]}
    cand_auc = cand_eval.get("auc")
    champ_auc = champ_eval.get("auc") if champ_eval else None
    decision = {"modality": modality, "candidate": str(candidate), "champion": champion,
                "candidate_auc": cand_auc, "champion_auc": champ_auc, "margin": margin,
                "compared_on": "candidate's held-out split" if fair else "stored figures"}
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
                  "promote by hand (detector models promote) if wanted")
    else:
        promoted = should_promote(cand_auc, champ_auc, margin)
        verb = "beats" if promoted else "does not beat"
        reason = (f"held-out AUC {cand_auc:.4f} {verb} the champion's {champ_auc:.4f} "
                  f"by more than {margin}")
        if fair:
            reason += (f"; both scored on the candidate's held-out split "
                       f"({same_set['candidate'].get('n_authentic')} authentic, "
                       f"{same_set['candidate'].get('n_synthetic')} synthetic media)")
        else:
            differ = [k for k in HELD_OUT_KEYS if k in cand_eval and k in (champ_eval or {})
                      and cand_eval[k] != champ_eval[k]]
            why = (same_set or {}).get("champion_error")
            if why:
                reason += f"; stored figures compared (champion not re-scored: {why})"
            if differ:
                shown = ", ".join(f"{k} {champ_eval[k]} -> {cand_eval[k]}" for k in differ)
                reason += f"; evaluated on different held-out sets ({shown})"
    decision.update(promoted=promoted, reason=reason)
    return decision


def promote_if_better(modality: str, version: str, same_set: dict[str, Any] | None = None,
                      registry: RegistrySettings | None = None,
                      record: Recorder | None = None) -> dict[str, Any]:
    """Gate a trained candidate against the current champion (`decide`) and move `champion` to
    it when it wins (`promote`, recorded by `record`); the decision, which is also tagged on
    the version (DECISION_TAG, JSON)."""
    champion = champion_version(modality, registry)
    cand_eval = version_evaluation(modality, version, registry)
    champ_eval = version_evaluation(modality, champion, registry) if champion is not None else None
    decision = decide(modality, version, champion, cand_eval, champ_eval, same_set=same_set)
    if decision["promoted"]:
        promote(MODEL_NAMES[modality], str(version), registry, record)
    set_version_tag(modality, str(version), DECISION_TAG, json.dumps(decision, sort_keys=True),
                    registry)
    return decision


def evaluate_candidate(modality: str, weights: Path, prepared: Any,
                       registry: RegistrySettings | None = None) -> dict[str, Any]:
    """Score the candidate weights and the current champion on the candidate's held-out split:
    {"candidate": figures, "champion": {"version", figures...} | None, "champion_error"}."""
    from models.checkpoint import load_checkpoint
    from models.registry.client import champion_version, version_checkpoint
    from models.training.evaluate import score_checkpoint

    report: dict[str, Any] = {"modality": modality, "seed": prepared.seed,
                              "quick": prepared.quick,
                              "candidate": score_checkpoint(load_checkpoint(weights), prepared),
                              "champion": None}
    champion = champion_version(modality, registry)
    if champion is not None:
        ckpt = version_checkpoint(modality, champion, registry)
        try:
            if ckpt is None:
                raise ValueError("not a detector weights checkpoint")
            report["champion"] = {"version": champion, **score_checkpoint(ckpt, prepared)}
        except ValueError as exc:
            report["champion_error"] = f"v{champion}: {exc}"
    return report
