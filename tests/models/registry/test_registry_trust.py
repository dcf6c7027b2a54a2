"""Models are data: pickled artifacts are refused, digests are checked, alias moves audited."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from mlflow import MlflowClient

from config import Config
from models.registry import client as registry
from models.registry import promotion
from models.registry.alias_audit import read_moves
from models.registry.artifact_guard import UntrustedArtifactError
from models.registry.settings import RegistrySettings


class _Payload:
    """Unpickling this object writes `marker`: what a hostile model file would do."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.write_text, (self.marker, "code ran"))


def _mlflow(cfg: Config) -> MlflowClient:
    return MlflowClient(cfg.mlflow_tracking_uri, registry_uri=cfg.mlflow_tracking_uri)


def _version_with(cfg: Config, folder: Path, modality: str, tags: dict[str, str]) -> str:
    """Register `folder` as a version of `modality` directly (as anyone with MLflow could)."""
    client = _mlflow(cfg)
    experiment = client.create_experiment(
        f"by-hand-{folder.name}", artifact_location=(folder.parent / "store").as_uri())
    run = client.create_run(experiment)
    for path in folder.iterdir():
        client.log_artifact(run.info.run_id, str(path), registry.ARTIFACT_DIR)
    try:
        client.create_registered_model(registry.MODEL_NAMES[modality])
    except Exception:
        pass
    mv = client.create_model_version(registry.MODEL_NAMES[modality],
                                     f"{run.info.artifact_uri}/{registry.ARTIFACT_DIR}",
                                     run_id=run.info.run_id, tags=tags)
    return str(mv.version)


def test_a_pickled_weights_file_with_its_digest_is_refused(fresh_mlflow: Config,
                                                           tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    folder = tmp_path / "art"
    folder.mkdir()
    torch.save({"format": "x", "payload": _Payload(marker)}, folder / "image.pt")
    torch.load(folder / "image.pt", weights_only=False)  # the payload is live ...
    assert marker.read_text() == "code ran"
    marker.unlink()
    version = _version_with(fresh_mlflow, folder, "image",
                            {"weights_sha256": registry._sha256(folder / "image.pt")})
    with pytest.raises(UntrustedArtifactError, match="not a weights-only state dict"):
        registry.load_version("image", version)
    assert not marker.exists()  # ... and loading through the registry never ran it


def test_an_mlflow_pytorch_model_is_refused_unopened(fresh_mlflow: Config,
                                                     tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    folder = tmp_path / "art"
    (folder / "data").mkdir(parents=True)
    (folder / "MLmodel").write_text("flavors:\n  pytorch: {model_data: data}\n")
    torch.save(_Payload(marker), folder / "data" / "model.pth")
    version = _version_with(fresh_mlflow, folder, "image", {})
    with pytest.raises(UntrustedArtifactError, match="unexpected artifact files"):
        registry.load_version("image", version)
    assert not marker.exists()


def test_a_digest_mismatch_stops_loading(fresh_mlflow: Config, tmp_path: Path) -> None:
    weights = tmp_path / "w"
    weights.mkdir()
    shutil.copy(registry.WEIGHTS_DIR / "image.pt", weights / "image.pt")
    version = registry.register_weights("image", weights / "image.pt", champion=False)
    client = _mlflow(fresh_mlflow)
    source = client.get_model_version("detector-image", version).source
    stored = Path(source.removeprefix("file://")) / "image.pt"
    assert registry.load_version("image", version).version == version
    registry.clear_cache()
    stored.write_bytes(stored.read_bytes() + b"\0")  # the artifact store is changed
    with pytest.raises(UntrustedArtifactError, match="does not match the registered"):
        registry.load_version("image", version)
    client.delete_model_version_tag("detector-image", version, "weights_sha256")
    with pytest.raises(UntrustedArtifactError, match="no weights_sha256"):
        registry.load_version("image", version)


def test_every_alias_move_is_audited(fresh_mlflow: Config, tmp_path: Path,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    log = tmp_path / "audit.jsonl"
    monkeypatch.setenv("ALIAS_AUDIT_LOG", str(log))
    first = registry.register_weights("image", registry.WEIGHTS_DIR / "image.pt")
    second = registry.register_weights("image", registry.WEIGHTS_DIR / "image.pt",
                                       champion=False)
    promotion.promote("detector-image", second)
    moves = read_moves(log)
    assert [(m["from"], m["to"]) for m in moves] == [(None, first), (first, second)]
    assert moves[1]["reason"] == "promoted by hand" and moves[1]["actor"]
    assert all(m["model"] == "detector-image" and m["alias"] == "champion" for m in moves)


def test_alias_moves_go_to_the_audit_log_of_the_settings(fresh_mlflow: Config,
                                                         tmp_path: Path) -> None:
    elsewhere = replace(RegistrySettings.from_config(fresh_mlflow),
                        audit_log=tmp_path / "elsewhere.jsonl")
    version = registry.register_weights("image", registry.WEIGHTS_DIR / "image.pt", elsewhere)
    assert [m["to"] for m in read_moves(elsewhere.audit_log)] == [version]
    assert read_moves(RegistrySettings.from_config(fresh_mlflow).audit_log) == []
