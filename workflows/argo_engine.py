"""The Argo engine: submits the detect Workflow to an Argo Server and maps its phases to jobs."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import requests
from hera.exceptions import HeraException, NotFound
from hera.workflows import Workflow, WorkflowsService
from hera.workflows.models import WorkflowCreateRequest

from config import Config
from workflows.engine import TERMINAL, job_arguments, poll_status

PHASES = {
    "Pending": "running",
    "Running": "running",
    "Succeeded": "succeeded",
    "Failed": "failed",
    "Error": "failed",
}
"""Argo workflow and node phases -> job statuses (no phase yet: the job stays queued)."""

JOB_LABEL = "detector/job-id"
_ITEM = re.compile(r"\((\d+):[^()]*\)")


def job_status(phase: str | None) -> str | None:
    """The job status for an Argo phase, or None while Argo has not given one."""
    return PHASES.get(phase or "")


class ArgoEngine:
    """Engine on a cluster: one Argo Workflow per job, created through the Argo Server API."""

    name = "argo"

    def __init__(
        self,
        cfg: Config,
        workflow: Workflow | None = None,
        session: requests.Session | None = None,
        poll_interval: float = 2.0,
    ) -> None:
        if workflow is None:
            from workflows.detect import build_detect_workflow

            workflow = build_detect_workflow(namespace=cfg.argo_namespace)
        self.cfg = cfg
        self.workflow = workflow
        self.namespace = cfg.argo_namespace
        self.poll_interval = poll_interval
        self.service = WorkflowsService(
            host=cfg.argo_server,
            token=cfg.argo_token,
            namespace=cfg.argo_namespace,
            verify_ssl=cfg.argo_verify_tls,
            session=session,
        )

    def manifest(self, arguments: dict[str, str], job_id: str) -> Any:
        """The Workflow model to create: the definition with the job's parameter values."""
        model = self.workflow.build().model_copy(deep=True)
        params = {p.name: p for p in model.spec.arguments.parameters}
        for name, value in arguments.items():
            if name not in params:
                raise ValueError(f"the workflow has no parameter {name!r}")
            params[name].value = value
        model.metadata.namespace = self.namespace
        model.metadata.labels = {**(model.metadata.labels or {}), JOB_LABEL: job_id}
        return model

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
        ref = {
            "engine": "argo",
            "namespace": self.namespace,
            "name": created.metadata.name,
            "uid": created.metadata.uid,
        }
        update_job(db, job_id, engine="argo", engine_ref=ref)

    def refresh(self, job_id: str) -> None:
        """Read the Workflow's phase (and its step nodes) into the job document."""
        from storage.jobs import get_job, update_job

        db = self._db()
        job = get_job(db, job_id)
        if job is None:
            raise LookupError(f"job {job_id} not found")
        ref = job.get("engine_ref") or {}
        if job["status"] in TERMINAL or ref.get("engine") != "argo" or not ref.get("name"):
            return
        try:
            wf = self.service.get_workflow(ref["name"], namespace=ref.get("namespace"))
        except NotFound:
            update_job(db, job_id, status="failed", finished_at=_now(),
                       error=f"workflow {ref['name']} no longer exists")
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

    def shutdown(self) -> None:
        """Close the HTTP session."""
        self.service.close()

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

