"""Walk a rendered Argo Workflow (`w.to_dict()`) as Argo would: DAGs, parameters, fan-out, retries.

Only what running a script needs is delegated (`run_script`); the engine decides where it runs.
Supported: DAG and script templates, `dependencies` and `depends` (conjunctions of task names,
optionally `.Succeeded`), `{{inputs.parameters.x}}`, `{{workflow.parameters.x}}`,
`{{tasks.X.outputs.parameters.y}}`, `{{item}}` / `{{item.field}}`, `withParam` / `withItems`,
`retryStrategy` (limit, clipped to the run's `max_retries`; backoff duration/factor/cap/
maxDuration), `activeDeadlineSeconds` (passed to `run_script` in the template: the engine
enforces it), `onExit` with
`{{workflow.status}}`, `{{workflow.name|namespace|uid}}`, `parallelism` (the workflow's: script
nodes running at once, as Argo counts pods; a DAG template's: its tasks running at once), and a
CronWorkflow's or WorkflowTemplate's spec run once. Anything else raises WorkflowError instead of
being silently misread. `cancel()` stops a run like Argo's stop: no new node starts, the exit
handler still runs.

Threads: a fan-out runs at most `parallelism` items at once (each item's nodes run in order in
its thread; a DAG task that is the only one ready runs in the thread that walks the DAG), so a
job holds a bounded number of threads, not one per item and node.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from datetime import UTC, datetime
from typing import Any

from workflows.engine import STOPPED as CANCELLED

_VAR = re.compile(r"\{\{\s*([^{}]+?)\s*\}\}")
_DEPENDS_TERM = re.compile(r"^\(?\s*([A-Za-z0-9][A-Za-z0-9_-]*)(\.Succeeded)?\s*\)?$")
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


MAX_ERROR_CHARS = 2000
"""Longest error message kept on a node (and so on the job); the worker's log has the rest."""

RunScript = Callable[[str, dict, dict[str, str]], dict[str, str]]
"""(node name, template dict, input values) -> output parameter values; raises on failure."""
OnNode = Callable[..., None]
"""on_node(node, **fields) with status, started_at, finished_at, attempts, error."""


class WorkflowError(Exception):
    """The manifest uses something this walker does not support, or is inconsistent."""


class StepFailed(Exception):
    """A script node failed on its last attempt."""

    def __init__(self, node: str, message: str) -> None:
        super().__init__(f"{node}: {message}")
        self.node = node
        self.message = message


class Cancelled(StepFailed):
    """The run was cancelled (`WorkflowRun.cancel`) before this node could start."""


def workflow_spec(manifest: dict) -> dict:
    """The WorkflowSpec of a Workflow or WorkflowTemplate, or of a CronWorkflow's workflows."""
    if manifest.get("kind") == "CronWorkflow":
        return manifest["spec"]["workflowSpec"]
    return manifest["spec"]


def substitute(text: str, scope: dict[str, str]) -> str:
    """Replace every `{{name}}` in `text` from `scope`; an unknown name is an error."""

    def value(match: re.Match) -> str:
        key = match.group(1)
        if key not in scope:
            raise WorkflowError(f"cannot resolve {{{{{key}}}}}")
        return scope[key]

    return _VAR.sub(value, text)


def parse_duration(value: str | int | float | None) -> float:
    """Seconds in an Argo duration: an int (seconds) or a Go duration like '5s', '1m30s'."""
    if value is None or value == "":
        return 0.0
    if isinstance(value, int | float) or str(value).isdigit():
        return float(value)
    parts = _DURATION.findall(str(value))
    if not parts or "".join(n + u for n, u in parts) != str(value):
        raise WorkflowError(f"unsupported duration {value!r}")
    return sum(float(n) * _UNITS[u] for n, u in parts)


def dependencies(task: dict) -> set[str]:
    """Names of the tasks `task` waits for; `depends` limited to conjunctions (A && B.Succeeded)."""
    deps = set(task.get("dependencies") or [])
    depends = task.get("depends")
    if depends:
        for term in depends.split("&&"):
            match = _DEPENDS_TERM.match(term.strip())
            if not match:
                raise WorkflowError(f"unsupported depends expression {depends!r}")
            deps.add(match.group(1))
    return deps


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _item_scope(item: Any) -> dict[str, str]:
    scope = {"item": _text(item)}
    if isinstance(item, dict):
        scope.update({f"item.{k}": _text(v) for k, v in item.items()})
    return scope


def _shorten(message: str, limit: int = MAX_ERROR_CHARS) -> str:
    return message if len(message) <= limit else message[: limit - 15] + " ... (truncated)"


def _now() -> datetime:
    return datetime.now(UTC)


def _parallelism(holder: dict, what: str) -> int | None:
    """`holder["parallelism"]` as a positive int; None when unset (no limit)."""
    value = holder.get("parallelism")
    if value is None:
        return None
    try:
        limit = int(value)
    except (TypeError, ValueError):
        raise WorkflowError(f"{what}: parallelism {value!r} is not an integer") from None
    if limit < 1:
        raise WorkflowError(f"{what}: parallelism must be at least 1, not {limit}")
    return limit


