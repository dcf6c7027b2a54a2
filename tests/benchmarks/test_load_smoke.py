"""Smoke test of `make load`'s logic: 2 clients for 2 s against the real API over HTTP (stand-in
engine and inference, from the harness tests); the summary and its checks."""

from __future__ import annotations

import json
from contextlib import nullcontext
from pathlib import Path

from test_bench_harness import api_stack  # noqa: F401 - the fixture

from benchmarks import load


def test_load_runs_checks_and_writes_its_figures(api_stack, tmp_path: Path) -> None:  # noqa: F811
    out = tmp_path / "load.json"
    code = load.main(["--clients", "2", "--seconds", "2", "--max-requests", "40",
                      "--out", str(out)], stack=lambda: nullcontext(api_stack))
    summary = json.loads(out.read_text())
    assert code == 0 and summary["ok"], {k: v for k, v in summary.items() if k != "calls"}
    assert 0 < summary["requests"] <= 40 and summary["server_errors"] == 0
    assert set(summary["jobs_by_result_count"]) == {"1"}
    kinds = {c["kind"] for c in summary["calls"]}
    assert kinds == set(load.KINDS) or summary["requests"] < 4
    assert summary["p50_ms"] <= summary["p99_ms"]


def test_a_job_without_its_result_or_a_5xx_fails_the_run() -> None:
    calls = [load.Call("image", "sync", 200, 0.1, "a", 1), load.Call("text", "async", 202, 0.2,
                                                                     "b")]
    assert load.summarize(calls, 1.0, {"1": 2}, 2)["ok"]
    assert not load.summarize(calls, 1.0, {"1": 1, "0": 1}, 2)["ok"]
    assert not load.summarize(calls, 1.0, {"1": 1, "2": 1}, 2)["ok"]
    broken = [*calls, load.Call("audio", "sync", 500, 0.3)]
    assert not load.summarize(broken, 1.0, {"1": 2}, 2)["ok"]
