"""The rescan CronWorkflow: select stale media -> fan out over batches -> detect each media.

Every RESCAN_SCHEDULE (default daily 03:00 UTC) Argo starts one Workflow: `select-stale` opens a
rescan job (owner `system`, mode `rescan`) for the media whose latest result was made by an
older model than today's champion and returns them in batches; each batch fans out over its
media running the detect workflow's `detect-one` DAG (preprocess -> infer -> persist, results
under the rescan job's id); the exit handler `finish-rescan` records the end on the job and
removes its scratch folder. `concurrencyPolicy: Forbid`: a run still going skips the next one.
`run_rescan_now(cfg)` runs the same definition once on this machine (the local engine's walker).
"""

from __future__ import annotations

import json
from collections.abc import Callable

from hera.workflows import DAG, CronWorkflow, Parameter

from config import Config, get_config
from workflows.detect import ITEM_FIELDS, DetectSteps, default_steps, detect_one_dag
from workflows.hera_config import configure_hera
from workflows.pod import (
    CLUSTER_NAMES,
    STEP_BACKOFF,
    STEP_RETRIES,
    WORKFLOW_LABEL,
    ClusterNames,
    step_factory,
    workflow_settings,
)
from workflows.registry_identity import SCORER_SECRET, with_registry_identity
from workflows.token_policy import executor_token_only

NAME = "rescan"
DEFAULT_SCHEDULE = "0 3 * * *"
"""Daily at 03:00 in TIMEZONE; RESCAN_SCHEDULE (cron syntax) changes it when rendering."""
TIMEZONE = "UTC"
STARTING_DEADLINE_S = 3600
"""A run missed (controller down at 03:00) still starts within the hour, else waits a day."""
BATCH_SIZE = 50
"""Media per batch: one `rescan-batch` node each, so the UI stays readable for big rescans."""
MAX_MEDIA = 10_000


def rescan_schedule() -> str:
    """RESCAN_SCHEDULE or DEFAULT_SCHEDULE."""
    return get_config().rescan_schedule or DEFAULT_SCHEDULE


def build_rescan_workflow(
    *,
    namespace: str | None = None,
    schedule: str | None = None,
    batch_size: int = BATCH_SIZE,
    max_media: int = MAX_MEDIA,
    retries: int = STEP_RETRIES,
    backoff: str = STEP_BACKOFF,
    names: ClusterNames = CLUSTER_NAMES,
    parallelism: int | None = 8,
    steps: DetectSteps | None = None,
    image: str | None = None,
) -> CronWorkflow:
    """The CronWorkflow `rescan` (entrypoint DAG `rescan`); parameters `batch_size`,
    `max_media` and `engine` (`argo`; the local run passes `local`)."""
    from steps.rescan import finish_rescan, select_stale

    configure_hera(namespace, image)
    step = with_registry_identity(step_factory(retries, backoff, names, NAME), SCORER_SECRET)
    with CronWorkflow(
        name=NAME,
        namespace=namespace,
        schedules=[schedule or rescan_schedule()],
        timezone=TIMEZONE,
        concurrency_policy="Forbid",
        starting_deadline_seconds=STARTING_DEADLINE_S,
        successful_jobs_history_limit=3,
        failed_jobs_history_limit=3,
        entrypoint=NAME,
        arguments=[
            Parameter(name="batch_size", value=str(batch_size)),
            Parameter(name="max_media", value=str(max_media)),
            Parameter(name="engine", value="argo"),
        ],
        **workflow_settings(
            names=names, parallelism=parallelism,
            labels={WORKFLOW_LABEL: NAME, "detector/modality": "mixed"},
        ),
        **executor_token_only(names.service_account),
    ) as w:
        one = detect_one_dag(step, steps or default_steps())
        select, finish = step(select_stale), step(finish_rescan)
        with DAG(name="rescan-batch", inputs=[Parameter(name="job_id"),
                                              Parameter(name="media")]) as batch:
            one(
                name="detect-one",
                with_param="{{inputs.parameters.media}}",
                arguments={
                    "job_id": "{{inputs.parameters.job_id}}",
                    **{f: f"{{{{item.{f}}}}}" for f in ITEM_FIELDS},
                },
            )
        with DAG(name=NAME):
            chosen = select(
                name="select-stale",
                arguments={
                    "batch_size": "{{workflow.parameters.batch_size}}",
                    "max_media": "{{workflow.parameters.max_media}}",
                    "engine": "{{workflow.parameters.engine}}",
                    "workflow_name": "{{workflow.name}}",
                    "workflow_namespace": "{{workflow.namespace}}",
                    "workflow_uid": "{{workflow.uid}}",
                },
            )
            fan_out = batch(
                name="rescan-batch",
                with_param=chosen.get_parameter("batches").value,
                arguments={"job_id": "{{item.job_id}}", "media": "{{item.media}}"},
            )
            chosen >> fan_out
        with DAG(name="exit-handler"):
            finish(name="finish-rescan",
                   arguments={"workflow_uid": "{{workflow.uid}}", "status": "{{workflow.status}}"})
        w.on_exit = "exit-handler"
    return w


def run_rescan_now(
    cfg: Config,
    batch_size: int = BATCH_SIZE,
    max_media: int = MAX_MEDIA,
    workers: int | None = None,
    build: Callable[..., CronWorkflow] = build_rescan_workflow,
) -> str | None:
    """Run the rescan once on this machine and wait for it; the rescan job's id, or None when
    nothing was stale. Raises `workflows.dag_walk.StepFailed` when a step fails for good."""
    from workflows.local_engine import LocalEngine

    engine = LocalEngine(cfg, workflow=build(), workers=workers)
    try:
        run = engine.run_workflow(
            {"batch_size": str(batch_size), "max_media": str(max_media), "engine": "local"}
        )
    finally:
        engine.shutdown()
    chosen = json.loads(run.outputs.get("select-stale", {}).get("batches", "[]"))
    return chosen[0]["job_id"] if chosen else None
