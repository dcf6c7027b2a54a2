"""The manifest walker on its own: parameters, fan-out, dependencies, retries, exit handler."""

from __future__ import annotations

import json
import threading

import pytest
from wf_helpers import toy_workflow

from workflows.local.walk import (
    StepFailed,
    WorkflowError,
    WorkflowRun,
    dependencies,
    parse_duration,
    substitute,
)

MEDIA = [
    {"media_id": "m1", "modality": "text", "media_path": "a/b.txt"},
    {"media_id": "m2", "modality": "text", "media_path": "c.txt"},
]


class Recorder:
    """A run_script that records calls and answers each template's outputs."""

    def __init__(self, fail: dict[str, int] | None = None) -> None:
        self.calls: list[tuple[str, str, dict]] = []
        self.fail = dict(fail or {})  # template name -> failures before success (-1: always)
        self.lock = threading.Lock()

    def __call__(self, node: str, template: dict, inputs: dict[str, str]) -> dict[str, str]:
        name = template["name"]
        with self.lock:
            self.calls.append((node, name, dict(inputs)))
            left = self.fail.get(name, 0)
            if left:
                self.fail[name] = left - 1 if left > 0 else left
                raise RuntimeError(f"{name} broke")
        outs = template.get("outputs", {}).get("parameters", [])
        return {p["name"]: f"{name}:{inputs.get('media_id', '')}" for p in outs}


@pytest.fixture(scope="module")
def manifest() -> dict:
    return toy_workflow(retries=2).to_dict()


def run(manifest, recorder, media=MEDIA, sleeps=None):
    nodes: dict[str, dict] = {}
    lock = threading.Lock()

    def on_node(node, **fields):
        with lock:
            nodes.setdefault(node, {}).update(fields)

    waits = sleeps if sleeps is not None else []
    walk = WorkflowRun(
        manifest, {"job_id": "job1", "media": json.dumps(media)}, recorder, on_node, waits.append
    )
    walk.run()
    return nodes


def test_fan_out_runs_every_step_in_order_with_parameters(manifest):
    rec = Recorder()
    nodes = run(manifest, rec)
    by_node = {node: (name, inputs) for node, name, inputs in rec.calls}
    assert set(by_node) == {
        "detect-one(0)/preprocess", "detect-one(0)/infer", "detect-one(0)/persist",
        "detect-one(1)/preprocess", "detect-one(1)/infer", "detect-one(1)/persist",
        "onExit/cleanup-scratch",
    }
    assert by_node["detect-one(0)/preprocess"][1] == {
        "job_id": "job1", "media_id": "m1", "modality": "text", "media_path": "a/b.txt"
    }
    assert by_node["detect-one(1)/infer"][1]["features_path"] == "preprocess:m2"
    assert by_node["detect-one(1)/persist"][1]["result_path"] == "infer:m2"
    assert by_node["onExit/cleanup-scratch"][1] == {"job_id": "job1"}
    order = [node for node, _, _ in rec.calls]
    for i in (0, 1):
        steps = [order.index(f"detect-one({i})/{s}") for s in ("preprocess", "infer", "persist")]
        assert steps == sorted(steps)
    assert order[-1] == "onExit/cleanup-scratch"
    assert all(n["status"] == "succeeded" and n["attempts"] == 1 for n in nodes.values())
    assert all(n["started_at"] <= n["finished_at"] for n in nodes.values())


def test_retries_with_backoff_then_success(manifest):
    rec = Recorder(fail={"infer": 2})
    sleeps: list[float] = []
    nodes = run(manifest, rec, media=MEDIA[:1], sleeps=sleeps)
    assert nodes["detect-one(0)/infer"]["attempts"] == 3
    assert nodes["detect-one(0)/infer"]["status"] == "succeeded"
    assert nodes["detect-one(0)/infer"]["error"] is None
    assert sleeps == [0.0, 0.0]  # backoff "0s" in the toy workflow


def test_backoff_grows_by_factor():
    manifest = toy_workflow(retries=3).to_dict()
    for t in manifest["spec"]["templates"]:
        if t["name"] == "persist":
            t["retryStrategy"]["backoff"] = {"duration": "2s", "factor": "3", "cap": "10s"}
    sleeps: list[float] = []
    with pytest.raises(StepFailed):
        run(manifest, Recorder(fail={"persist": -1}), media=MEDIA[:1], sleeps=sleeps)
    assert sleeps == [2.0, 6.0, 10.0]


def test_exhausted_retries_fail_the_run_and_still_run_the_exit_handler(manifest):
    rec = Recorder(fail={"preprocess": -1})
    with pytest.raises(StepFailed) as info:
        run(manifest, rec, media=MEDIA[:1])
    assert info.value.node == "detect-one(0)/preprocess"
    assert "preprocess broke" in info.value.message
    names = [name for _, name, _ in rec.calls]
    assert names.count("preprocess") == 3  # 1 + 2 retries
    assert "infer" not in names
    assert names[-1] == "cleanup-scratch"


def test_empty_fan_out_succeeds(manifest):
    rec = Recorder()
    run(manifest, rec, media=[])
    assert [name for _, name, _ in rec.calls] == ["cleanup-scratch"]


