"""Ensembles: `ensemble-*` aliases join the champion; results show each member and the combined
score."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from mlflow import MlflowClient

from config import Config
from models.ensemble import Ensemble
from models.features import featurize
from models.registry import client as registry
from models.registry.champions import ChampionSet
from models.registry.settings import RegistrySettings
from models.scoring import media_score, score

TEXT = ("The committee met on Tuesday. It agreed to repair the bridge before winter. "
        "Nobody asked who would pay for it, and the minutes do not say.")


def _second_text_version(threshold: str) -> str:
    """Another version of the text model whose outputs differ (its temperature is doubled)."""
    version = registry.register_weights("text", Path(registry.WEIGHTS_DIR) / "text.pt",
                                        champion=False)
    tags = registry.version_tags("text", version)
    registry.set_version_tag("text", version, "temperature", str(2 * float(tags["temperature"])))
    registry.set_version_tag("text", version, "threshold", threshold)
    return version


def _mlflow(cfg: Config) -> MlflowClient:
    """MLflow's own client on the test's registry (ensemble aliases are set by hand)."""
    return MlflowClient(cfg.mlflow_tracking_uri, registry_uri=cfg.mlflow_tracking_uri)


def test_champion_alone_without_ensemble_aliases(fresh_mlflow: Config) -> None:
    registry.ensure_baselines()
    loaded = registry.load_model("text")
    assert not isinstance(loaded, Ensemble)
    assert registry.model_identity("text") == loaded.identity == f"champion:{loaded.version}"
    assert loaded.members() == [("champion", loaded)]
    assert "ensemble" not in score("text", featurize("text", TEXT), loaded)


def test_ensemble_alias_adds_a_member(fresh_mlflow: Config) -> None:
    champion = registry.ensure_baselines()["text"]
    member = _second_text_version("0.3")
    _mlflow(fresh_mlflow).set_registered_model_alias("detector-text", "ensemble-soft", member)

    loaded = registry.load_model("text")
    assert isinstance(loaded, Ensemble)
    assert [a for a, _ in loaded.members()] == ["champion", "ensemble-soft"]
    assert loaded.version == champion  # results stay keyed by the champion
    assert loaded.identity == registry.model_identity("text") == (
        f"champion:{champion},ensemble-soft:{member}")
    assert loaded.threshold == pytest.approx((loaded.champion.threshold + 0.3) / 2)

    features = featurize("text", TEXT)
    result = score("text", features, loaded)
    first, second = result["ensemble"]["members"]
    assert (first["alias"], first["version"]) == ("champion", champion)
    assert (second["alias"], second["version"]) == ("ensemble-soft", member)
    assert first["score"] != second["score"]  # the members really differ
    own = [media_score(m.predict(features["x"]), m) for _, m in loaded.members()]
    assert [first["score"], second["score"]] == pytest.approx(own, abs=1e-6)
    combined = media_score(np.mean([m.predict(features["x"]) for _, m in loaded.members()],
                                  axis=0),
                           loaded)
    assert result["score"] == pytest.approx(combined, abs=1e-6)
    assert result["ensemble"]["combined"]["score"] == result["score"]
    assert result["model"] == {"name": "detector-text", "version": champion}

    _mlflow(fresh_mlflow).delete_registered_model_alias("detector-text", "ensemble-soft")
    assert not isinstance(registry.load_model("text"), Ensemble)


def test_inference_service_reloads_when_a_member_joins(fresh_mlflow: Config) -> None:
    registry.ensure_baselines()
    champions = ChampionSet(RegistrySettings.from_config(fresh_mlflow), modalities=("text",))
    assert champions.check() == {"text": "loaded"}
    assert not isinstance(champions.get("text"), Ensemble)
    member = _second_text_version("0.4")
    _mlflow(fresh_mlflow).set_registered_model_alias("detector-text", "ensemble-b", member)
    assert champions.check() == {"text": "loaded"}  # the champion did not move; a member joined
    assert isinstance(champions.get("text"), Ensemble)
    assert champions.check() == {"text": "unchanged"}


def test_ensemble_reaches_the_stored_and_public_result(fresh_mlflow: Config) -> None:
    from api.serialize import public_result
    from storage.results import result_document

    registry.ensure_baselines()
    member = _second_text_version("0.5")
    _mlflow(fresh_mlflow).set_registered_model_alias("detector-text", "ensemble-c", member)
    result = score("text", featurize("text", TEXT), registry.load_model("text"))
    media = {"media_id": "m1", "owner": "u1", "sha256": "ab", "modality": "text",
             "filename": "a.txt"}
    public = public_result(result_document("j1", media, result))
    assert [m["alias"] for m in public["ensemble"]["members"]] == ["champion", "ensemble-c"]
    assert public["score"] == public["ensemble"]["combined"]["score"]
    alone = result_document("j1", media, {k: v for k, v in result.items() if k != "ensemble"})
    assert "ensemble" not in public_result(alone)
