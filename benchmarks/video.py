"""(6) Video end to end: upload a 60 s 1280x720 30 fps clip to the API, wait for the result."""

from __future__ import annotations

import time

import requests

from benchmarks import media
from benchmarks.report import Report, figure
from benchmarks.stack import Stack


def analyse(stack: Stack, path: object, timeout: float = 600.0) -> tuple[float, dict]:
    """Seconds from the upload's start to the job's end, and the job."""
    start = time.perf_counter()
    with open(path, "rb") as fh:
        answer = requests.post(f"{stack.base}/api/v1/detections", headers=stack.headers,
                               files={"file": ("clip.mp4", fh, "video/mp4")}, timeout=timeout)
    if answer.status_code not in (200, 202):
        raise RuntimeError(f"upload: {answer.status_code}: {answer.text[:300]}")
    url = f"{stack.base}{answer.json()['status_url']}"
    session = requests.Session()
    while time.perf_counter() - start < timeout:
        job = session.get(url, headers=stack.headers, timeout=30).json()
        if job["status"] in ("succeeded", "failed"):
            seconds = time.perf_counter() - start
            if job["status"] != "succeeded":
                raise RuntimeError(f"video job failed: {job.get('error')}")
            return seconds, job
        time.sleep(0.1)
    raise TimeoutError(f"video job not done in {timeout} s")


def video(stack: Stack, quick: bool, report: Report) -> None:
    """Median seconds over rounds (quick: a 5 s 640x360 clip, one round)."""
    if quick:
        rounds, clip = 1, media.video_clip(5.0, 640, 360, 30.0)
    else:
        rounds, clip = 3, media.video_clip(60.0, 1280, 720, 30.0)
    seconds, nodes = [], []
    for _ in range(rounds):
        s, job = analyse(stack, clip)
        seconds.append(s)
        nodes.append({name: _node_s(node) for name, node in (job.get("nodes") or {}).items()})
    label = "60 s 1280x720 30 fps clip" if not quick else "5 s 640x360 clip (quick)"
    report.add(figure(f"{label}, end to end", seconds, "<=", 20, "s", digits=2))
    report.details.update(rounds=rounds, clip=str(clip), clip_mb=round(clip.stat().st_size / 1e6,
                                                                       1),
                          node_seconds=nodes)


def _node_s(node: dict) -> float | None:
    from datetime import datetime

    try:
        started = datetime.fromisoformat(str(node["started_at"]))
        finished = datetime.fromisoformat(str(node["finished_at"]))
    except (KeyError, ValueError):
        return None
    return round((finished - started).total_seconds(), 2)
