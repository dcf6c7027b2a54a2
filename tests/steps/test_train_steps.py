"""Training steps: the promotion gate as a pure function, and promote() through a real MLflow
registry (a private sqlite one, so the session's champions are never moved)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from config import Config
from models.checkpoint import WEIGHTS_DIR, load_checkpoint
from models.registry.client import champion_version, register_weights, version_tags
from models.registry.promotion import (
    DECISION_TAG,
    PROMOTION_MARGIN,
    decide,
    should_promote,
    version_evaluation,
)
from steps.train import parse_bool, promote


@pytest.mark.parametrize(
    "candidate,champion,expected",
    [
        (0.90, None, True),  # no champion: promote
        (None, None, False),  # nothing measured: never
        (None, 0.80, False),
        (0.90, 0.80, True),  # clearly better
        (0.80, 0.90, False),  # worse
        (0.85, 0.85, False),  # equal is not better
        (0.85 + PROMOTION_MARGIN / 2, 0.85, False),  # better, but within the margin
        (0.85 + PROMOTION_MARGIN * 2, 0.85, True),
    ],
)
def test_should_promote(candidate, champion, expected):
    assert should_promote(candidate, champion, PROMOTION_MARGIN) is expected


def test_should_promote_margin_is_a_parameter():
    assert should_promote(0.86, 0.85, margin=0.0) is True
    assert should_promote(0.86, 0.85, margin=0.05) is False


def test_parse_bool_reads_workflow_parameters():
    assert parse_bool(True) and parse_bool("true") and parse_bool("True") and parse_bool("1")
    assert not parse_bool(False) and not parse_bool("false") and not parse_bool("False")
    assert not parse_bool("0")


def test_decide_prefers_the_champion_rescored_on_the_candidates_split():
    stored_cand = {"auc": 0.95, "seed": 1.0}
    stored_champ = {"auc": 0.90, "seed": 0.0}  # stored figures say: promote
    same_set = {"candidate": {"auc": 0.91, "n_authentic": 40, "n_synthetic": 38},
                "champion": {"version": "1", "auc": 0.93}}  # on one split the champion wins
    d = decide("text", "5", "1", stored_cand, stored_champ, same_set=same_set)
    assert d["promoted"] is False and d["compared_on"] == "candidate's held-out split"
    assert (d["candidate_auc"], d["champion_auc"]) == (0.91, 0.93)
    assert "40 authentic, 38 synthetic" in d["reason"]

    moved = decide("text", "5", "2", stored_cand, stored_champ, same_set=same_set)
    assert moved["compared_on"] == "stored figures"  # the champion moved since evaluate
    assert moved["promoted"] is True and moved["champion_auc"] == 0.90

    foreign = {"candidate": same_set["candidate"], "champion": None,
               "champion_error": "v1: not a detector weights checkpoint"}
    f = decide("text", "5", "1", stored_cand, stored_champ, same_set=foreign)
    assert f["compared_on"] == "stored figures"
    assert "champion not re-scored: v1: not a detector weights checkpoint" in f["reason"]


def test_decide_reports_different_held_out_sets():
    cand = {"auc": 0.95, "feature_version": "2", "seed": 1.0, "quick": 1.0, "n_test_media": 8.0}
    champ = {"auc": 0.90, "feature_version": "2", "seed": 0.0, "quick": 0.0,
             "n_test_media": 576.0}
    d = decide("text", "5", "1", cand, champ)
    assert d["promoted"] is True and d["candidate_auc"] == 0.95 and d["champion_auc"] == 0.90
    assert "different held-out sets" in d["reason"] and "seed 0.0 -> 1.0" in d["reason"]
    same = decide("text", "5", "1", {**champ, "auc": 0.80}, champ)
    assert same["promoted"] is False and "different held-out" not in same["reason"]
    assert "does not beat" in same["reason"]
    assert decide("text", "5", "1", cand, {**champ, "auc": None})["promoted"] is False
    assert decide("text", "5", None, cand, None)["reason"] == "no champion"


def _weights_with_auc(tmp: Path, auc: float) -> Path:
    """The committed text weights with another stored held-out AUC."""
    ckpt = load_checkpoint(WEIGHTS_DIR / "text.pt")
    ckpt["metrics"] = {**ckpt["metrics"], "test_auc": auc}
    path = tmp / f"text-{auc}" / "text.pt"
    path.parent.mkdir(parents=True)
    torch.save(ckpt, path)
    return path


@pytest.fixture
def private_registry(detector_env: Config, tmp_path: Path, monkeypatch) -> str:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setenv("MLFLOW_ARTIFACT_ROOT", str(tmp_path / "artifacts"))
    return uri


def _decision_tag(version: str) -> dict:
    return json.loads(version_tags("text", version)[DECISION_TAG])


def test_promote_through_mlflow(private_registry: str, tmp_path: Path):
    # no champion at all: the first candidate is promoted
    first = register_weights("text", _weights_with_auc(tmp_path, 0.90), champion=False)
    assert champion_version("text") is None
    decision = json.loads(promote(modality="text", version=first))
    assert decision["promoted"] is True and decision["champion"] is None
    assert decision["reason"] == "no champion"
    assert champion_version("text") == first
    assert _decision_tag(first) == decision

    # a worse candidate leaves the alias and says why
    worse = register_weights("text", _weights_with_auc(tmp_path, 0.85), champion=False)
    assert version_evaluation("text", worse)["auc"] == pytest.approx(0.85)
    decision = json.loads(promote(modality="text", version=worse))
    assert decision == _decision_tag(worse)
    assert decision["promoted"] is False and decision["champion"] == first
    assert decision["candidate_auc"] == pytest.approx(0.85)
    assert decision["champion_auc"] == pytest.approx(0.90)
    assert "does not beat" in decision["reason"]
    assert champion_version("text") == first

    # within the margin: still not promoted
    close = register_weights("text", _weights_with_auc(tmp_path, 0.902), champion=False)
    assert json.loads(promote(modality="text", version=close))["promoted"] is False
    assert champion_version("text") == first

    # a better one moves it
    better = register_weights("text", _weights_with_auc(tmp_path, 0.95), champion=False)
    decision = json.loads(promote(modality="text", version=better))
    assert decision["promoted"] is True and decision["champion"] == first
    assert "beats" in decision["reason"]
    assert champion_version("text") == better
