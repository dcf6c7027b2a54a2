"""What every workflow's pods share: volumes, env, security, retries, GC, TTL and labels."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hera.workflows import (
    Counter,
    Env,
    Histogram,
    Label,
    Metrics,
    Resources,
    RetryStrategy,
    Script,
    Workflow,
    WorkflowTemplate,
    models,
)

from config import Faults

MEDIA_MOUNT = "/mnt/media"
SCRATCH_MOUNT = "/mnt/scratch"
TMP_MOUNT = "/tmp"
MONGO_CA_MOUNT = "/etc/detector-mongo-ca"
"""The CA of MongoDB's certificate; MONGO_URI names `tlsCAFile=<this>/ca.pem`."""

STEP_RETRIES = 2
"""Retries per step after the first attempt (so 3 attempts): a pod evicted, MongoDB or MLflow
briefly unreachable. Deterministic failures (a corrupt file) fail after the same 3 attempts."""

STEP_BACKOFF = "5s"
"""First wait between attempts; doubled each retry, at most STEP_BACKOFF_MAX."""

STEP_BACKOFF_MAX = "1m"

APP_LABEL = {"app.kubernetes.io/name": "deepfake-detector"}
WORKFLOW_LABEL = "detector/workflow"
"""`detect`, `rescan` (and later `train`): which definition a run comes from."""

POD_GC_DELETE_DELAY = "10m"
"""Pods of succeeded steps are deleted 10 minutes after they finish (time to read a log live);
failed pods stay until their workflow is deleted, so `kubectl logs` works while debugging."""

TTL_AFTER_SUCCESS_S = 3600
"""A succeeded workflow object is deleted after 1 hour: its results are in MongoDB already,
the job document holds its status and nodes, and Argo's archive (when configured) keeps a copy."""

TTL_AFTER_FAILURE_S = 7 * 86400
"""A failed one stays 7 days: time to look at it in the UI and to retry it in place."""

TTL_AFTER_COMPLETION_S = 86400
"""The fallback for any other end (Argo uses it when the more specific one is unset)."""

STEP_DURATION_METRIC = "detector_step_duration_seconds"
STEP_RESULT_METRIC = "detector_step_result"
"""Template-level metrics of every step (Argo's controller prefixes `argo_workflows_`), labelled
`workflow` (detect, rescan), `step` (the template) and `status` (Succeeded, Failed, Error)."""

STEP_DURATION_BUCKETS = (0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)
"""Seconds; every template uses the same buckets (Argo requires it for one metric name)."""


def env() -> list[Env]:
    """Folders as the pod sees them; one math thread per step pod."""
    return [
        Env(name="MEDIA_ROOT", value=MEDIA_MOUNT),
        Env(name="SCRATCH_ROOT", value=SCRATCH_MOUNT),
        Env(name="DETECTOR_VAR_DIR", value=f"{TMP_MOUNT}/detector"),
        Env(name="OMP_NUM_THREADS", value="1"),
    ]


def env_from(config_map: str, mongo_secret: str) -> list[models.EnvFromSource]:
    """The detector's ConfigMap and the MongoDB Secret (MONGO_URI) as environment."""
    return [
        models.EnvFromSource(config_map_ref=models.ConfigMapEnvSource(name=config_map)),
        models.EnvFromSource(secret_ref=models.SecretEnvSource(name=mongo_secret)),
    ]


def volume_mounts() -> list[models.VolumeMount]:
    return [
        models.VolumeMount(name="media", mount_path=MEDIA_MOUNT),
        models.VolumeMount(name="scratch", mount_path=SCRATCH_MOUNT),
        models.VolumeMount(name="tmp", mount_path=TMP_MOUNT),
        models.VolumeMount(name="mongo-ca", mount_path=MONGO_CA_MOUNT, read_only=True),
    ]


def volumes(media_claim: str, scratch_claim: str, mongo_ca_secret: str) -> list[models.Volume]:
    pvc = models.PersistentVolumeClaimVolumeSource
    return [
        models.Volume(name="media", persistent_volume_claim=pvc(claim_name=media_claim)),
        models.Volume(name="scratch", persistent_volume_claim=pvc(claim_name=scratch_claim)),
        models.Volume(name="tmp", empty_dir=models.EmptyDirVolumeSource()),
        models.Volume(name="mongo-ca",
                      secret=models.SecretVolumeSource(secret_name=mongo_ca_secret)),
    ]


def security_context() -> models.SecurityContext:
    """The container security context of k8s/ base."""
    return models.SecurityContext(
        allow_privilege_escalation=False,
        read_only_root_filesystem=True,
        run_as_non_root=True,
        capabilities=models.Capabilities(drop=["ALL"]),
        seccomp_profile=models.SeccompProfile(type="RuntimeDefault"),
    )


def pod_security_context() -> models.PodSecurityContext:
    """The pod security context of k8s/ base (uid 10001)."""
    return models.PodSecurityContext(
        run_as_non_root=True, run_as_user=10001, run_as_group=10001, fs_group=10001,
        seccomp_profile=models.SeccompProfile(type="RuntimeDefault"),
    )


