"""Promotion and staleness on a real MLflow registry: a version copied with
`MlflowClient.copy_model_version` and promoted is a new version, so every media scored by the
one before is stale; the move is logged."""

from __future__ import annotations

from mlflow import MlflowClient

from config import Config
from models.registry.aliases import current_champions
from models.registry.promotion import modality_of, promote
from storage import audit
from storage.db import get_db
from storage.media import insert_media
from storage.rescan_select import select
from storage.results import upsert_result


def test_a_promoted_copy_makes_media_stale(fresh_mlflow: Config, tmp_path):
    uri = fresh_mlflow.mlflow_tracking_uri
    client = MlflowClient(uri, registry_uri=uri)
    client.create_registered_model("detector-image")
    weights = tmp_path / "weights"
    weights.mkdir()
    (weights / "image.pt").write_bytes(b"weights")
    client.create_model_version("detector-image", source=str(weights))
    client.set_registered_model_alias("detector-image", "champion", "1")
    copy = client.copy_model_version("models:/detector-image/1", "detector-image")
    assert str(copy.version) == "2"

    path = fresh_mlflow.media_root / "ab" / "p.png"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"png")
    media_id = insert_media(get_db(), {"owner": "u1", "sha256": "ab" * 32, "modality": "image",
                                       "filename": "p.png", "size": 3, "path": "ab/p.png"})
    upsert_result(get_db(), {"job_id": "up", "media_id": media_id, "score": 0.2,
                             "verdict": "authentic",
                             "model": {"name": "detector-image", "version": "1"}})
    assert select(get_db(), current_champions(fresh_mlflow.mlflow_tracking_uri),
                  fresh_mlflow.media_root).items == []

    recorded = []

    def record(action: str, **details: object) -> None:  # what the CLI passes, by admin-1
        recorded.append((action, details))
        audit.record(get_db(), action, user_id="admin-1", address="cli", **details)

    moved = promote("detector-image", "2", record=record)
    assert moved == {"name": "detector-image", "champion": "2", "previous": "1"}
    assert recorded == [("model.promoted", moved)]
    champions = current_champions(fresh_mlflow.mlflow_tracking_uri)
    assert [i["media_id"] for i in select(get_db(), champions,
                                          fresh_mlflow.media_root).items] == [media_id]
    event = get_db().logs.find_one({"event": "model.promoted"})
    assert (event["user_id"], event["champion"], event["previous"]) == ("admin-1", "2", "1")
    assert modality_of("detector-image") == "image" and modality_of("text") == "text"
    assert champions == {"image": ("detector-image", "2")}  # read without torch
