"""A stand-in Argo Server behind a `requests` adapter: every request is checked against Argo's
swagger (path, method, query names, body schema) and answered as the server would; optionally
behind a URL path prefix (an ingress serving Argo at https://host/argo/), and optionally with
the controller's `workflowRestrictions: {templateReferencing: Strict}` (`strict=True`)."""

from __future__ import annotations

import json
import re
import secrets
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlparse

import jsonschema
import requests
from requests.adapters import BaseAdapter


class SwaggerViolation(AssertionError):
    """A request the real Argo Server API does not define."""


class FakeArgoServer(BaseAdapter):
    def __init__(self, swagger: dict, token: str | None = None, prefix: str = "",
                 strict: bool = False) -> None:
        super().__init__()
        self.swagger = swagger
        self.token = token
        self.strict = strict
        """Like Argo's Strict template referencing: a Workflow must be a `workflowTemplateRef`
        (+ arguments); one carrying its own templates or pod settings is refused."""
        self.prefix = prefix.rstrip("/")
        self.requests: list[dict[str, Any]] = []
        self.workflows: dict[tuple[str, str], dict] = {}
        self.archive: dict[str, dict] = {}  # uid -> workflow (with its final status)
        self.logs: dict[str, list[dict]] = {}  # workflow name -> log entries
        self.statuses: dict[str, list[dict]] = {}  # name -> statuses served in turn (last sticks)
        self.fail_next: tuple[int, str] | None = None
        self.crons: dict[tuple[str, str], dict] = {}  # (namespace, name) -> CronWorkflow
        self._routes = sorted(
            ((_pattern(p), p) for p in swagger["paths"]), key=lambda r: r[1].count("{")
        )

    # -------------------------------------------------------------- checking

    def validate(self, ref: str, instance: Any) -> None:
        """Raise SwaggerViolation unless `instance` matches swagger definition `ref`."""
        validator = jsonschema.Draft4Validator(
            {"$ref": ref, "definitions": self.swagger["definitions"]}
        )
        errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.path))
        if errors:
            raise SwaggerViolation("; ".join(f"{list(e.path)}: {e.message}" for e in errors[:5]))

    def _operation(self, path: str, method: str) -> tuple[str, dict, list[str]]:
        for pattern, template in self._routes:
            match = pattern.match(path)
            if match and method in self.swagger["paths"][template]:
                return template, self.swagger["paths"][template][method], list(match.groups())
        raise SwaggerViolation(f"{method.upper()} {path} is not in the Argo Server API")

    # -------------------------------------------------------------- serving

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        url = urlparse(request.url)
        method = request.method.lower()
        if not url.path.startswith(self.prefix + "/api/"):
            raise SwaggerViolation(f"{url.path} is not under the server's prefix {self.prefix!r}")
        template, op, path_values = self._operation(url.path[len(self.prefix):], method)
        declared = {p["name"]: p for p in op.get("parameters", [])}
        query = dict(parse_qsl(url.query))
        for name in query:
            if declared.get(name, {}).get("in") != "query":
                raise SwaggerViolation(f"{template}: unknown query parameter {name!r}")
        body = json.loads(request.body) if request.body else None
        for p in declared.values():
            if p["in"] == "body":
                if body is None:
                    raise SwaggerViolation(f"{template}: body required")
                self.validate(p["schema"]["$ref"], body)
        self.requests.append(
            {"method": method.upper(), "path": url.path, "template": template, "query": query,
             "body": body, "headers": dict(request.headers),
             "timeout": kwargs.get("timeout"), "verify": kwargs.get("verify")}
        )
        if self.token and request.headers.get("Authorization") != f"Bearer {self.token}":
            return self._reply(request, 401, {"code": 16, "message": "token not valid"})
        if self.fail_next:
            code, message = self.fail_next
            self.fail_next = None
            return self._reply(request, code, {"code": 7, "message": message})
        return self._dispatch(request, method, template, path_values, body, op)

    def _dispatch(self, request, method, template, values, body, op) -> requests.Response:
        if (method, template) == ("post", "/api/v1/workflows/{namespace}"):
            (namespace,) = values
            wf = json.loads(json.dumps(body["workflow"]))
            if (refused := self._strict_refusal(wf.get("spec") or {})) is not None:
                return self._reply(request, 400, {"code": 3, "message": refused})
            meta = wf["metadata"]
            meta["name"] = meta.pop("generateName", "wf-") + secrets.token_hex(3)[:5]
            meta.update(namespace=namespace, uid=str(uuid.uuid4()),
                        creationTimestamp=_now())
            self.workflows[(namespace, meta["name"])] = wf
            return self._reply(request, 200, wf, op)
        if (method, template) == ("post", "/api/v1/workflows/{namespace}/submit"):
            return self._submit(request, values[0], body, op)
        if (method, template) == ("get", "/api/v1/workflows/{namespace}/{name}"):
            wf = self.workflows.get(tuple(values))
            if wf is None:
                return self._reply(request, 404, {"code": 5, "message": "not found"})
            queue = self.statuses.get(values[1], [])
            status = queue.pop(0) if len(queue) > 1 else (queue[0] if queue else {})
            return self._reply(request, 200, {**wf, "status": status}, op)
        if method == "put" and template.startswith("/api/v1/workflows/{namespace}/{name}/"):
            wf = self.workflows.get(tuple(values))
            if wf is None:
                return self._reply(request, 404, {"code": 5, "message": "not found"})
            action = template.rsplit("/", 1)[1]
            if action == "stop":
                phase, message = "Failed", body.get("message") or "Stopped with strategy 'Stop'"
            elif action == "retry":
                if self._phase(values[1]) not in ("Failed", "Error"):
                    return self._reply(request, 400, {"code": 9, "message": "not failed"})
                phase, message = "Running", ""
            else:
                return self._reply(request, 501, {"code": 12, "message": "not in the fake"})
            self.statuses[values[1]] = [{"phase": phase, "message": message}]
            return self._reply(request, 200, {**wf, "status": {"phase": phase}}, op)
        if (method, template) == ("get", "/api/v1/archived-workflows/{uid}"):
            wf = self.archive.get(values[0])
            if wf is None:
                return self._reply(request, 404, {"code": 5, "message": "not found"})
            return self._reply(request, 200, wf, op)
        if (method, template) == ("put", "/api/v1/archived-workflows/{uid}/retry"):
            wf = self.archive.get(values[0])
            if wf is None:
                return self._reply(request, 404, {"code": 5, "message": "not found"})
            meta = {**wf["metadata"], "uid": str(uuid.uuid4())}
            retried = {**{k: v for k, v in wf.items() if k != "status"}, "metadata": meta}
            self.workflows[(meta["namespace"], meta["name"])] = retried
            self.statuses[meta["name"]] = [{"phase": "Running"}]
            return self._reply(request, 200, {**retried, "status": {"phase": "Running"}}, op)
        if (method, template) == ("get", "/api/v1/workflows/{namespace}/{name}/log"):
            if tuple(values) not in self.workflows:
                return self._reply(request, 404, {"code": 5, "message": "not found"})
            lines = [json.dumps({"result": e}) for e in self.logs.get(values[1], [])]
            return self._reply_text(request, 200, "\n".join(lines) + "\n")
        return self._reply(request, 501, {"code": 12, "message": "not in the fake"})

    def _submit(self, request, namespace: str, body: dict, op: dict) -> requests.Response:
        """Submit-from-resource: a Workflow from a CronWorkflow's workflowSpec, its parameters
        overridden by `submitOptions.parameters` (name=value) as the real server does."""
        kind = body.get("resourceKind", "").lower()
        cron = self.crons.get((namespace, body.get("resourceName", "")))
        if kind not in ("cronwf", "cronworkflow", "cronworkflows") or cron is None:
            return self._reply(request, 404, {"code": 5, "message": "not found"})
        spec = json.loads(json.dumps(cron["spec"]["workflowSpec"]))
        if (refused := self._strict_refusal(spec)) is not None:
            return self._reply(request, 400, {"code": 3, "message": refused})
        options = body.get("submitOptions") or {}
        values = dict(p.split("=", 1) for p in options.get("parameters") or [])
        params = spec.get("arguments", {}).get("parameters", [])
        unknown = set(values) - {p["name"] for p in params}
        if unknown:
            return self._reply(request, 400, {"code": 3, "message": f"unknown {unknown}"})
        for p in params:
            p["value"] = values.get(p["name"], p.get("value"))
        labels = dict(x.split("=", 1) for x in (options.get("labels") or "").split(",") if x)
        name = f"{cron['metadata']['name']}-{secrets.token_hex(3)[:5]}"
        wf = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow",
              "metadata": {"name": name, "namespace": namespace, "uid": str(uuid.uuid4()),
                           "creationTimestamp": _now(), "labels": labels},
              "spec": spec}
        self.workflows[(namespace, name)] = wf
        return self._reply(request, 200, wf, op)

    def _strict_refusal(self, spec: dict) -> str | None:
        """Why Strict template referencing refuses this Workflow spec, or None."""
        if not self.strict:
            return None
        if not (spec.get("workflowTemplateRef") or {}).get("name"):
            return "workflows must use workflowTemplateRef to be executed when the controller " \
                   "is in reference mode"
        extra = set(spec) - {"workflowTemplateRef", "arguments"}
        if extra:
            return f"a workflow referencing a template may not set {sorted(extra)}"
        return None

    def _phase(self, name: str) -> str | None:
        queue = self.statuses.get(name) or [{}]
        return queue[-1].get("phase")

    def archive_workflow(self, namespace: str, name: str, status: dict) -> str:
        """Move a workflow from the cluster to the archive (TTL deleted it); its uid."""
        wf = self.workflows.pop((namespace, name))
        self.archive[wf["metadata"]["uid"]] = {**wf, "status": status}
        self.statuses.pop(name, None)
        return wf["metadata"]["uid"]

    def _reply_text(self, request, code: int, text: str) -> requests.Response:
        response = requests.Response()
        response.status_code = code
        response._content = text.encode()
        response.headers["Content-Type"] = "application/json"
        response.url = request.url
        response.request = request
        return response

    def _reply(self, request, code: int, payload: dict, op: dict | None = None):
        if op is not None and code == 200:
            self.validate(op["responses"]["200"]["schema"]["$ref"], payload)
        response = requests.Response()
        response.status_code = code
        response._content = json.dumps(payload).encode()
        response.headers["Content-Type"] = "application/json"
        response.url = request.url
        response.request = request
        return response

    def close(self) -> None:
        pass


def _pattern(template: str) -> re.Pattern:
    return re.compile("^" + re.sub(r"\{[^}]+\}", "([^/]+)", template) + "$")


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