def test_unknown_parameters_are_errors(manifest):
    with pytest.raises(WorkflowError):
        WorkflowRun(manifest, {"nope": "1"}, Recorder())
    with pytest.raises(WorkflowError):
        substitute("{{tasks.ghost.outputs.parameters.x}}", {})


def test_substitute_and_helpers():
    scope = {"item.a": "1", "inputs.parameters.b": "two"}
    assert substitute("{{item.a}}-{{ inputs.parameters.b }}", scope) == "1-two"
    assert parse_duration("1m30s") == 90.0
    assert parse_duration("250ms") == 0.25
    assert parse_duration(5) == 5.0
    with pytest.raises(WorkflowError):
        parse_duration("soon")
    assert dependencies({"depends": "a && b.Succeeded"}) == {"a", "b"}
    assert dependencies({"dependencies": ["x"]}) == {"x"}
    with pytest.raises(WorkflowError):
        dependencies({"depends": "a || b"})
    with pytest.raises(WorkflowError):
        dependencies({"depends": "a.Failed"})


class Concurrency(Recorder):
    """A Recorder that notes how many scripts run at once. The first `width` calls of template
    `hold` wait until all of them run together, so a limit that is not applied shows (a limit
    that is applied lets only one batch through: the barrier is never waited for again)."""

    def __init__(self, width: int, hold: str = "preprocess") -> None:
        super().__init__()
        self.now = 0
        self.most = 0
        self.held = 0
        self.width = width
        self.hold = hold
        self.together = threading.Barrier(width)
        self.threads: set[int] = set()

    def __call__(self, node, template, inputs):
        with self.lock:
            self.now += 1
            self.most = max(self.most, self.now)
            self.threads.add(threading.get_ident())
            wait = template["name"] == self.hold and self.held < self.width
            self.held += wait
        try:
            if wait:
                self.together.wait(timeout=30)  # for the others, not a time limit
            return super().__call__(node, template, inputs)
        finally:
            with self.lock:
                self.now -= 1


def _media(n: int) -> list[dict]:
    return [{"media_id": f"m{i}", "modality": "text", "media_path": f"{i}.txt"}
            for i in range(n)]


@pytest.mark.parametrize("limit", [1, 2, 3])
def test_workflow_parallelism_limits_the_scripts_running_at_once(limit):
    manifest = toy_workflow(retries=0).to_dict()
    manifest["spec"]["parallelism"] = limit
    rec = Concurrency(width=limit)
    nodes = run(manifest, rec, media=_media(7))
    assert len(rec.calls) == 7 * 3 + 1
    assert rec.most == limit  # reached (the barrier) and never passed
    assert all(n["status"] == "succeeded" for n in nodes.values())
    assert len(rec.threads) <= limit + 1  # fan-out threads bounded too (+ the exit handler's)


def _three_at_once(parallelism: int | None) -> dict:
    """A workflow whose DAG has three independent script tasks."""
    script = {"name": "work", "inputs": {"parameters": [{"name": "n"}]},
              "script": {"image": "x", "source": "pass"}}
    dag = {"name": "main", "dag": {"tasks": [
        {"name": f"t{i}", "template": "work",
         "arguments": {"parameters": [{"name": "n", "value": str(i)}]}} for i in range(3)]}}
    if parallelism is not None:
        dag["parallelism"] = parallelism
    return {"kind": "Workflow", "metadata": {"generateName": "p-"},
            "spec": {"entrypoint": "main", "templates": [dag, script]}}


def test_dag_template_parallelism_limits_its_tasks():
    free = Concurrency(width=3, hold="work")
    WorkflowRun(_three_at_once(None), {}, free).run()
    assert free.most == 3 and len(free.calls) == 3
    limited = Concurrency(width=1, hold="work")
    WorkflowRun(_three_at_once(1), {}, limited).run()
    assert limited.most == 1 and len(limited.calls) == 3


@pytest.mark.parametrize("value", [0, -2, "many"])
def test_bad_parallelism_is_an_error(value):
    manifest = toy_workflow(retries=0).to_dict()
    manifest["spec"]["parallelism"] = value
    with pytest.raises(WorkflowError):
        WorkflowRun(manifest, {"job_id": "j", "media": "[]"}, Recorder())


def test_a_node_is_reported_running_once_with_its_first_attempt(manifest):
    events: list[tuple[str, dict]] = []
    lock = threading.Lock()

    def on_node(node, **fields):
        with lock:
            events.append((node, fields))

    walk = WorkflowRun(manifest, {"job_id": "j", "media": json.dumps(MEDIA[:1])},
                       Recorder(fail={"infer": 1}), on_node, lambda s: None)
    walk.run()
    pre = [f for n, f in events if n == "detect-one(0)/preprocess"]
    assert [f["status"] for f in pre] == ["running", "succeeded"]
    assert pre[0]["attempts"] == 1 and "started_at" in pre[0] and pre[0]["error"] is None
    infer = [f for n, f in events if n == "detect-one(0)/infer"]
    assert [(f["status"], f["attempts"]) for f in infer] == [
        ("running", 1), ("running", 1), ("running", 2), ("succeeded", 2)]
    assert infer[1]["error"] == "infer broke"
