"""Step 3 of detect: write one media's result to MongoDB (one per media and model version, so
retries are safe), noting the verdict it replaced when that differs (`changed_from`)."""

import json
from typing import Annotated

from hera.workflows import Parameter, script

from config import get_config
from storage.paths import Volumes

# No `from __future__ import annotations` in step modules: Hera reads the live annotations.


@script(constructor="runner")
def persist(
    job_id: str, media_id: str, result_path: str
) -> Annotated[str, Parameter(name="media_id")]:
    """Upsert the result at `result_path` for (`job_id`, `media_id`) into MongoDB, with its
    explanation files drawn on the media volume (`storage.evidence.build_result`)."""
    from storage.db import get_db
    from storage.evidence import build_result
    from storage.media import get_media
    from storage.results import latest_result, model_key, note_change, upsert_result

    cfg = get_config()
    volumes = Volumes.from_config(cfg)
    db = get_db(cfg.mongo_uri, cfg.mongo_db)
    media = get_media(db, media_id)
    if media is None:
        raise LookupError(f"media {media_id} not found")
    result = json.loads(volumes.scratch_file(result_path).read_text())
    doc = build_result(volumes.media_root, job_id, media, result)
    previous = latest_result(db, media_id)
    # a new current result unless this model's is current already (a retry keeps it as it was)
    rescore = previous is None or model_key(previous.get("model")) != model_key(doc.get("model"))
    upsert_result(db, note_change(previous, doc), insert_first=rescore,
                  take_over=previous is not None and rescore)
    return media_id
