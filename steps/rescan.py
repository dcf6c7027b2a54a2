"""Rescan steps: select media scored by an older model than today's champion, open and close the
rescan job (the detect steps rescore each media in between)."""

import json
import shutil
from datetime import UTC, datetime
from typing import Annotated, Any

from hera.workflows import Parameter, script

from steps.scratch import atomic_write_text, job_scratch, safe_id, scratch_root

# No `from __future__ import annotations` in step modules: Hera reads the live annotations.

RESCAN_OWNER = "system"
RESCAN_MODE = "rescan"
MAX_MEDIA = 10_000
"""Media rescored by one run at most; the rest wait for the next run (oldest results first)."""

CANDIDATE_LIMIT = 200_000
"""Results read per modality to find the stale media. `storage.results.results_not_by` returns
every result not by the champion, superseded ones included (a media rescored yesterday still
has its old result), so the limit is generous; a storage query grouping by media would cut it."""

ITEM_FIELDS = ("media_id", "modality", "media_path")
NOT_APPLICABLE = "not_applicable"  # `models.scoring.NOT_APPLICABLE` (steps import no models)


def is_older(version: Any, champion: str) -> bool:
    """Whether a result's model `version` is older than the `champion` version.

    Registry versions are integers; a version that is not one (a foreign model) counts as
    older. A newer version (the champion was rolled back) is not rescanned."""
    try:
        return int(str(version)) < int(champion)
    except ValueError:
        return str(version) != str(champion)


def stale_media(db: Any, champions: dict[str, tuple[str, str]], max_media: int = MAX_MEDIA
                ) -> list[dict[str, str]]:
    """Items {media_id, modality, media_path} whose latest result was made by another model
    name or an older version than `champions[modality] = (model name, version)`."""
    from storage.media import get_media
    from storage.results import latest_result, results_not_by

    items: list[dict[str, str]] = []
    seen: set[str] = set()
    for modality, (name, version) in sorted(champions.items()):
        for old in results_not_by(db, modality, name, version, limit=CANDIDATE_LIMIT):
            media_id = old["media_id"]
            if media_id in seen or not old.get("owner"):
                continue
            seen.add(media_id)
            latest = latest_result(db, media_id, old["owner"]) or old
            model = latest.get("model") or {}
            if model.get("name") == name and not is_older(model.get("version"), version):
                continue  # rescored already: its newest result is by the champion
            if latest.get("verdict") == NOT_APPLICABLE:
                continue  # refused before any model ran: a new model would refuse it too
            media = get_media(db, media_id)
            if media is None:
                continue  # deleted meanwhile
            items.append({"media_id": media_id, "modality": modality, "media_path": media["path"]})
            if len(items) >= max_media:
                return items
    return items


def current_champions() -> dict[str, tuple[str, str]]:
    """{modality: (model name, champion version)} for every modality that has a champion."""
    from models import MODALITIES
    from models.registry import MODEL_NAMES, champion_version

    found = {}
    for modality in MODALITIES:
        version = champion_version(modality)
        if version is not None:
            found[modality] = (MODEL_NAMES[modality], version)
    return found


def batches(items: list[dict[str, str]], batch_size: int) -> list[list[dict[str, str]]]:
    """`items` cut into lists of at most `batch_size`."""
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    return [items[i : i + batch_size] for i in range(0, len(items), batch_size)]


def _pointer(workflow_uid: str):
    return scratch_root() / f"rescan-{safe_id(workflow_uid, 'workflow_uid')}.job"


@script(constructor="runner")
def select_stale(
    batch_size: int,
    max_media: int = MAX_MEDIA,
    engine: str = "argo",
    workflow_name: str = "",
    workflow_namespace: str = "",
    workflow_uid: str = "",
) -> Annotated[str, Parameter(name="batches")]:
    """Open a rescan job (owner `system`, mode `rescan`) for the stale media and return them as
    a JSON list of batches {job_id, media: [{media_id, modality, media_path}]}; `[]` (and no
    job) when nothing is stale. The job id is kept on scratch for `finish_rescan`."""
    from storage.db import get_db
    from storage.jobs import create_job, update_job

    db = get_db()
    items = stale_media(db, current_champions(), max_media)
    if not items:
        return "[]"
    job = create_job(db, RESCAN_OWNER, [i["media_id"] for i in items], engine=engine,
                     mode=RESCAN_MODE)
    ref = {"engine": engine, "name": workflow_name, "namespace": workflow_namespace,
           "uid": workflow_uid}
    update_job(db, job["job_id"], status="running", started_at=datetime.now(UTC),
               engine_ref=ref)
    if workflow_uid:
        atomic_write_text(_pointer(workflow_uid), job["job_id"])
    return json.dumps(
        [{"job_id": job["job_id"], "media": batch} for batch in batches(items, batch_size)]
    )


@script(constructor="runner")
def finish_rescan(workflow_uid: str, status: str) -> None:
    """The exit handler: record the run's end (`status` is Argo's Succeeded/Failed/Error) on the
    job `select_stale` opened, if it opened one, and remove the job's scratch folder."""
    from storage.db import get_db
    from storage.jobs import update_job

    pointer = _pointer(workflow_uid)
    if not pointer.exists():
        return
    job_id = pointer.read_text().strip()
    ok = status == "Succeeded"
    update_job(get_db(), job_id, status="succeeded" if ok else "failed",
               error=None if ok else f"rescan workflow {status}", finished_at=datetime.now(UTC))
    shutil.rmtree(job_scratch(job_id), ignore_errors=True)
    pointer.unlink(missing_ok=True)
