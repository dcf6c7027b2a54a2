"""Rescan steps: select the media whose newest result is not by today's champion, open (or
fill) the rescan job, and close it with its summary (the detect steps rescore in between)."""

import json
import shutil
from datetime import UTC, datetime
from typing import Annotated

from hera.workflows import Parameter, script

from models.files import atomic_write_text
from steps.rescan_select import (  # noqa: F401 - re-exported
    MAX_MEDIA,
    NO_FILTERS,
    Filters,
    Selection,
    is_stale,
    select,
)
from steps.scratch import job_scratch, media_root, safe_id, scratch_root

# No `from __future__ import annotations` in step modules: Hera reads the live annotations.

ITEM_FIELDS = ("media_id", "modality", "media_path")


MODEL_NAMES = {m: f"detector-{m}" for m in ("image", "audio", "video", "text")}
"""`models.registry.client.MODEL_NAMES` (a test checks they agree): that module imports torch, which
selection does not need."""


_clients: dict[str, object] = {}


def current_champions() -> dict[str, tuple[str, str]]:
    """{modality: (model name, champion version)} for every modality that has a champion, read
    from the registry (MLFLOW_TRACKING_URI) without loading any model."""
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    from config import get_config

    uri = get_config().mlflow_tracking_uri
    client = _clients.get(uri)
    if client is None:  # building a client checks the registry's schema: once per process
        client = _clients[uri] = MlflowClient(uri, registry_uri=uri)
    found = {}
    for modality, name in MODEL_NAMES.items():
        try:
            version = client.get_model_version_by_alias(name, "champion").version
        except MlflowException:
            continue
        found[modality] = (name, str(version))
    return found


def stale_media(db, champions: dict[str, tuple[str, str]], max_media: int = MAX_MEDIA,
                filters: Filters = NO_FILTERS) -> list[dict[str, str]]:
    """Items {media_id, modality, media_path} to rescore (bytes present), oldest result first."""
    return select(db, champions, media_root(), filters, max_media).items


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
    from storage.db import get_db
    from storage.jobs import update_job
    from storage.rescans import open_rescan

    db = get_db()
    filters = Filters.parse(modality, since, media_ids)
    chosen = select(db, current_champions(), media_root(), filters, max_media)
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
        atomic_write_text(_pointer(workflow_uid), job_id)
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

    pointer = _pointer(workflow_uid) if workflow_uid else None
    if pointer is not None and pointer.exists():
        job_id = pointer.read_text().strip()
    if not job_id:
        return
    db = get_db()
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
    shutil.rmtree(job_scratch(job_id), ignore_errors=True)
    if pointer is not None:
        pointer.unlink(missing_ok=True)
