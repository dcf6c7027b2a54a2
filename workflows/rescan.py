"""The rescan CronWorkflow: select stale media -> fan out over batches -> detect each media.

Every RESCAN_SCHEDULE (default daily 03:00 UTC) Argo starts one Workflow (on one machine the
scheduler of `detector serve` does, `workflows.scheduler`): `select-stale` fills a rescan job
(the one named by parameter `job_id`, else a new one, owner `system`, mode `rescan`) with the
media whose newest result was made by another model version than today's champion (filters:
parameters `modality`, `since`, `media_ids`) and returns them in batches; each batch fans out
over its media running the detect workflow's `detect-one` DAG (preprocess -> infer -> persist,
results under the rescan job's id; `continueOn: failed`, so one media's failure is its own);
the exit handler `finish-rescan` writes the job's summary and removes its scratch folder.
`concurrencyPolicy: Forbid`: a run still going skips the next one. `run_rescan_now(cfg)` runs
the same definition once on this machine (the local engine's walker).
"""
from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from hera.workflows import DAG, CronWorkflow, Parameter
from hera.workflows.models import ContinueOn

from config import Config, Faults
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

if TYPE_CHECKING:
    from workflows.local.engine import LocalEngine

NAME = "rescan"
DEFAULT_SCHEDULE = "0 3 * * *"
"""Daily at 03:00 in TIMEZONE; RESCAN_SCHEDULE (cron syntax) changes it when rendering."""
TIMEZONE = "UTC"
STARTING_DEADLINE_S = 3600
"""A run missed (controller down at 03:00) still starts within the hour, else waits a day."""
BATCH_SIZE = 50
"""Media per batch: one `rescan-batch` node each, so the UI stays readable for big rescans."""
MAX_MEDIA = 10_000
MEDIA_NODE = re.compile(r"rescan-batch\(\d+\)/detect-one\(\d+\)/")
"""A node of one media's detect steps: its failure is that media's alone."""
RUN_PARAMETERS = ("job_id", "modality", "since", "media_ids")
"""Set per run ("" = unset): a rescan job opened beforehand (the API's, the CLI's), and the
filters (`storage.rescan_select.Filters`: one modality, uploaded since an ISO date, a JSON list of
media ids). The schedule runs with none of them."""


def rescan_schedule(value: str | None) -> str:
    """The cron expression for RESCAN_SCHEDULE `value` (`Config.rescan_schedule`):
    DEFAULT_SCHEDULE when unset or `off` (the CronWorkflow is then rendered suspended)."""
    return DEFAULT_SCHEDULE if not value or value.lower() == "off" else value


def schedule_settings(cfg: Config) -> dict[str, Any]:
    """The `schedule` and `suspend` keywords of `build_rescan_workflow` as `cfg` says
    (RESCAN_SCHEDULE; `off` suspends the CronWorkflow)."""
    return {"schedule": cfg.rescan_schedule, "suspend": not cfg.rescans.schedule_on}