def retry_strategy(max_retries: int, limit: int = STEP_RETRIES, backoff: str = STEP_BACKOFF
                   ) -> RetryStrategy:
    """Retry on any failure (errors included: evicted pods), exponential backoff; `limit` is
    clipped to `max_retries` (MAX_STEP_RETRIES, `config.Faults.max_step_retries`).

    `limit` and `factor` are IntOrString: rendered as strings, the form Argo's schema names.
    """
    return RetryStrategy(
        limit=str(min(limit, max_retries)),
        retry_policy="Always",
        backoff=models.Backoff(
            duration=backoff, factor=models.IntOrString("2"), max_duration=STEP_BACKOFF_MAX
        ),
    )


def pod_gc() -> models.PodGC:
    return models.PodGC(strategy="OnPodSuccess", delete_delay_duration=POD_GC_DELETE_DELAY)


def ttl_strategy() -> models.TTLStrategy:
    return models.TTLStrategy(
        seconds_after_completion=TTL_AFTER_COMPLETION_S,
        seconds_after_success=TTL_AFTER_SUCCESS_S,
        seconds_after_failure=TTL_AFTER_FAILURE_S,
    )


@dataclass(frozen=True)
class ClusterNames:
    """The names of what the workflows use in the cluster (k8s/ defines them): the media and
    scratch claims, the Secrets (MONGO_URI, MongoDB's CA) and ConfigMap the steps read, the
    pods' ServiceAccount."""

    media_claim: str = "detector-media"
    scratch_claim: str = "detector-scratch"
    mongo_secret: str = "detector-mongo"
    mongo_ca_secret: str = "detector-mongo-ca"
    config_map: str = "detector-config"
    service_account: str | None = "detector-workflow"


CLUSTER_NAMES = ClusterNames()  # the names k8s/ uses


def workflow_kind(name: str, template: bool) -> tuple[type, dict[str, str]]:
    """What to build: a Workflow named `<name>-<random>` (a run), or with `template` the
    WorkflowTemplate `name` that k8s/argo/ holds; the class and its naming keywords."""
    if template:
        return WorkflowTemplate, {"name": name}
    return Workflow, {"generate_name": f"{name}-"}


def workflow_settings(
    *,
    names: ClusterNames,
    parallelism: int | None,
    labels: dict[str, str],
) -> dict[str, Any]:
    """Workflow-level fields shared by every definition (Workflow, template or cron spec).

    `labels` go on the Workflow and, through `workflowMetadata`, on every Workflow made from a
    WorkflowTemplate or CronWorkflow (Argo applies them when it starts the run).
    """
    return dict(
        volumes=volumes(names.media_claim, names.scratch_claim, names.mongo_ca_secret),
        service_account_name=names.service_account,
        security_context=pod_security_context(),
        parallelism=parallelism,
        ttl_strategy=ttl_strategy(),
        pod_gc=pod_gc(),
        archive_logs=True,
        labels={**APP_LABEL, **labels},
        workflow_metadata=models.ObjectMeta(labels={**APP_LABEL, **labels}),
    )


def step_metrics(workflow: str, step: str) -> Metrics:
    """Argo template metrics of one step: a histogram of `{{duration}}` and a counter by
    `{{status}}`. The local engine does not emit them (it ignores the field)."""
    labels = [Label(key="workflow", value=workflow), Label(key="step", value=step),
              Label(key="status", value="{{status}}")]
    return Metrics(metrics=[
        Histogram(name=STEP_DURATION_METRIC, help="Duration of a detector workflow step",
                  labels=labels, buckets=list(STEP_DURATION_BUCKETS), value="{{duration}}"),
        Counter(name=STEP_RESULT_METRIC, help="Detector workflow steps ended, by status",
                labels=labels, value="1"),
    ])


def step_factory(
    retries: int, backoff: str, names: ClusterNames, workflow: str, faults: Faults,
    deadline_s: int | None = None,
) -> Callable[[Callable], Script]:
    """`step(fn)`: the Script template of a `@script` function with the shared pod settings,
    the step metrics labelled with `workflow` (the definition's name), `retries` clipped to
    `faults.max_step_retries` and `activeDeadlineSeconds` = `deadline_s` (default
    `faults.step_deadline_s`, STEP_DEADLINE_S)."""
    if deadline_s is None:
        deadline_s = faults.step_deadline_s
    common = dict(
        active_deadline_seconds=str(deadline_s),  # IntOrString, as Argo's schema names it
        env=env(),
        env_from=env_from(names.config_map, names.mongo_secret),
        volume_mounts=volume_mounts(),
        security_context=security_context(),
        resources=Resources(cpu_request="250m", memory_request="512Mi", memory_limit="3Gi"),
    )
    retry = retry_strategy(faults.max_step_retries, retries, backoff)

    def step(fn: Callable) -> Script:
        source = getattr(fn, "wrapped_function", fn)
        name = source.__name__.replace("_", "-")
        return Script(name=name, source=source, retry_strategy=retry,
                      metrics=step_metrics(workflow, name), **common)

    return step
