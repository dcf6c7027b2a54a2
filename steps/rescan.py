"""Rescan steps: select the media whose newest result is not by today's champion, open (or
fill) the rescan job, and close it with its summary (the detect steps rescore in between)."""

import json
import shutil
from datetime import UTC, datetime
from typing import Annotated

from hera.workflows import Parameter, script

from config import get_config
from models.files import atomic_write_text
from storage.paths import Volumes
from storage.rescan_select import MAX_MEDIA, Filters, batches, select
from storage.rescans import rescan_pointer

# No `from __future__ import annotations` in step modules: Hera reads the live annotations.


@script(constructor="runner")
def select_stale(
    batch_size: int,
    max_media: int = MAX_MEDIA,
    engine: str = "argo",
    workflow_name: str = "",
    workflow_namespace: str = "",
    workflow_uid: str = "",
    job_id: str = "",
    modality: str = "",
    since: str = "",
    media_ids: str = "",
) -> Annotated[str, Parameter(name="batches")]:
    """Fill the rescan job `job_id` (or open one, owner `system`, mode `rescan`) with the stale
    media and return them as a JSON list of batches {job_id, media: [{media_id, modality,
    media_path}]}. Stale media whose bytes are gone go to the job's `missing`. `[]` and no job
    when nothing is stale and no job was given. The job id is kept on scratch for
    `finish_rescan`."""
    from models.registry.aliases import current_champions
    from storage.db import get_db
    from storage.jobs import update_job
    from storage.rescans import open_rescan

    cfg = get_config()
    db = get_db(cfg.mongo_uri, cfg.mongo_db)
    filters = Filters.parse(modality, since, media_ids)
    chosen = select(db, current_champions(cfg.mlflow_tracking_uri), cfg.media_root, filters,
                    max_media)
    if not job_id and not chosen.items and not chosen.missing:
        return "[]"
    if not job_id:
        job_id = open_rescan(db, engine, filters.as_parameters())["job_id"]
    ref = {"engine": engine, "name": workflow_name, "namespace": workflow_namespace,
           "uid": workflow_uid}
    update_job(db, job_id, status="running", started_at=datetime.now(UTC), engine=engine,
               engine_ref=ref, media_ids=[i["media_id"] for i in chosen.items],
               missing=chosen.missing, batch_size=batch_size, from_versions=chosen.counts())
    if workflow_uid:
        atomic_write_text(rescan_pointer(cfg.scratch_root, workflow_uid), job_id)
    return json.dumps(
        [{"job_id": job_id, "media": batch} for batch in batches(chosen.items, batch_size)]
    )


@script(constructor="runner")
def finish_rescan(workflow_uid: str, status: str, job_id: str = "") -> None:
    """The exit handler: close the job `select_stale` filled (or `job_id`, when selection never
    ran) with its summary: `succeeded` when some media were rescored and the others failed on
    their own (one unreadable file fails only itself; the error says how many), `failed` when
    selection did not run or every media failed; remove the job's scratch folder."""
    from storage.db import get_db
    from storage.jobs import get_job, update_job
    from storage.rescans import summary

    cfg = get_config()
    volumes = Volumes.from_config(cfg)
    pointer = rescan_pointer(volumes.scratch_root, workflow_uid) if workflow_uid else None
    if pointer is not None and pointer.exists():
        job_id = pointer.read_text().strip()
    if not job_id:
        return
    db = get_db(cfg.mongo_uri, cfg.mongo_db)
    job = get_job(db, job_id)
    if job is None:
        return
    counts = summary(db, job, finished=True)
    selected_ran = pointer is not None and pointer.exists()
    failed, rescored = counts["failed"], counts["rescored"]
    ok = selected_ran and (rescored > 0 or not failed) and (status == "Succeeded" or failed)
    error = None
    if not ok:
        error = (f"all {failed} media failed" if selected_ran and failed
                 else f"rescan workflow {status}")
    elif failed:
        error = f"{counts['failed']} of {len(job.get('media_ids') or [])} media failed"
    update_job(db, job_id, status="succeeded" if ok else "failed", error=error,
               summary=counts, finished_at=datetime.now(UTC))
    shutil.rmtree(volumes.job_scratch(job_id), ignore_errors=True)
    if pointer is not None:
        pointer.unlink(missing_ok=True)
