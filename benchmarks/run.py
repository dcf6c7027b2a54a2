"""Run the benchmarks: `python -m benchmarks.run [--quick] [--only NAME ...]` (`make bench`).

Each prints a JSON summary and writes var/bench/<name>.json; a missed target is reported, not an
error: the exit status is 1 only when a benchmark itself crashed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import traceback
from collections.abc import Callable
from contextlib import ExitStack

from benchmarks.report import BENCH_DIR, Report, load_average

NEEDS_API = {"sync_latency", "api_overhead", "concurrency", "video", "memory"}
ORDER = ("sync_latency", "api_overhead", "concurrency", "batch", "orchestration", "video",
         "history", "memory")
"""Memory last: measured after the others, when the processes have done every kind of work."""


def _runner(name: str) -> Callable:
    from benchmarks import batch, history, memory, orchestration, sync, video

    return {
        "sync_latency": lambda s, cfg, q, r: sync.latency(s, q, r),
        "api_overhead": lambda s, cfg, q, r: sync.overhead(s, q, r),
        "concurrency": lambda s, cfg, q, r: sync.concurrency(s, q, r),
        "batch": lambda s, cfg, q, r: batch.batch(cfg, q, r),
        "orchestration": lambda s, cfg, q, r: orchestration.orchestration(cfg, q, r),
        "video": lambda s, cfg, q, r: video.video(s, q, r),
        "history": lambda s, cfg, q, r: history.history(q, r),
        "memory": lambda s, cfg, q, r: memory.memory(s, q, r),
    }[name]


def _enter(cm: ExitStack, chosen: list[str]) -> tuple[object | None, object]:
    """The whole stack when a chosen benchmark talks to the API; else MongoDB + MLflow only."""
    from benchmarks.stack import running_stack, use_var_dir, var_dir

    if NEEDS_API & set(chosen):
        stack = cm.enter_context(running_stack())
        return stack, stack.cfg
    from cli.stack import embedded_stack

    use_var_dir(var_dir())
    return None, cm.enter_context(embedded_stack())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few repeats, small media (smoke)")
    parser.add_argument("--only", nargs="+", choices=ORDER, default=list(ORDER))
    args = parser.parse_args(argv)
    chosen = [n for n in ORDER if n in args.only]
    crashed, summary = [], []
    started = time.perf_counter()
    with ExitStack() as cm:
        stack, cfg = _enter(cm, chosen)
        command = "python -m benchmarks.run" + (" --quick" if args.quick else "")
        for name in chosen:
            report = Report(name, f"{command} --only {name}", quick=args.quick)
            try:
                _runner(name)(stack, cfg, args.quick, report)
            except Exception as exc:  # a crash of this benchmark; the others still run
                traceback.print_exc()
                crashed.append(name)
                report.details["crashed"] = f"{type(exc).__name__}: {exc}"
            summary.append(report.finish())
    table = [{"benchmark": d["name"], **{k: f[k] for k in ("name", "measured", "target",
                                                           "pass")}}
             for d in summary for f in d["figures"]]
    doc = {"seconds": round(time.perf_counter() - started, 1), "load_average": load_average(),
           "crashed": crashed, "figures": table}
    (BENCH_DIR / ("summary-quick.json" if args.quick else "summary.json")).write_text(
        json.dumps(doc, indent=2) + "\n")
    print(json.dumps(doc, indent=2))
    return 1 if crashed else 0


if __name__ == "__main__":
    sys.exit(main())
