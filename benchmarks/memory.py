"""(8) Memory: resident set of the inference service (four models loaded) and of the API."""

from __future__ import annotations

import time

from benchmarks.report import Report, figure
from benchmarks.stack import Stack, cmdline, rss_bytes

MIB = 1024 * 1024


def memory(stack: Stack, quick: bool, report: Report) -> None:
    """Median VmRSS over samples (taken after the other benchmarks: steady state), peaks beside."""
    import requests

    samples = 3 if quick else 5
    # the readiness probe (Kubernetes calls it every few seconds) asks the model registry: the
    # API's figure includes what that loads (MLflow's client; not torch)
    ready = requests.get(f"{stack.base}/readyz", timeout=60)
    inference, api = [], []
    for _ in range(samples):
        inference.append(rss_bytes(stack.inference_pid) / MIB)
        api.append(rss_bytes(stack.api_pid) / MIB)
        time.sleep(0.2)
    report.add(figure("inference service RSS (4 models)", inference, "<=", 1536, "MiB"))
    report.add(figure("api RSS", api, "<=", 500, "MiB"))
    workers = {}
    for pid in stack.others:
        try:
            workers[f"{pid} {' '.join(cmdline(pid))[:70]}"] = round(rss_bytes(pid) / MIB, 1)
        except (OSError, LookupError):
            continue
    report.details.update(
        samples=samples,
        api_readyz=ready.status_code,
        api_imports_torch=_maps_torch(stack.api_pid),
        peak_mib={"inference": round(rss_bytes(stack.inference_pid, "VmHWM") / MIB, 1),
                  "api": round(rss_bytes(stack.api_pid, "VmHWM") / MIB, 1)},
        other_processes_mib=workers,
    )


def _maps_torch(pid: int) -> bool | None:
    """Whether the process has torch's shared library mapped (it imported torch)."""
    try:
        return "libtorch" in open(f"/proc/{pid}/maps").read()
    except OSError:
        return None