def build_rescan_workflow(
    *,
    faults: Faults,
    namespace: str | None = None,
    schedule: str | None = None,
    suspend: bool = False,
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
    `max_media` and `engine` (`argo`; the local run passes `local`).

    `schedule` (RESCAN_SCHEDULE, see `rescan_schedule`) and `suspend` as `schedule_settings`
    gives them; `faults` caps the retries and sets every step's deadline (`config.Faults`)."""
    from steps.rescan import finish_rescan, select_stale

    configure_hera(namespace, image)
    # imported before the workflow's context opens: a `@script` made inside it would join it
    steps = steps or default_steps()
    step = with_registry_identity(step_factory(retries, backoff, names, NAME, faults),
                                  SCORER_SECRET)
    with CronWorkflow(
        name=NAME,
        namespace=namespace,
        schedules=[rescan_schedule(schedule)],
        timezone=TIMEZONE,
        concurrency_policy="Forbid",
        cron_suspend=True if suspend else None,  # Hera's `suspend` is the workflows' own
        starting_deadline_seconds=STARTING_DEADLINE_S,
        successful_jobs_history_limit=3,
        failed_jobs_history_limit=3,
        entrypoint=NAME,
        arguments=[
            Parameter(name="batch_size", value=str(batch_size)),
            Parameter(name="max_media", value=str(max_media)),
            Parameter(name="engine", value="argo"),
            *[Parameter(name=name, value="") for name in RUN_PARAMETERS],
        ],
        **workflow_settings(
            names=names, parallelism=parallelism,
            labels={WORKFLOW_LABEL: NAME, "detector/modality": "mixed"},
        ),
        **executor_token_only(names.service_account),
    ) as w:
        one = detect_one_dag(step, steps)
        select, finish = step(select_stale), step(finish_rescan)
        with DAG(name="rescan-batch", inputs=[Parameter(name="job_id"),
                                              Parameter(name="media")]) as batch:
            one(
                name="detect-one",
                continue_on=ContinueOn(failed=True),  # one unreadable file fails only itself
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
                    **{n: f"{{{{workflow.parameters.{n}}}}}" for n in RUN_PARAMETERS},
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
                   arguments={"workflow_uid": "{{workflow.uid}}", "status": "{{workflow.status}}",
                              "job_id": "{{workflow.parameters.job_id}}"})
        w.on_exit = "exit-handler"
    return w


def strict_manifests(cron: dict) -> tuple[dict, dict]:
    """The cluster's form of the CronWorkflow (`build_rescan_workflow(...).to_dict()`) under
    Argo's `templateReferencing: Strict`: (WorkflowTemplate `rescan` holding the workflow spec,
    CronWorkflow `rescan` whose workflows only reference it with the default arguments)."""
    spec = dict(cron["spec"])
    workflow_spec = spec.pop("workflowSpec")
    meta = cron["metadata"]
    template = {"apiVersion": cron["apiVersion"], "kind": "WorkflowTemplate",
                "metadata": dict(meta), "spec": workflow_spec}
    reference = {"workflowTemplateRef": {"name": meta["name"]},
                 "arguments": workflow_spec.get("arguments", {})}
    return template, {**cron, "spec": {**spec, "workflowSpec": reference}}


def run_rescan_now(
    cfg: Config,
    batch_size: int = BATCH_SIZE,
    max_media: int = MAX_MEDIA,
    workers: int | None = None,
    build: Callable[..., CronWorkflow] = build_rescan_workflow,
    parameters: dict[str, str] | None = None,
    engine: LocalEngine | None = None,
) -> str:
    """Run the rescan once on this machine, wait for it, and return its job's id.

    `parameters` (RUN_PARAMETERS) may name a job opened beforehand; else one is opened here.
    `engine`: a local engine built with this workflow whose warm workers to use (kept running);
    by default one is started and stopped for this run. A
    media whose steps fail fails only itself (recorded on the job's nodes with its error); a
    failure of selection raises `workflows.local.walk.StepFailed` (the job is closed `failed`)."""
    from storage.db import get_db
    from storage.jobs import set_node
    from storage.rescans import open_rescan
    from workflows.local.engine import LocalEngine
    from workflows.local.walk import StepFailed

    db = get_db(cfg.mongo_uri, cfg.mongo_db)
    given = {k: v for k, v in (parameters or {}).items() if v}
    if not given.get("job_id"):
        filters = {k: given.get(k, "") for k in RUN_PARAMETERS if k != "job_id"}
        given["job_id"] = open_rescan(db, "local", filters)["job_id"]
    job_id = given["job_id"]

    def on_node(node: str, **fields: object) -> None:
        if fields.get("status") == "failed":  # a media's failure, kept with its error
            set_node(db, job_id, node, **fields)

    own = engine is None
    if engine is None:
        engine = LocalEngine(cfg, workflow=build(faults=cfg.faults), workers=workers)
    arguments = {"batch_size": str(batch_size), "max_media": str(max_media), "engine": "local",
                 **given}
    try:
        engine.run_workflow(arguments, on_node=on_node)
    except StepFailed as exc:
        if not MEDIA_NODE.search(exc.node):
            raise
    finally:
        if own:
            engine.shutdown()
    return job_id