def _suffix() -> str:
    return secrets.token_hex(3)[:5]


class WorkflowRun:
    """One run of a manifest with `arguments` for its workflow parameters."""

    def __init__(
        self,
        manifest: dict,
        arguments: dict[str, str],
        run_script: RunScript,
        on_node: OnNode | None = None,
        sleep: Callable[[float], None] = time.sleep,
        max_retries: int | None = None,
    ) -> None:
        self.spec = workflow_spec(manifest)
        self.max_retries = max_retries
        """The most retries of any step whatever its retryStrategy says (None: as it says)."""
        self.templates = {t["name"]: t for t in self.spec["templates"]}
        declared = {
            p["name"]: p.get("value") for p in self.spec.get("arguments", {}).get("parameters", [])
        }
        unknown = set(arguments) - set(declared)
        if unknown:
            raise WorkflowError(f"unknown workflow parameters: {sorted(unknown)}")
        values = {**declared, **arguments}
        missing = [k for k, v in values.items() if v is None]
        if missing:
            raise WorkflowError(f"workflow parameters without a value: {missing}")
        self.globals = {f"workflow.parameters.{k}": str(v) for k, v in values.items()}
        meta = manifest.get("metadata") or {}
        self.globals.update({
            "workflow.name": meta.get("name") or meta.get("generateName", "wf-") + _suffix(),
            "workflow.namespace": meta.get("namespace") or "local",
            "workflow.uid": str(uuid.uuid4()),
        })
        self.outputs: dict[str, dict[str, str]] = {}
        """Output parameters of every script node that succeeded, by node name."""
        self._run_script = run_script
        self._on_node = on_node or (lambda node, **fields: None)
        self._sleep = sleep
        self._stop = threading.Event()
        self._cancel = threading.Event()
        self.parallelism = _parallelism(self.spec, "workflow")
        """Script nodes of this run running at once (the workflow's `parallelism`), or None."""
        self._pods = (threading.BoundedSemaphore(self.parallelism) if self.parallelism
                      else None)

    def run(self) -> None:
        """Run the entrypoint, then the exit handler; raise the first StepFailed."""
        error: BaseException | None = None
        try:
            self.template(self.spec["entrypoint"], {}, "")
        except (StepFailed, WorkflowError) as exc:
            error = exc
        on_exit = self.spec.get("onExit")
        if on_exit:
            self.globals["workflow.status"] = "Failed" if error else "Succeeded"
            try:
                self.template(on_exit, {}, "onExit/")
            except StepFailed as exc:
                error = error or exc
        if error is not None:
            raise error

    def template(self, name: str, inputs: dict[str, str], node: str) -> dict[str, str]:
        """Run template `name` with `inputs`; its output parameters."""
        if name not in self.templates:
            raise WorkflowError(f"no template named {name!r}")
        t = self.templates[name]
        values: dict[str, str] = {}
        for p in t.get("inputs", {}).get("parameters", []):
            value = inputs.get(p["name"], p.get("value", p.get("default")))
            if value is None:
                raise WorkflowError(f"template {name!r}: input {p['name']!r} has no value")
            values[p["name"]] = str(value)
        if "dag" in t:
            scope = {**self.globals, **{f"inputs.parameters.{k}": v for k, v in values.items()}}
            return self._dag(t, scope, node)
        if "script" in t:
            return self._script(t, values, node.rstrip("/"))
        raise WorkflowError(f"template {name!r}: only dag and script templates run locally")

    def _dag(self, t: dict, scope: dict[str, str], node: str) -> dict[str, str]:
        tasks = {task["name"]: task for task in t["dag"]["tasks"]}
        deps = {name: dependencies(task) for name, task in tasks.items()}
        for name, wanted in deps.items():
            unknown = sorted(wanted - set(tasks))
            if unknown:
                raise WorkflowError(f"task {name!r} depends on unknown tasks {unknown}")
        limit = _parallelism(t, f"template {t['name']!r}") or len(tasks)
        outputs: dict[str, str] = {}
        done: set[str] = set()
        failure: BaseException | None = None
        running: dict[Future, str] = {}

        def finished(name: str, result: dict[str, str]) -> None:
            done.add(name)
            outputs.update({f"tasks.{name}.outputs.parameters.{k}": v for k, v in result.items()})

        with ThreadPoolExecutor(max_workers=max(1, min(limit, len(tasks)))) as threads:
            while True:
                if failure is None and not self._cancelled(node):
                    ready = [name for name in tasks if name not in done
                             and name not in running.values() and deps[name] <= done]
                    if len(ready) == 1 and not running:
                        # the only task that can run now: here, not on another thread (a chain
                        # of steps then costs no thread hand-offs)
                        name = ready[0]
                        try:
                            result = self._task(tasks[name], {**scope, **outputs},
                                                f"{node}{name}")
                        except (StepFailed, WorkflowError) as exc:
                            failure = exc
                        else:
                            finished(name, result)
                        continue
                    for name in ready[: max(0, limit - len(running))]:
                        future = threads.submit(self._task, tasks[name], {**scope, **outputs},
                                                f"{node}{name}")
                        running[future] = name
                if not running:
                    break
                over, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in over:
                    name = running.pop(future)
                    try:
                        result = future.result()
                    except (StepFailed, WorkflowError) as exc:
                        failure = failure or exc
                        continue
                    finished(name, result)
        if failure is not None:
            raise failure
        if self._cancelled(node) and done != set(tasks):
            raise Cancelled(node.rstrip("/") or "workflow", CANCELLED)
        if done != set(tasks):
            raise WorkflowError(f"tasks never ready (cycle?): {sorted(set(tasks) - done)}")
        return {}

    def _task(self, task: dict, scope: dict[str, str], node: str) -> dict[str, str]:
        if "when" in task:
            raise WorkflowError(f"task {task['name']!r}: 'when' is not supported locally")
        if "withParam" in task:
            items = json.loads(substitute(task["withParam"], scope))
            if not isinstance(items, list):
                raise WorkflowError(f"task {task['name']!r}: withParam is not a JSON list")
        elif "withItems" in task:
            items = task["withItems"]
        else:
            return self.template(task["template"], self._arguments(task, scope), f"{node}/")
        return self._fan_out(task, scope, items, node)

    def _fan_out(self, task: dict, scope: dict[str, str], items: list, node: str) -> dict:
        if not items:
            return {}
        # items beyond `parallelism` could not run a step anyway: they wait for a thread
        width = min(len(items), self.parallelism or len(items))
        with ThreadPoolExecutor(max_workers=width) as threads:
            futures = [
                threads.submit(
                    self.template,
                    task["template"],
                    self._arguments(task, {**scope, **_item_scope(item)}),
                    f"{node}({i})/",
                )
                for i, item in enumerate(items)
            ]
            results, failure = [], None
            for future in futures:
                try:
                    results.append(future.result())
                except (StepFailed, WorkflowError) as exc:
                    failure = failure or exc
        if failure is not None:
            raise failure
        names = set().union(*(r.keys() for r in results))
        return {k: json.dumps([r.get(k) for r in results]) for k in names}

    @staticmethod
    def _arguments(task: dict, scope: dict[str, str]) -> dict[str, str]:
        params = task.get("arguments", {}).get("parameters", [])
        return {p["name"]: substitute(str(p.get("value", "")), scope) for p in params}

    def _script(self, t: dict, inputs: dict[str, str], node: str) -> dict[str, str]:
        retry = t.get("retryStrategy") or {}
        limit = int(retry.get("limit", 0) or 0)
        if self.max_retries is not None:
            limit = min(limit, self.max_retries)
        backoff = retry.get("backoff") or {}
        delay = parse_duration(backoff.get("duration"))
        factor = float(backoff.get("factor", 1) or 1)
        cap = parse_duration(backoff.get("cap")) or None
        max_total = parse_duration(backoff.get("maxDuration")) or None
        started = time.monotonic()
        if self._cancelled(node):
            raise Cancelled(node, CANCELLED)
        attempt = 0
        while True:
            attempt += 1
            if attempt == 1:
                self._on_node(node, status="running", started_at=_now(), attempts=1, error=None)
            else:
                self._on_node(node, status="running", attempts=attempt)
            try:
                outputs = self._run_limited(node, t, inputs)
            except Exception as exc:  # the step's own failure, whatever it is
                message = _shorten(str(exc) or type(exc).__name__)
                wait_s = min(delay * factor ** (attempt - 1), cap or float("inf"))
                over = max_total is not None and time.monotonic() - started + wait_s > max_total
                if attempt > limit or over or self._stop.is_set() or self._cancelled(node):
                    self._on_node(
                        node, status="failed", finished_at=_now(), attempts=attempt, error=message
                    )
                    raise StepFailed(node, message) from exc
                self._on_node(node, status="running", attempts=attempt, error=message)
                self._sleep(wait_s)
                continue
            self._on_node(
                node, status="succeeded", finished_at=_now(), attempts=attempt, error=None
            )
            self.outputs[node] = dict(outputs)
            return outputs

    def _run_limited(self, node: str, t: dict, inputs: dict[str, str]) -> dict[str, str]:
        """`run_script`, once the workflow's `parallelism` leaves room (a retry's backoff does
        not hold a place)."""
        if self._pods is None:
            return self._run_script(node, t, inputs)
        with self._pods:
            return self._run_script(node, t, inputs)

    def stop(self) -> None:
        """Give up retrying (the engine is shutting down)."""
        self._stop.set()

    def cancel(self) -> None:
        """Stop like Argo's stop: running steps finish, no node of the entrypoint starts or
        retries any more, the exit handler still runs; `run()` then raises Cancelled."""
        self._cancel.set()

    def _cancelled(self, node: str) -> bool:
        return self._cancel.is_set() and not node.startswith("onExit/")
