"""Which media a rescan rescores, on the real embedded MongoDB: stale by the newest result, the
filters, not_applicable media left alone, batches."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from config import Config, get_config
from storage.db import get_db
from storage.rescan_select import NOT_APPLICABLE, Filters, batches, is_stale, select
from storage.results import upsert_result
from tests.rescan_helpers import CHAMPIONS, stored_media, stored_result


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


def test_stale_media_is_judged_by_the_lateststored_result(detector_env: Config):
    old = stored_media()
    stored_result(old, "j1", "detector-image", "2")
    rescored = stored_media()  # old result, then a newer one by the champion: not stale
    stored_result(rescored, "j1", "detector-image", "1")
    stored_result(rescored, "j2", "detector-image", "3", minutes=1)
    current = stored_media()
    stored_result(current, "j1", "detector-image", "3")
    foreign = stored_media("text")  # another model's result counts as stale
    stored_result(foreign, "j1", "someone-else", "1")
    rolled_back = stored_media()  # newer than the champion (a rollback): stale too
    stored_result(rolled_back, "j1", "detector-image", "4")
    audio = stored_media("audio")  # no champion for audio: never selected
    stored_result(audio, "j1", "detector-audio", "0")

    items = _stale(CHAMPIONS)
    assert sorted(i["media_id"] for i in items) == sorted([old, foreign, rolled_back])
    assert {"media_id": old, "modality": "image", "media_path": "cd/image"} in items
    assert len(_stale(CHAMPIONS, max_media=1)) == 1


def test_not_applicable_media_are_not_rescanned(detector_env: Config):
    refused = stored_media()  # refused before any model ran: a new champion would refuse it too
    upsert_result(get_db(), {
        "job_id": "j1", "media_id": refused, "score": None, "verdict": "not_applicable",
        "reason": "The image is blank.", "reason_code": "image_flat",
        "model": {"name": "detector-image", "version": "2"},
    })
    scored = stored_media()
    stored_result(scored, "j1", "detector-image", "2")
    assert [i["media_id"] for i in _stale(CHAMPIONS)] == [scored]


def test_filters_narrow_the_selection(detector_env: Config):
    early = datetime(2026, 1, 1, tzinfo=UTC)
    old_image = stored_media(created_at=early)
    new_image = stored_media()
    text = stored_media("text")
    for media_id in (old_image, new_image):
        stored_result(media_id, "j1", "detector-image", "1")
    stored_result(text, "j1", "detector-text", "0")
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
