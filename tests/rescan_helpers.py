"""Media and results stored for the rescan tests (selection in storage/, the steps in steps/)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from config import get_config
from storage.db import get_db
from storage.media import insert_media
from storage.results import upsert_result

CHAMPIONS = {"image": ("detector-image", "3"), "text": ("detector-text", "1")}


def stored_media(modality: str = "image", owner: str = "u1", created_at: datetime | None = None
           ) -> str:
    path = get_config().media_root / "cd" / modality
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")
    doc = {"owner": owner, "sha256": "cd" * 32, "modality": modality, "filename": "x",
           "size": 1, "path": f"cd/{modality}"}
    if created_at is not None:
        doc["created_at"] = created_at
    return insert_media(get_db(), doc)


def stored_result(media_id: str, job: str, name: str, version: str, minutes: int = 0) -> None:
    upsert_result(get_db(), {
        "job_id": job, "media_id": media_id, "score": 0.5, "verdict": "uncertain",
        "model": {"name": name, "version": version},
        "created_at": datetime.now(UTC) + timedelta(minutes=minutes),
    })
