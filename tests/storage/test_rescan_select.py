"""Which media a rescan rescores, on the real embedded MongoDB: stale by the newest result, the
filters, not_applicable media left alone, batches."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from config import Config, get_config
from storage.db import get_db
from storage.media import insert_media
from storage.rescan_select import NOT_APPLICABLE, Filters, batches, is_stale, select
from storage.results import upsert_result

CHAMPIONS = {"image": ("detector-image", "3"), "text": ("detector-text", "1")}


def _media(modality: str = "image", owner: str = "u1", created_at: datetime | None = None
           ) -> str:
    path = get_config().media_root / "cd" / modality
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")
    doc = {"owner": owner, "sha256": "cd" * 32, "modality": modality, "filename": "x",
           "size": 1, "path": f"cd/{modality}"}
    if created_at is not None:
        doc["created_at"] = created_at
    return insert_media(get_db(), doc)


def _result(media_id: str, job: str, name: str, version: str, minutes: int = 0) -> None:
    upsert_result(get_db(), {
        "job_id": job, "media_id": media_id, "score": 0.5, "verdict": "uncertain",
        "model": {"name": name, "version": version},
        "created_at": datetime.now(UTC) + timedelta(minutes=minutes),
    })


def _stale(champions: dict[str, tuple[str, str]], **kw) -> list[dict[str, str]]:
    return select(get_db(), champions, get_config().media_root, **kw).items


@pytest.mark.parametrize("model,stale", [
    ({"name": "detector-image", "version": "1"}, True),   # older
    ({"name": "detector-image", "version": "3"}, False),  # the champion's
    ({"name": "detector-image", "version": "4"}, True),   # newer: the champion was rolled back
    ({"name": "someone-else", "version": "3"}, True),     # another model
    (None, True),
])
def test_any_other_version_is_stale(model, stale):
    assert is_stale(model, ("detector-image", "3")) is stale


def test_batches():
    items = [{"media_id": str(i)} for i in range(5)]
    assert [len(b) for b in batches(items, 2)] == [2, 2, 1]
    assert batches([], 3) == []
    with pytest.raises(ValueError):
        batches(items, 0)


def test_stale_media_is_judged_by_the_latest_result(detector_env: Config):
    old = _media()
    _result(old, "j1", "detector-image", "2")
    rescored = _media()  # old result, then a newer one by the champion: not stale
    _result(rescored, "j1", "detector-image", "1")
    _result(rescored, "j2", "detector-image", "3", minutes=1)
    current = _media()
    _result(current, "j1", "detector-image", "3")
    foreign = _media("text")  # another model's result counts as stale
    _result(foreign, "j1", "someone-else", "1")
    rolled_back = _media()  # newer than the champion (a rollback): stale too
    _result(rolled_back, "j1", "detector-image", "4")
    audio = _media("audio")  # no champion for audio: never selected
    _result(audio, "j1", "detector-audio", "0")

    items = _stale(CHAMPIONS)
    assert sorted(i["media_id"] for i in items) == sorted([old, foreign, rolled_back])
    assert {"media_id": old, "modality": "image", "media_path": "cd/image"} in items
    assert len(_stale(CHAMPIONS, max_media=1)) == 1


def test_not_applicable_media_are_not_rescanned(detector_env: Config):
    refused = _media()  # refused before any model ran: a new champion would refuse it too
    upsert_result(get_db(), {
        "job_id": "j1", "media_id": refused, "score": None, "verdict": "not_applicable",
        "reason": "The image is blank.", "reason_code": "image_flat",
        "model": {"name": "detector-image", "version": "2"},
    })
    scored = _media()
    _result(scored, "j1", "detector-image", "2")
    assert [i["media_id"] for i in _stale(CHAMPIONS)] == [scored]


def test_filters_narrow_the_selection(detector_env: Config):
    early = datetime(2026, 1, 1, tzinfo=UTC)
    old_image = _media(created_at=early)
    new_image = _media()
    text = _media("text")
    for media_id in (old_image, new_image):
        _result(media_id, "j1", "detector-image", "1")
    _result(text, "j1", "detector-text", "0")
    db = get_db()

    def chosen(**kw) -> list[str]:
        found = select(db, CHAMPIONS, detector_env.media_root, Filters(**kw))
        return sorted(i["media_id"] for i in found.items)

    assert chosen() == sorted([old_image, new_image, text])
    assert chosen(modality="text") == [text]
    assert chosen(since=datetime(2026, 2, 1, tzinfo=UTC)) == sorted([new_image, text])
    assert chosen(media_ids=(old_image, "unknown")) == [old_image]
    params = Filters.parse("image", "2026-02-01", '["a"]')
    assert params.as_parameters() == {"modality": "image", "since": "2026-02-01T00:00:00+00:00",
                                      "media_ids": '["a"]'}
    with pytest.raises(ValueError):
        Filters.parse(media_ids='{"a": 1}')


def test_not_applicable_is_the_scorings_verdict():
    from models.scoring import NOT_APPLICABLE as SCORED

    assert NOT_APPLICABLE == SCORED
