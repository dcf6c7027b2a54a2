"""The Argo engine: submits the detect Workflow to an Argo Server and maps its phases to jobs.

Client: Hera's `WorkflowsService`, not the `argo-workflows` package. Hera's service is generated
from the same swagger as the server and speaks in the models the workflows are built with, and
it has every call the engine makes: create, get, stop, retry, get/retry archived workflow. Its
two gaps are closed here instead of adding a second generated client with its own model classes:
no per-call time-out (`_Service._request` adds one), and `workflow_logs` parses the streamed,
newline-delimited log entries as one JSON document (`ArgoEngine.logs` reads them through the
same session, headers, TLS setting and time-out).

Submissions reference the WorkflowTemplate `detect` (`workflowTemplateRef` + the job's arguments
and labels), never an inline spec, so a controller with `workflowRestrictions:
{templateReferencing: Strict}` runs them and the api's token can start only what the cluster's
templates define.

Settings (config.py, given to the engine when it is built): ARGO_SERVER (may carry a path
prefix: https://host/argo/), ARGO_TOKEN (with or without the `Bearer ` prefix), ARGO_TOKEN_FILE
(a token file re-read when it changes, e.g. a projected, short-lived ServiceAccount token; it
wins over ARGO_TOKEN), ARGO_NAMESPACE, ARGO_VERIFY_TLS, ARGO_TIMEOUT_S (seconds per HTTP call,
default 10). ARGO_UI_URL (the Argo UI as users reach it, e.g. https://argo.example.com; unset:
jobs carry no UI link, since ARGO_SERVER is usually a cluster-internal address) is the `base`
the API passes to `argo_ui_link`.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import requests
from hera.exceptions import HeraException, NotFound
from hera.workflows import Workflow, WorkflowsService
from hera.workflows.models import (
    Arguments,
    ObjectMeta,
    Parameter,
    RetryArchivedWorkflowRequest,
    WorkflowCreateRequest,
    WorkflowRetryRequest,
    WorkflowSpec,
    WorkflowStopRequest,
    WorkflowTemplateRef,
)
from hera.workflows.models import Workflow as WorkflowModel

from config import Config
from models.registry.settings import RegistrySettings
from workflows.engine import (
    RETRYABLE,
    STOPPABLE,
    STOPPED,
    TERMINAL,
    JobStateError,
    check_state,
    job_arguments,
    poll_status,
)

PHASES = {
    "Pending": "running",
    "Running": "running",
    "Succeeded": "succeeded",
    "Failed": "failed",
    "Error": "failed",
}
"""Argo workflow and node phases -> job statuses (no phase yet: the job stays queued).
`Pending` is not an end: `wait` goes on polling (Hera's own `wait` returns on it)."""

JOB_LABEL = "detector/job-id"
MODALITY_LABEL = "detector/modality"
MODEL_LABEL = "detector/model-{modality}"
"""Label per modality of the job: the champion version when the job was submitted."""

_ITEM = re.compile(r"\((\d+):[^()]*\)")
_LABEL_VALUE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?$")


def job_status(phase: str | None) -> str | None:
    """The job status for an Argo phase, or None while Argo has not given one."""
    return PHASES.get(phase or "")


def argo_ui_link(job: dict[str, Any], base: str | None) -> str | None:
    """The job's workflow in the Argo UI at `base` (ARGO_UI_URL, `Config.argo_ui_url`), or None
    off Argo or without a base. The `uid` query lets the UI show the archived copy once the
    workflow is deleted."""
    ref = job.get("engine_ref") or {}
    if not base or ref.get("engine") != "argo" or not ref.get("name") or not ref.get("namespace"):
        return None
    link = f"{base.rstrip('/')}/workflows/{quote(ref['namespace'])}/{quote(ref['name'])}"
    return f"{link}?uid={quote(ref['uid'])}" if ref.get("uid") else link


def job_labels(job_id: str, media: list[dict[str, str]],
               champion: Callable[[str], str | None]) -> dict[str, str]:
    """Labels to find a job's workflow in the Argo UI: job id, modality (`mixed` for several)
    and the champion version per modality (left out when the registry does not answer)."""
    modalities = sorted({item["modality"] for item in media})
    labels = {JOB_LABEL: job_id,
              MODALITY_LABEL: modalities[0] if len(modalities) == 1 else "mixed"}
    for modality in modalities:
        try:
            version = champion(modality)
        except Exception:  # noqa: BLE001 - labels are a convenience; never block a submit
            version = None
        if version is not None and _LABEL_VALUE.match(str(version)):
            labels[MODEL_LABEL.format(modality=modality)] = str(version)
    return labels


def champion_lookup(registry: RegistrySettings) -> Callable[[str], str | None]:
    """The champion version by modality in the MLflow registry `registry` names."""

    def champion(modality: str) -> str | None:
        from models.registry.client import champion_version

        return champion_version(modality, registry)

    return champion


class TokenFile:
    """A bearer token read from a file, re-read whenever the file changes (the kubelet rotates
    a projected ServiceAccount token in place)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._stamp: tuple[int, int] | None = None
        self._token: str | None = None

    def read(self) -> str:
        stat = os.stat(self.path)
        stamp = (stat.st_mtime_ns, stat.st_size)
        if stamp != self._stamp or self._token is None:
            with open(self.path, encoding="utf-8") as fh:
                self._token = fh.read().strip()
            self._stamp = stamp
        return self._token


def _bearer(token: str | None) -> str | None:
    if not token:
        return None
    return token if token.startswith("Bearer ") else f"Bearer {token}"


class _Service(WorkflowsService):
    """WorkflowsService with a time-out on every call, a host that keeps its path prefix and,
    with `token_file`, the file's current token on every call."""

    def __init__(self, *, timeout: float, token_file: str | None = None, **kwargs: Any) -> None:
        host = kwargs.pop("host")
        # urljoin(host, "api/v1/...") drops the last path segment unless it ends with "/"
        super().__init__(host=host.rstrip("/") + "/", **kwargs)
        self.timeout = timeout
        self.token_file = TokenFile(token_file) if token_file else None

    def current_token(self) -> str | None:
        """The `Authorization` value: the token file's content now, else the fixed token."""
        if self.token_file is not None:
            self.token = _bearer(self.token_file.read())
        return self.token

    def _request(self, method: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self.timeout)
        token = self.current_token()  # Hera built the headers from the token before this call
        if token and kwargs.get("headers") is not None:
            kwargs["headers"] = {**kwargs["headers"], "Authorization": token}
        return super()._request(method, **kwargs)


def service_for(cfg: Config, session: requests.Session | None = None,
                timeout: float | None = None) -> _Service:
    """The Argo Server client for `cfg` (ARGO_TOKEN_FILE over ARGO_TOKEN)."""
    return _Service(
        host=cfg.argo_server,
        token=cfg.argo_token,
        token_file=cfg.argo_token_file,
        namespace=cfg.argo_namespace,
        verify_ssl=cfg.argo_verify_tls,
        session=session,
        timeout=timeout if timeout is not None else cfg.argo_timeout_s,
    )


class ArgoEngine:
    """Engine on a cluster: one Argo Workflow per job, created through the Argo Server API."""

    name = "argo"

    def __init__(
        self,
        cfg: Config,
        workflow: Workflow | None = None,
        session: requests.Session | None = None,
        poll_interval: float = 2.0,
        timeout: float | None = None,
        champion: Callable[[str], str | None] | None = None,
    ) -> None:
        if workflow is None:
            from workflows.detect import build_detect_workflow

            workflow = build_detect_workflow(faults=cfg.faults, namespace=cfg.argo_namespace)
        if not cfg.argo_server:
            raise ValueError("ARGO_SERVER is not set")
        self.cfg = cfg
        self.workflow = workflow
        self.namespace = cfg.argo_namespace
        self.poll_interval = poll_interval
        self.champion = champion or champion_lookup(RegistrySettings.from_config(cfg))
        self.service = service_for(cfg, session, timeout)

    def manifest(self, arguments: dict[str, str], job_id: str) -> WorkflowModel:
        """The Workflow to create: a reference to the WorkflowTemplate (the definition's name
        without its trailing `-`) with the job's parameter values and labels, no inline spec."""
        built = self.workflow.build()
        known = {p.name for p in built.spec.arguments.parameters}
        for name in arguments:
            if name not in known:
                raise ValueError(f"the workflow has no parameter {name!r}")
        meta = built.metadata
        template = meta.name or (meta.generate_name or "").rstrip("-")
        labels = job_labels(job_id, json.loads(arguments.get("media", "[]")), self.champion)
        return WorkflowModel(
            api_version="argoproj.io/v1alpha1",
            kind="Workflow",
            metadata=ObjectMeta(generate_name=f"{template}-", namespace=self.namespace,
                                labels={**(meta.labels or {}), **labels}),
            spec=WorkflowSpec(
                workflow_template_ref=WorkflowTemplateRef(name=template),
                arguments=Arguments(parameters=[Parameter(name=k, value=v)
                                                for k, v in arguments.items()]),
            ),
        )

    def submit(self, job_id: str) -> None:
        """Create the job's Workflow; record its name and uid on the job."""
        from storage.jobs import update_job

        db = self._db()
        try:
            model = self.manifest(job_arguments(db, job_id), job_id)
            created = self.service.create_workflow(
                WorkflowCreateRequest(workflow=model), namespace=self.namespace
            )
        except (LookupError, HeraException, requests.RequestException) as exc:
            update_job(db, job_id, status="failed", finished_at=_now(),
                       error=f"argo submit failed: {type(exc).__name__}: {exc}")
            raise
        update_job(db, job_id, engine="argo", engine_ref=self._ref(created))

    def refresh(self, job_id: str) -> None:
        """Read the Workflow's phase (and its step nodes) into the job document; once the
        workflow is deleted (TTL), from Argo's archive by uid."""
        from storage.jobs import get_job, update_job

        db = self._db()
        job = get_job(db, job_id)
        if job is None:
            raise LookupError(f"job {job_id} not found")
        ref = job.get("engine_ref") or {}
        if job["status"] in TERMINAL or ref.get("engine") != "argo" or not ref.get("name"):
            return
        wf = self._fetch(ref)
        if wf is None:
            update_job(db, job_id, **self._gone(db, job, ref))
            return
        status = wf.status
        self._record_nodes(db, job_id, ref["name"], status)
        new = job_status(status.phase if status else None)
        if new is None:
            return
        fields: dict[str, Any] = {"status": new}
        if new == "failed":
            fields["error"] = (status.message if status else None) or f"workflow {status.phase}"
        if new in TERMINAL:
            fields["finished_at"] = _time(status.finished_at) or _now()
        if status.started_at and not job.get("started_at"):
            fields["started_at"] = _time(status.started_at)
        if new != job["status"] or new in TERMINAL:
            update_job(db, job_id, **fields)

    def wait(self, job_id: str, timeout: float) -> str:
        """Refresh until the job is terminal or `timeout` seconds pass (Hera's own wait has no
        deadline and returns on Pending); the job's status then."""
        from storage.jobs import get_job

        db = self._db()

        def read() -> str | None:
            self.refresh(job_id)
            job = get_job(db, job_id)
            return job["status"] if job else None

        status = poll_status(read, timeout, self.poll_interval, max(self.poll_interval, 10.0))
        if status is None:
            raise LookupError(f"job {job_id} not found")
        return status

    def stop(self, job_id: str) -> None:
        """Argo's stop (exit handlers still run); the job is `failed` with error STOPPED."""
        from storage.jobs import get_job, update_job

        db = self._db()
        self.refresh(job_id)
        job = check_state(get_job(db, job_id), job_id, STOPPABLE, "stop")
        ref = job.get("engine_ref") or {}
        if ref.get("engine") == "argo" and ref.get("name"):
            namespace = ref.get("namespace") or self.namespace
            request = WorkflowStopRequest(name=ref["name"], namespace=namespace, message=STOPPED)
            try:
                self.service.stop_workflow(ref["name"], request, namespace=namespace)
            except NotFound as exc:
                raise JobStateError(f"workflow {ref['name']} is no longer running") from exc
        update_job(db, job_id, status="failed", error=STOPPED, finished_at=_now())

    def retry(self, job_id: str) -> None:
        """Argo's retry of the failed workflow (its failed nodes run again); when the workflow
        was deleted already, the retry of its archived copy."""
        from storage.jobs import get_job, update_job

        db = self._db()
        job = check_state(get_job(db, job_id), job_id, RETRYABLE, "retry")
        ref = job.get("engine_ref") or {}
        if ref.get("engine") != "argo" or not ref.get("name"):
            update_job(db, job_id, status="queued", error=None, finished_at=None)
            self.submit(job_id)  # it never reached Argo: submit it now
            return
        namespace = ref.get("namespace") or self.namespace
        try:
            wf = self.service.retry_workflow(
                ref["name"], WorkflowRetryRequest(name=ref["name"], namespace=namespace),
                namespace=namespace,
            )
        except NotFound:
            if not ref.get("uid"):
                raise
            wf = self.service.retry_archived_workflow(
                ref["uid"],
                RetryArchivedWorkflowRequest(uid=ref["uid"], name=ref["name"],
                                             namespace=namespace),
            )
        update_job(db, job_id, status="running", error=None, finished_at=None,
                   engine_ref={**ref, **self._ref(wf)})

    def logs(self, job_id: str, tail_lines: int = 200) -> list[dict[str, str]]:
        """The last lines of each step container of the job's live workflow:
        [{pod_name, content}] (archived logs are in the artifact repository: see the UI)."""
        from storage.jobs import get_job

        job = get_job(self._db(), job_id)
        ref = (job or {}).get("engine_ref") or {}
        if ref.get("engine") != "argo" or not ref.get("name"):
            return []
        namespace = ref.get("namespace") or self.namespace
        service = self.service
        response = service.session.get(
            f"{service.host}api/v1/workflows/{quote(namespace)}/{quote(ref['name'])}/log",
            params={"logOptions.container": "main", "logOptions.tailLines": str(tail_lines)},
            headers={"Authorization": token} if (token := service.current_token()) else {},
            verify=service.verify_ssl, timeout=service.timeout,
        )
        response.raise_for_status()
        lines = []
        for line in response.text.splitlines():
            entry = (json.loads(line) if line.strip() else {}).get("result") or {}
            if entry:
                lines.append({"pod_name": entry.get("podName", ""),
                              "content": entry.get("content", "")})
        return lines

    def shutdown(self) -> None:
        """Close the HTTP session."""
        self.service.close()

    # ------------------------------------------------------------------ helpers

    def _ref(self, wf: Any) -> dict[str, Any]:
        return {"engine": "argo", "namespace": wf.metadata.namespace or self.namespace,
                "name": wf.metadata.name, "uid": wf.metadata.uid}

    def _fetch(self, ref: dict[str, Any]) -> Any | None:
        """The live workflow, else its archived copy (by uid), else None."""
        namespace = ref.get("namespace") or self.namespace
        try:
            return self.service.get_workflow(ref["name"], namespace=namespace)
        except NotFound:
            pass
        if not ref.get("uid"):
            return None
        try:
            return self.service.get_archived_workflow(ref["uid"], namespace=namespace,
                                                      name=ref["name"])
        except NotFound:
            return None

    @staticmethod
    def _gone(db: Any, job: dict[str, Any], ref: dict[str, Any]) -> dict[str, Any]:
        """The end of a job whose workflow is neither live nor archived: every media has a
        result (persist ran for each) -> succeeded; otherwise failed."""
        from storage.results import results_for_job

        done = {r["media_id"] for r in results_for_job(db, job["job_id"])}
        if job.get("media_ids") and done >= set(job["media_ids"]):
            return {"status": "succeeded", "error": None, "finished_at": _now()}
        return {"status": "failed", "finished_at": _now(),
                "error": f"workflow {ref['name']} no longer exists (deleted, not archived)"}

    def _record_nodes(self, db: Any, job_id: str, workflow_name: str, status: Any) -> None:
        """Step nodes as `detect-one(0)/preprocess`, like the local engine names them."""
        from storage.jobs import set_node

        nodes = (status.nodes if status else None) or {}
        for node in nodes.values():
            if node.type != "Retry" or not node.name.startswith(workflow_name + "."):
                continue
            key = _ITEM.sub(r"(\1)", node.name[len(workflow_name) + 1:]).replace(".", "/")
            if key.startswith("onExit/") or "." in key:
                continue
            fields: dict[str, Any] = {"attempts": len(node.children or [])}
            if (mapped := job_status(node.phase)) is not None:
                fields["status"] = mapped
            if node.started_at:
                fields["started_at"] = _time(node.started_at)
            if node.finished_at:
                fields["finished_at"] = _time(node.finished_at)
            if mapped == "failed":
                fields["error"] = node.message
            set_node(db, job_id, key, **fields)

    def _db(self) -> Any:
        from storage.db import get_db

        return get_db(self.cfg.mongo_uri, self.cfg.mongo_db)


def _now() -> datetime:
    return datetime.now(UTC)


def _time(value: Any) -> datetime | None:
    if value is None:
        return None
    value = getattr(value, "root", value)
    return value if isinstance(value, datetime) else None
