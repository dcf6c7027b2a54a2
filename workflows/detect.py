"""The detect workflow: fan out over the job's media, preprocess -> infer -> persist for each.

One definition for both engines. On Argo every step is a pod running the project image with
`python -m hera.workflows.runner -e steps.<module>:<function>`; the local engine runs the same
functions in a warm process pool and maps the volume mount paths below to local folders.

What the cluster provides (k8s/ base; names are parameters of `build_detect_workflow`):
- PVC `detector-media` (uploads, ReadWriteMany) at /mnt/media = MEDIA_ROOT;
- PVC `detector-scratch` (ReadWriteMany: the steps of one media run in different pods) at
  /mnt/scratch = SCRATCH_ROOT; the exit handler removes `<SCRATCH_ROOT>/<job_id>`;
- an emptyDir at /tmp (the root filesystem is read-only; Hera's outputs go to /tmp/hera-outputs);
- ConfigMap `detector-config` (MONGO_DB, MLFLOW_TRACKING_URI, ...) and Secret `detector-mongo`
  (MONGO_URI) as envFrom; ServiceAccount `detector-workflow`;
- the image named by DETECTOR_IMAGE (see `workflows.hera_config`).
"""

from collections.abc import Callable
from dataclasses import dataclass

from hera.workflows import (
    DAG,
    Env,
    Parameter,
    Resources,
    RetryStrategy,
    Script,
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


def _env() -> list[Env]:
    return [
        Env(name="MEDIA_ROOT", value=MEDIA_MOUNT),
        Env(name="SCRATCH_ROOT", value=SCRATCH_MOUNT),
        Env(name="DETECTOR_VAR_DIR", value=f"{TMP_MOUNT}/detector"),
        Env(name="OMP_NUM_THREADS", value="1"),
    ]


def _env_from(config_map: str, mongo_secret: str) -> list[models.EnvFromSource]:
    return [
        models.EnvFromSource(config_map_ref=models.ConfigMapEnvSource(name=config_map)),
        models.EnvFromSource(secret_ref=models.SecretEnvSource(name=mongo_secret)),
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
        seccomp_profile=models.SeccompProfile(type="RuntimeDefault"),
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
    mongo_secret: str = "detector-mongo",
    config_map: str = "detector-config",
    service_account: str | None = "detector-workflow",
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
        env=_env(),
        env_from=_env_from(config_map, mongo_secret),
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
        service_account_name=service_account,
        security_context=models.PodSecurityContext(
            run_as_non_root=True, run_as_user=10001, run_as_group=10001, fs_group=10001,
            seccomp_profile=models.SeccompProfile(type="RuntimeDefault"),
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
