"""Training steps: prepare data -> train -> evaluate -> register -> promote if better.

`evaluate` scores the candidate *and the current champion* on the candidate's held-out test
split (the same media, the same features), so the gate compares like with like. When the champion
cannot be scored there (a user's model that is not a detector checkpoint, other features) or the
champion moved between evaluate and promote, the gate falls back to the stored held-out AUC
(`test_auc`, logged to each version's MLflow run by `models.registry.client.register_weights`)
and the
decision's reason says so, naming any difference between the two held-out sets.
"""

import json
import logging
import tempfile
from pathlib import Path
from typing import Annotated, Any

from hera.workflows import Parameter, script

from models.files import atomic_write_text
from steps.scratch import job_scratch, safe_id, scratch_file

# No `from __future__ import annotations` in step modules: Hera reads the live annotations.

log = logging.getLogger(__name__)

AUC_METRIC = "test_auc"
"""The held-out (test split) media-level AUC written by `models.training.baseline`."""

PROMOTION_MARGIN = 0.005
"""A candidate must beat the champion's held-out AUC by more than this to take the alias."""

DECISION_TAG = "promotion_decision"
"""Model-version tag holding the decision JSON (on the candidate version)."""

HELD_OUT_KEYS = ("feature_version", "seed", "quick", "n_test_media")
EVALUATION_FILE = "{modality}-evaluation.json"
"""The evaluate step's report, written beside the weights and logged to the version's run."""
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
    from models.registry.client import MODEL_NAMES, _client

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
    same_set: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The decision dict {modality, candidate, champion, candidate_auc, champion_auc,
    promoted, reason, compared_on} (pure: the figures are given).

    `same_set` is the evaluate step's report (`evaluate_candidate`): when it scored the current
    champion on the candidate's held-out split, those two AUCs are compared; otherwise the stored
    figures `cand_eval` / `champ_eval` (`version_evaluation`)."""
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


def evaluate_candidate(modality: str, weights: Path, prepared: Any) -> dict[str, Any]:
    """Score the candidate weights and the current champion on the candidate's held-out split:
    {"candidate": figures, "champion": {"version", figures...} | None, "champion_error"}."""
    from models.checkpoint import load_checkpoint
    from models.registry.client import MODEL_NAMES, _client, champion_version
    from models.training.evaluate import score_checkpoint

    report: dict[str, Any] = {"modality": modality, "seed": prepared.seed,
                              "quick": prepared.quick,
                              "candidate": score_checkpoint(load_checkpoint(weights), prepared),
                              "champion": None}
    champion = champion_version(modality)
    if champion is not None:
        ckpt = _version_checkpoint(_client(), MODEL_NAMES[modality], champion, modality)
        try:
            if ckpt is None:
                raise ValueError("not a detector weights checkpoint")
            report["champion"] = {"version": champion, **score_checkpoint(ckpt, prepared)}
        except ValueError as exc:
            report["champion_error"] = f"v{champion}: {exc}"
    return report


@script(constructor="runner")
def prepare(
    modality: str, seed: int = 0, quick: bool = False, run_id: str = "local"
) -> Annotated[str, Parameter(name="data_path")]:
    """Generate and featurise `modality`'s seeded data set
    (models.training.feature_cache.load_or_prepare, cached under VAR_DIR) into
    `<SCRATCH_ROOT>/<run_id>/<modality>-data.npz`; its path."""
    from config import get_config
    from models import MODALITIES
    from models.training.feature_cache import load_or_prepare
    from models.training.prepared import save_prepared
    from models.training.threads import single_thread

    if modality not in MODALITIES:
        raise ValueError(f"unknown modality {modality!r}")
    out_dir = job_scratch(run_id)
    out_dir.mkdir(parents=True, exist_ok=True)
    with single_thread():
        prepared = load_or_prepare(get_config().var_dir / "cache", modality, int(seed),
                                   flag(quick))
    return str(save_prepared(out_dir / f"{modality}-data.npz", prepared))


@script(constructor="runner")
def train(
    modality: str, data_path: str, run_id: str = "local"
) -> Annotated[str, Parameter(name="weights_path")]:
    """Train `modality` on the prepared data (models.training.baseline.train_prepared) into
    `<SCRATCH_ROOT>/<run_id>/<modality>.pt`; its path (the metrics ride inside it)."""
    from config import get_config
    from models.training.baseline import train_prepared
    from models.training.prepared import load_prepared
    from models.training.threads import single_thread

    prepared = load_prepared(scratch_file(data_path))
    if prepared.modality != modality:
        raise ValueError(f"{data_path} holds {prepared.modality} data, not {modality}")
    out_dir = job_scratch(run_id)
    with single_thread():
        metrics = train_prepared(prepared, out_dir, cache_dir=get_config().var_dir / "cache")
    log.info("trained %s: held-out AUC %s", modality, metrics.get(AUC_METRIC))
    return str(out_dir / f"{modality}.pt")


@script(constructor="runner")
def evaluate(
    modality: str, weights_path: str, data_path: str
) -> Annotated[str, Parameter(name="evaluation_path")]:
    """Score the candidate and the current champion on the candidate's held-out split
    (`evaluate_candidate`); the report's path (JSON beside the weights)."""
    from models.training.prepared import load_prepared
    from models.training.threads import single_thread

    weights = scratch_file(weights_path)
    with single_thread():
        report = evaluate_candidate(modality, weights, load_prepared(scratch_file(data_path)))
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
    from models.registry.client import MODEL_NAMES, _client, register_weights

    weights = scratch_file(weights_path)
    note = f"trained by workflow {safe_id(run_id, 'run_id')}" if run_id else "trained"
    version = register_weights(modality, weights, champion=False, description=note)
    if evaluation_path:
        client = _client()
        mv = client.get_model_version(MODEL_NAMES[modality], version)
        client.log_artifact(mv.run_id, str(scratch_file(evaluation_path)), "evaluation")
    return version


@script(constructor="runner")
def promote(
    modality: str, version: str, evaluation_path: str = ""
) -> Annotated[str, Parameter(name="decision")]:
    """Move `champion` to `version` only when it beats the champion's held-out AUC by more than
    PROMOTION_MARGIN (or there is no champion), both scored on the candidate's held-out split
    where the evaluate step could; the decision JSON, also tagged on the version."""
    from models.registry import promotion
    from models.registry.client import MODEL_NAMES, _client, champion_version

    same_set = None
    if evaluation_path:
        same_set = json.loads(scratch_file(evaluation_path).read_text())
    champion = champion_version(modality)
    cand_eval = version_evaluation(modality, version)
    champ_eval = version_evaluation(modality, champion) if champion is not None else None
    decision = decide(modality, version, champion, cand_eval, champ_eval, same_set=same_set)
    if decision["promoted"]:
        promotion.promote(MODEL_NAMES[modality], str(version))
    text = json.dumps(decision, sort_keys=True)
    _client().set_model_version_tag(MODEL_NAMES[modality], str(version), DECISION_TAG, text)
    log.info("promotion %s", text)
    return text
