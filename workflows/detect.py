"""The detect workflow: fan out over the job's media, preprocess -> infer -> persist for each.

One definition for both engines. On Argo every step is a pod running the project image with
`python -m hera.workflows.runner -e steps.<module>:<function>`; the local engine runs the same
functions in a warm process pool and maps the volume mount paths below to local folders.

The cluster provides (names are parameters of `build_detect_workflow`):
- PVC `detector-media` (the uploads, ReadWriteMany) mounted at /mnt/media = MEDIA_ROOT;
- PVC `detector-scratch` (ReadWriteMany: the steps of one media run in different pods)
  mounted at /mnt/scratch = SCRATCH_ROOT; the exit handler removes `<SCRATCH_ROOT>/<job_id>`;
- Secret `detector-secrets` key `mongo-uri` -> MONGO_URI;
- ConfigMap `detector-config` keys `mlflow-tracking-uri` -> MLFLOW_TRACKING_URI and
  `mongo-db` -> MONGO_DB (optional).
"""

from collections.abc import Callable
from dataclasses import dataclass

from hera.workflows import (
    DAG,
    ConfigMapEnv,
    Env,
    Parameter,
    Resources,
    RetryStrategy,
    Script,
    SecretEnv,
    Workflow,
    models,
)

from workflows.hera_config import configure_hera

MEDIA_MOUNT = "/mnt/media"
SCRATCH_MOUNT = "/mnt/scratch"
TMP_MOUNT = "/tmp"

STEP_RETRIES = 2
"""Retries per step after the first attempt (so 3 attempts): a pod evicted, MongoDB or MLflow
briefly unreachable. Deterministic failures (a corrupt file) fail after the same 3 attempts."""

STEP_BACKOFF = "5s"
"""First wait between attempts; doubled each retry, at most STEP_BACKOFF_MAX."""

STEP_BACKOFF_MAX = "1m"

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


def _env(mongo_secret: str, config_map: str) -> list:
    return [
        Env(name="MEDIA_ROOT", value=MEDIA_MOUNT),
        Env(name="SCRATCH_ROOT", value=SCRATCH_MOUNT),
        Env(name="DETECTOR_VAR_DIR", value=f"{TMP_MOUNT}/detector"),
        Env(name="OMP_NUM_THREADS", value="1"),
        SecretEnv(name="MONGO_URI", secret_name=mongo_secret, secret_key="mongo-uri"),
        ConfigMapEnv(
            name="MLFLOW_TRACKING_URI", config_map_name=config_map,
            config_map_key="mlflow-tracking-uri",
        ),
        ConfigMapEnv(
            name="MONGO_DB", config_map_name=config_map, config_map_key="mongo-db", optional=True
        ),
    ]


def _volume_mounts() -> list[models.VolumeMount]:
    return [
        models.VolumeMount(name="media", mount_path=MEDIA_MOUNT),
        models.VolumeMount(name="scratch", mount_path=SCRATCH_MOUNT),
        models.VolumeMount(name="tmp", mount_path=TMP_MOUNT),
    ]


def _volumes(media_claim: str, scratch_claim: str) -> list[models.Volume]:
    pvc = models.PersistentVolumeClaimVolumeSource
    return [
        models.Volume(name="media", persistent_volume_claim=pvc(claim_name=media_claim)),
        models.Volume(name="scratch", persistent_volume_claim=pvc(claim_name=scratch_claim)),
        models.Volume(name="tmp", empty_dir=models.EmptyDirVolumeSource()),
    ]


def _security_context() -> models.SecurityContext:
    return models.SecurityContext(
        allow_privilege_escalation=False,
        read_only_root_filesystem=True,
        run_as_non_root=True,
        capabilities=models.Capabilities(drop=["ALL"]),
    )


def retry_strategy(limit: int = STEP_RETRIES, backoff: str = STEP_BACKOFF) -> RetryStrategy:
    """Retry on any failure (errors included: evicted pods), exponential backoff.

    `limit` and `factor` are IntOrString: rendered as strings, the form Argo's schema names.
    """
    return RetryStrategy(
        limit=str(limit),
        retry_policy="Always",
        backoff=models.Backoff(
            duration=backoff, factor=models.IntOrString("2"), max_duration=STEP_BACKOFF_MAX
        ),
    )


def build_detect_workflow(
    *,
    namespace: str | None = None,
    retries: int = STEP_RETRIES,
    backoff: str = STEP_BACKOFF,
    media_claim: str = "detector-media",
    scratch_claim: str = "detector-scratch",
    mongo_secret: str = "detector-secrets",
    config_map: str = "detector-config",
    parallelism: int | None = 8,
    steps: DetectSteps | None = None,
) -> Workflow:
    """The detect Workflow (generate_name `detect-`, entrypoint DAG `detect`).

    Workflow parameters `job_id` and `media` (see WORKFLOW_PARAMETERS) are filled per job by the
    engines; `parallelism` caps the pods of one job running at once.
    """
    configure_hera(namespace)
    steps = steps or default_steps()
    common = dict(
        env=_env(mongo_secret, config_map),
        volume_mounts=_volume_mounts(),
        security_context=_security_context(),
        resources=Resources(cpu_request="250m", memory_request="512Mi", memory_limit="3Gi"),
    )
    retry = retry_strategy(retries, backoff)

    def step(fn: Callable) -> Script:
        source = getattr(fn, "wrapped_function", fn)
        name = source.__name__.replace("_", "-")
        return Script(name=name, source=source, retry_strategy=retry, **common)

    with Workflow(
        generate_name="detect-",
        entrypoint="detect",
        namespace=namespace,
        arguments=[Parameter(name="job_id", value=""), Parameter(name="media", value="[]")],
        volumes=_volumes(media_claim, scratch_claim),
        security_context=models.PodSecurityContext(
            run_as_non_root=True, run_as_user=10001, run_as_group=10001, fs_group=10001
        ),
        parallelism=parallelism,
        ttl_strategy=models.TTLStrategy(seconds_after_completion=86400),
        pod_gc=models.PodGC(strategy="OnWorkflowSuccess"),
        labels={"app.kubernetes.io/name": "deepfake-detector", "detector/workflow": "detect"},
    ) as w:
        preprocess, infer, persist = step(steps.preprocess), step(steps.infer), step(steps.persist)
        cleanup = step(steps.cleanup)

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
