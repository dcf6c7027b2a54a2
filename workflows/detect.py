"""The detect workflow: fan out over the job's media, preprocess -> infer -> persist for each.

One definition for both engines. On Argo every step is a pod running the project image with
`python -m hera.workflows.runner -e steps.<module>:<function>`; the local engine runs the same
functions in a warm process pool and maps the volume mount paths below to local folders.
The same spec is rendered as WorkflowTemplate `detect` into k8s/argo/ (`workflows.render`).

What the cluster provides (k8s/ base; names are parameters of `build_detect_workflow`):
- PVC `detector-media` (uploads, ReadWriteMany) at /mnt/media = MEDIA_ROOT;
- PVC `detector-scratch` (ReadWriteMany: the steps of one media run in different pods) at
  /mnt/scratch = SCRATCH_ROOT; the exit handler removes `<SCRATCH_ROOT>/<job_id>`;
- an emptyDir at /tmp (the root filesystem is read-only; Hera's outputs go to /tmp/hera-outputs);
- ConfigMap `detector-config` (MONGO_DB, MLFLOW_TRACKING_URI, ...) and Secret `detector-mongo`
  (MONGO_URI) as envFrom; ServiceAccount `detector-workflow`;
- the image named by DETECTOR_IMAGE (see `workflows.hera_config`);
- for `archiveLogs: true`, an artifact repository, and for the archived-workflows fallback of
  the Argo engine, Argo's workflow archive (persistence) configured in the controller.
"""

from collections.abc import Callable
from dataclasses import dataclass

from hera.workflows import DAG, Parameter, Script, Workflow

from config import Faults
from workflows.hera_config import configure_hera
from workflows.pod import (
    CLUSTER_NAMES,
    STEP_BACKOFF,
    STEP_RETRIES,
    WORKFLOW_LABEL,
    ClusterNames,
    step_factory,
    workflow_kind,
    workflow_settings,
)
from workflows.registry_identity import SCORER_SECRET, with_registry_identity
from workflows.token_policy import executor_token_only

TEMPLATE_NAME = "detect"

WORKFLOW_PARAMETERS = ("job_id", "media")
"""`job_id`; `media`: JSON list of {media_id, modality, media_path (relative to MEDIA_ROOT)}."""

ITEM_FIELDS = ("media_id", "modality", "media_path")


@dataclass(frozen=True)
class DetectSteps:
    """The functions behind the four script templates (tests swap in small ones)."""

    preprocess: Callable
    infer: Callable
    persist: Callable
    cleanup: Callable


def default_steps() -> DetectSteps:
    """The project's own steps (imported here, not at module import)."""
    from steps.infer import infer
    from steps.persist import persist
    from steps.preprocess import preprocess
    from steps.scratch import cleanup_scratch

    return DetectSteps(preprocess, infer, persist, cleanup_scratch)


def detect_one_dag(step: Callable[[Callable], Script], steps: DetectSteps) -> DAG:
    """DAG `detect-one` (inputs job_id + ITEM_FIELDS): preprocess -> infer -> persist of one
    media. Call inside a workflow context; the rescan workflow reuses it per stale media."""
    preprocess, infer, persist = step(steps.preprocess), step(steps.infer), step(steps.persist)
    inputs = {name: f"{{{{inputs.parameters.{name}}}}}" for name in ("job_id", *ITEM_FIELDS)}
    with DAG(name="detect-one", inputs=[Parameter(name=n) for n in inputs]) as one:
        pre = preprocess(name="preprocess", arguments=inputs)
        inf = infer(
            name="infer",
            arguments={
                "job_id": inputs["job_id"],
                "media_id": inputs["media_id"],
                "modality": inputs["modality"],
                "features_path": pre.get_parameter("features_path"),
            },
        )
        per = persist(
            name="persist",
            arguments={
                "job_id": inputs["job_id"],
                "media_id": inputs["media_id"],
                "result_path": inf.get_parameter("result_path"),
            },
        )
        pre >> inf >> per
    return one


def build_detect_workflow(
    *,
    faults: Faults,
    namespace: str | None = None,
    retries: int = STEP_RETRIES,
    backoff: str = STEP_BACKOFF,
    names: ClusterNames = CLUSTER_NAMES,
    parallelism: int | None = 8,
    steps: DetectSteps | None = None,
    template: bool = False,
    image: str | None = None,
) -> Workflow:
    """The detect Workflow (generate_name `detect-`, entrypoint DAG `detect`), or with
    `template` the WorkflowTemplate `detect` with the same spec.

    Workflow parameters `job_id` and `media` (see WORKFLOW_PARAMETERS) are filled per job by the
    engines; `parallelism` caps the pods of one job running at once; `faults` caps the retries
    and sets every step's deadline (`config.Faults`).
    """
    configure_hera(namespace, image)
    steps = steps or default_steps()
    step = with_registry_identity(
        step_factory(retries, backoff, names, TEMPLATE_NAME, faults), SCORER_SECRET)
    kind, naming = workflow_kind(TEMPLATE_NAME, template)
    with kind(
        **naming,
        entrypoint="detect",
        namespace=namespace,
        arguments=[Parameter(name="job_id", value=""), Parameter(name="media", value="[]")],
        **workflow_settings(
            names=names, parallelism=parallelism,
            labels={WORKFLOW_LABEL: TEMPLATE_NAME},
        ),
        **executor_token_only(names.service_account),
    ) as w:
        one = detect_one_dag(step, steps)
        cleanup = step(steps.cleanup)
        with DAG(name="detect"):
            one(
                name="detect-one",
                with_param="{{workflow.parameters.media}}",
                arguments={
                    "job_id": "{{workflow.parameters.job_id}}",
                    **{f: f"{{{{item.{f}}}}}" for f in ITEM_FIELDS},
                },
            )
        with DAG(name="exit-handler"):
            cleanup(name="cleanup-scratch", arguments={"job_id": "{{workflow.parameters.job_id}}"})
        w.on_exit = "exit-handler"
    return w
