"""(5) Orchestration overhead per task: the local engine running the detect workflow with empty
steps vs each task as `python -m hera.workflows.runner` in a fresh process, as an Argo pod runs
it (without the pod's scheduling and container start, so the pod figure is a lower bound)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.report import Report, figure
from config import Config, Faults

REPO = Path(__file__).resolve().parents[1]
ITEM = {"media_id": "m0", "modality": "image", "media_path": "ab/m0"}
ARGUMENTS = {"job_id": "bench-orchestration", "media": json.dumps([ITEM])}
TASK_INPUTS = {
    "preprocess": {"job_id": "j", **ITEM},
    "infer": {"job_id": "j", "media_id": "m0", "modality": "image", "features_path": "m0.npz"},
    "persist": {"job_id": "j", "media_id": "m0", "result_path": "m0.result.json"},
    "cleanup-scratch": {"job_id": "j"},
}
"""The script nodes of one media's run (3 steps + the exit handler): 4 tasks."""


def empty_workflow(faults: Faults) -> object:
    from benchmarks import empty_steps as e
    from workflows.detect import DetectSteps, build_detect_workflow

    return build_detect_workflow(
        faults=faults, steps=DetectSteps(e.preprocess, e.infer, e.persist, e.cleanup_scratch))


def engine_per_task_ms(engine: object, runs: int) -> list[float]:
    """Per-task milliseconds of `runs` workflow runs (each 4 tasks in sequence)."""
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        run = engine.run_workflow(ARGUMENTS)
        out.append((time.perf_counter() - start) * 1000.0 / len(TASK_INPUTS))
        if len(run.outputs) != len(TASK_INPUTS):
            raise RuntimeError(f"expected {len(TASK_INPUTS)} tasks, ran {sorted(run.outputs)}")
    return out


def _entrypoint(args: list[str]) -> str:
    """`module:function` of a Hera runner script's args (`-m hera.workflows.runner -e X`)."""
    return args[args.index("-e") + 1]


def fresh_process_ms(template: str, entrypoint: str) -> float:
    """Milliseconds to run one task as the pod's command does, in a new Python process."""
    with tempfile.TemporaryDirectory(prefix="bench-pod-") as tmp:
        inputs = Path(tmp) / "inputs.json"
        inputs.write_text(json.dumps(
            [{"name": k, "value": v} for k, v in TASK_INPUTS[template].items()]))
        env = {**os.environ, "hera__outputs_directory": str(Path(tmp) / "outputs"),
               "OMP_NUM_THREADS": "1"}
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "hera.workflows.runner", "-e", entrypoint,
                        str(inputs)], cwd=REPO, env=env, check=True, capture_output=True)
        return (time.perf_counter() - start) * 1000.0


def orchestration(cfg: Config, quick: bool, report: Report) -> None:
    """Median per-task overhead on the engine, per-task time in fresh processes, their ratio."""
    from workflows.local.engine import LocalEngine

    rounds, engine_runs = (1, 3) if quick else (3, 20)
    engine = LocalEngine(cfg, workflow=empty_workflow(cfg.faults))
    entrypoints = {t["name"]: _entrypoint(t["script"]["args"])
                   for t in engine.manifest["spec"]["templates"] if "script" in t}
    engine_ms, fresh_ms, ratios = [], [], []
    try:
        engine.warm_up(wait=True)
        engine_per_task_ms(engine, 2)  # warm
        for _ in range(rounds):
            e = sorted(engine_per_task_ms(engine, engine_runs))[engine_runs // 2]
            f = sum(fresh_process_ms(name, entrypoints[name]) for name in TASK_INPUTS)
            f /= len(TASK_INPUTS)
            engine_ms.append(e)
            fresh_ms.append(f)
            ratios.append(f / e)
    finally:
        engine.shutdown()
    report.add(figure("local engine overhead per task", engine_ms, "<=", 10, "ms", digits=2))
    report.add(figure("fresh-process task / engine task", ratios, ">=", 50, "x"))
    report.details.update(rounds=rounds, engine_runs_per_round=engine_runs,
                          tasks_per_run=len(TASK_INPUTS),
                          fresh_process_ms_per_task=[round(f, 1) for f in fresh_ms],
                          engine_workers=engine.workers)
