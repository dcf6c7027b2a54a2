"""The training workflow: fan out over modalities; prepare -> train -> evaluate -> register ->
promote for each.

`train` (a Workflow `train-`, or with `template` the WorkflowTemplate `train` in k8s/argo/) has
parameters `modalities` (JSON list), `seed` and `quick`. Per modality the DAG `train-one`
prepares the seeded data set into `<SCRATCH_ROOT>/<workflow uid>/<modality>-data.npz`, trains
into `<modality>.pt` beside it (no retries: a failed training is not cured by running it again),
scores the candidate and the current champion on the candidate's held-out split, registers the
weights as a new (non-champion) version with that report, and promotes it only when it beats the
champion (`models.registry.promotion.decide`); `prepare`, `evaluate`, `register` and
`promote` retry like the detect steps (a volume or MLflow briefly unreachable). The exit
handler removes the scratch folder (the weights are in MLflow by then). The pods are the
detect workflow's (`workflows.pod`), with a larger memory limit for training.
`run_training_now(cfg, modalities)` runs the same definition once on this machine (the local
engine's walker) and returns the promotion decisions.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence

from hera.workflows import DAG, Parameter, Resources, Workflow

from config import Config, Faults
from workflows.hera_config import configure_hera
from workflows.pod import (
    CLUSTER_NAMES,
    STEP_BACKOFF,
    WORKFLOW_LABEL,
    ClusterNames,
    step_factory,
    workflow_kind,
    workflow_settings,
)
from workflows.registry_identity import TRAINER_SECRET, with_registry_identity
from workflows.token_policy import executor_token_only

NAME = "train"
ENTRYPOINT = "train-all"
PER_MODALITY = "train-one"
REGISTER_RETRIES = 3
"""Retries of register and promote (4 attempts): both talk to MLflow only."""
TRAIN_RESOURCES = Resources(cpu_request="1", memory_request="2Gi", memory_limit="8Gi")
"""Training holds a modality's generated data set and features in memory."""


def build_train_workflow(
    *,
    faults: Faults,
    namespace: str | None = None,
    modalities: Sequence[str] = ("image", "audio", "video", "text"),
    seed: int = 0,
    quick: bool = False,
    retries: int = REGISTER_RETRIES,
    backoff: str = STEP_BACKOFF,
    names: ClusterNames = CLUSTER_NAMES,
    parallelism: int | None = 4,
    template: bool = False,
    image: str | None = None,
) -> Workflow:
    """The train Workflow (generate_name `train-`, entrypoint DAG `train-all`), or with
    `template` the WorkflowTemplate `train`; the arguments given here are the defaults. `faults`
    caps the retries and sets the steps' deadline (TRAIN_STEP_DEADLINE_S)."""
    from steps.scratch import cleanup_scratch
    from steps.train import evaluate, prepare, promote, register, train

    configure_hera(namespace, image)
    step = with_registry_identity(
        step_factory(retries, backoff, names, NAME, faults,
                     deadline_s=faults.train_step_deadline_s), TRAINER_SECRET)
    kind, naming = workflow_kind(NAME, template)
    with kind(
        **naming,
        entrypoint=ENTRYPOINT,
        namespace=namespace,
        arguments=[
            Parameter(name="modalities", value=json.dumps(list(modalities))),
            Parameter(name="seed", value=str(seed)),
            Parameter(name="quick", value=json.dumps(bool(quick))),
        ],
        **workflow_settings(
            names=names, parallelism=parallelism,
            labels={WORKFLOW_LABEL: NAME, "detector/modality": "mixed"},
        ),
        **executor_token_only(names.service_account),
    ) as w:
        prepare_t, train_t, evaluate_t = step(prepare), step(train), step(evaluate)
        register_t, promote_t = step(register), step(promote)
        train_t.retry_strategy = None  # a failed training is reported, not rerun
        for heavy in (prepare_t, train_t, evaluate_t):
            heavy.resources = TRAIN_RESOURCES
        cleanup = step(cleanup_scratch)
        inputs = {n: f"{{{{inputs.parameters.{n}}}}}" for n in ("modality", "seed", "quick",
                                                               "run_id")}
        with DAG(name=PER_MODALITY, inputs=[Parameter(name=n) for n in inputs]) as one:
            prepared = prepare_t(name="prepare", arguments=inputs)
            data = prepared.get_parameter("data_path")
            trained = train_t(name="train", arguments={
                "modality": inputs["modality"], "run_id": inputs["run_id"], "data_path": data})
            weights = trained.get_parameter("weights_path")
            evaluated = evaluate_t(name="evaluate", arguments={
                "modality": inputs["modality"], "weights_path": weights, "data_path": data})
            report = evaluated.get_parameter("evaluation_path")
            registered = register_t(
                name="register",
                arguments={"modality": inputs["modality"], "run_id": inputs["run_id"],
                           "weights_path": weights, "evaluation_path": report},
            )
            promoted = promote_t(
                name="promote",
                arguments={"modality": inputs["modality"], "evaluation_path": report,
                           "version": registered.get_parameter("version")},
            )
            prepared >> trained >> evaluated >> registered >> promoted
        with DAG(name=ENTRYPOINT):
            one(
                name=PER_MODALITY,
                with_param="{{workflow.parameters.modalities}}",
                arguments={"modality": "{{item}}", "seed": "{{workflow.parameters.seed}}",
                           "quick": "{{workflow.parameters.quick}}",
                           "run_id": "{{workflow.uid}}"},
            )
        with DAG(name="exit-handler"):
            cleanup(name="cleanup-scratch", arguments={"job_id": "{{workflow.uid}}"})
        w.on_exit = "exit-handler"
    return w


_PROMOTE_NODE = re.compile(rf"^{PER_MODALITY}\((\d+)\)/promote$")


def run_training_now(
    cfg: Config,
    modalities: Sequence[str],
    seed: int = 0,
    quick: bool = False,
    workers: int | None = None,
    build: Callable[..., Workflow] = build_train_workflow,
) -> list[dict]:
    """Train, register and gate `modalities` once on this machine and wait; the promotion
    decisions in the order of `modalities`. Raises `workflows.local.walk.StepFailed` when a
    step fails for good (the other modalities' steps run to their end first)."""
    from models import MODALITIES
    from workflows.local.engine import LocalEngine

    unknown = [m for m in modalities if m not in MODALITIES]
    if unknown or not modalities:
        raise ValueError(f"modalities must be some of {', '.join(MODALITIES)}: {unknown}")
    engine = LocalEngine(cfg, workflow=build(faults=cfg.faults),
                         workers=workers or min(len(modalities), 4))
    try:
        run = engine.run_workflow({"modalities": json.dumps(list(modalities)),
                                   "seed": str(int(seed)), "quick": json.dumps(bool(quick))})
    finally:
        engine.shutdown()
    found = {}
    for node, outputs in run.outputs.items():
        match = _PROMOTE_NODE.match(node)
        if match and "decision" in outputs:
            found[int(match.group(1))] = json.loads(outputs["decision"])
    return [found[i] for i in sorted(found)]
