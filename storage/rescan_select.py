"""Which media a rescan rescores: those whose newest result came from another model version than
today's champion, narrowed by modality, upload date or ids; media whose bytes are gone are
listed apart as missing, never silently skipped."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from storage.results import latest_by_media, model_key

NOT_APPLICABLE = "not_applicable"
"""`models.scoring.NOT_APPLICABLE` (a test checks they agree): that module loads numpy and cv2,
which selecting media does not need (the CLI's `rescan --dry-run`, the API's rescan routes)."""
MAX_MEDIA = 10_000
"""Media rescored by one run at most; the rest wait for the next run (oldest results first)."""


@dataclass(frozen=True)
class Filters:
    """What a rescan may select: one modality, media uploaded since a time, or given ids."""

    modality: str | None = None
    since: datetime | None = None
    media_ids: tuple[str, ...] | None = None

    @classmethod
    def parse(cls, modality: str = "", since: str = "", media_ids: str = "") -> Filters:
        """From workflow parameters: "" means no filter, `media_ids` is a JSON list."""
        ids = json.loads(media_ids) if media_ids else None
        if ids is not None and not (isinstance(ids, list) and all(isinstance(i, str)
                                                                  for i in ids)):
            raise ValueError("media_ids must be a JSON list of strings")
        return cls(modality or None, parse_since(since) if since else None,
                   tuple(ids) if ids is not None else None)

    def as_parameters(self) -> dict[str, str]:
        """The workflow parameters `modality`, `since`, `media_ids` ("" when unset)."""
        return {"modality": self.modality or "",
                "since": self.since.isoformat() if self.since else "",
                "media_ids": json.dumps(list(self.media_ids)) if self.media_ids is not None
                else ""}


NO_FILTERS = Filters()


def parse_since(value: str) -> datetime:
    """An ISO date or date-time; naive ones are UTC. ValueError when it is neither."""
    when = datetime.fromisoformat(value)
    return when if when.tzinfo else when.replace(tzinfo=UTC)


@dataclass
class Selection:
    """Stale media to rescore (`items`: media_id, modality, media_path), the stale media whose
    bytes are gone (`missing`), and the model version each stale media was last scored by."""

    items: list[dict[str, str]] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    versions: dict[str, str] = field(default_factory=dict)
    modalities: dict[str, str] = field(default_factory=dict)

    def counts(self) -> dict[str, dict[str, int]]:
        """{modality: {old model version: stale media}} over items and missing (a dry run)."""
        out: dict[str, dict[str, int]] = {}
        for media_id, version in self.versions.items():
            per = out.setdefault(self.modalities[media_id], {})
            per[version] = per.get(version, 0) + 1
        return out


def is_stale(model: dict[str, Any] | None, champion: tuple[str, str]) -> bool:
    """Whether a result by `model` {name, version} is not the champion's (name, version): any
    other version is stale, older, newer (a rollback) or a copy promoted under a new number."""
    return model_key(model) != champion


def select(db: Any, champions: dict[str, tuple[str, str]], media_root: Path,
           filters: Filters = NO_FILTERS, max_media: int = MAX_MEDIA) -> Selection:
    """The stale media for `champions[modality] = (model name, version)`, oldest result first;
    two queries a modality (media, newest results)."""
    chosen = Selection()
    candidates: list[tuple[Any, dict[str, Any], dict[str, Any]]] = []
    for modality, champion in sorted(champions.items()):
        if filters.modality and modality != filters.modality:
            continue
        query: dict[str, Any] = {"modality": modality}
        if filters.since is not None:
            query["created_at"] = {"$gte": filters.since}
        if filters.media_ids is not None:
            query["media_id"] = {"$in": list(filters.media_ids)}
        media = {m["media_id"]: m for m in db.media.find(
            query, {"_id": 0, "media_id": 1, "path": 1, "modality": 1})}
        if not media:
            continue
        latest = latest_by_media(db, modality, media if filters.media_ids is not None else None)
        for media_id, result in latest.items():
            doc = media.get(media_id)
            if doc is None or result.get("verdict") == NOT_APPLICABLE:
                continue  # deleted, filtered out, or refused before any model ran
            if is_stale(result.get("model"), (champion[0], str(champion[1]))):
                candidates.append((result.get("created_at") or "", result, doc))
    candidates.sort(key=lambda c: (str(c[0]), c[2]["media_id"]))
    for _, result, doc in candidates[:max_media]:
        media_id = doc["media_id"]
        chosen.versions[media_id] = str((result.get("model") or {}).get("version"))
        chosen.modalities[media_id] = doc["modality"]
        if (media_root / doc["path"]).is_file():
            chosen.items.append({"media_id": media_id, "modality": doc["modality"],
                                 "media_path": doc["path"]})
        else:
            chosen.missing.append(media_id)
    return chosen


def batches(items: list[dict[str, str]], batch_size: int) -> list[list[dict[str, str]]]:
    """`items` cut into lists of at most `batch_size`."""
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    return [items[i : i + batch_size] for i in range(0, len(items), batch_size)]
