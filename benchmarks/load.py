"""`make load`: N concurrent clients upload a mix of the four modalities (sync and async) to
the real stack on loopback for a bounded time and count; then every accepted upload must have
exactly one result and no answer may be a 5xx. Latency percentiles and throughput go to
var/bench/load.json. Not part of `make test` (about 2 minutes)."""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import requests

from benchmarks.report import BENCH_DIR

KINDS = ("image", "audio", "video", "text")
REQUEST_TIMEOUT_S = 180.0
SETTLE_TIMEOUT_S = 300.0
"""After the run: how long accepted jobs may take to finish before they count as lost."""


@dataclass
class Call:
    """One upload: what was sent, how it was answered, how long it took."""

    kind: str
    mode: str
    status: int
    seconds: float
    job_id: str | None = None
    results: int | None = None
    """Results in a 200 answer (None for a 202: read when the job is done)."""


def media() -> dict[str, tuple[bytes, str]]:
    """One small file of each modality, made here: (bytes, filename)."""
    import cv2
    import soundfile as sf

    rng = np.random.default_rng(0)
    photo = cv2.GaussianBlur(rng.integers(0, 256, (240, 320, 3), dtype=np.uint8), (5, 5), 0)
    jpeg = cv2.imencode(".jpg", photo)[1].tobytes()
    rate = 16_000
    t = np.arange(3 * rate) / rate
    voice = 0.3 * np.sin(2 * np.pi * 180 * t) * (1 + np.sin(2 * np.pi * 3 * t))
    wav = io.BytesIO()
    sf.write(wav, (voice + 0.01 * rng.standard_normal(t.size)).astype(np.float32), rate,
             format="WAV")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "clip.mp4"
        writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 6.0, (160, 120))
        for i in range(12):
            writer.write(np.roll(cv2.resize(photo, (160, 120)), i * 4, axis=1))
        writer.release()
        mp4 = path.read_bytes()
    text = ("The committee met on Tuesday to review the budget for the coming year. Several "
            "members raised questions about the cost of the new library, and the chair asked "
            "for a revised estimate before the next meeting. ") * 3
    return {"image": (jpeg, "photo.jpg"), "audio": (wav.getvalue(), "speech.wav"),
            "video": (mp4, "clip.mp4"), "text": (text.encode(), "note.txt")}


def _upload(session: requests.Session, base: str, headers: dict[str, str], kind: str,
            mode: str, files: dict[str, tuple[bytes, str]]) -> Call:
    data, name = files[kind]
    start = time.perf_counter()
    try:
        if kind == "text":
            answer = session.post(f"{base}/api/v1/detections?mode={mode}", headers=headers,
                                  json={"text": data.decode()}, timeout=REQUEST_TIMEOUT_S)
        else:
            answer = session.post(f"{base}/api/v1/detections?mode={mode}", headers=headers,
                                  files={"file": (name, data)}, timeout=REQUEST_TIMEOUT_S)
    except requests.RequestException:
        return Call(kind, mode, 599, time.perf_counter() - start)  # no answer: a server fault
    seconds = time.perf_counter() - start
    body = answer.json() if answer.headers.get("Content-Type", "").startswith(
        "application/json") else {}
    results = len(body.get("results") or []) if answer.status_code == 200 else None
    return Call(kind, mode, answer.status_code, seconds, body.get("job_id"), results)


def run_load(base: str, headers: dict[str, str], clients: int, seconds: float,
             max_requests: int, files: dict[str, tuple[bytes, str]],
             kinds: tuple[str, ...] = KINDS) -> tuple[list[Call], float]:
    """`clients` threads upload in turn each of `kinds` (video async, the others alternating
    sync and async) until `seconds` pass or `max_requests` were sent; (calls, elapsed s)."""
    calls: list[Call] = []
    lock = threading.Lock()
    sent = [0]
    deadline = time.monotonic() + seconds

    def client(index: int) -> None:
        session = requests.Session()
        turn = index
        while time.monotonic() < deadline:
            with lock:
                if sent[0] >= max_requests:
                    return
                sent[0] += 1
            kind = kinds[turn % len(kinds)]
            mode = "async" if kind == "video" or (turn // len(kinds)) % 2 else "sync"
            turn += 1
            call = _upload(session, base, headers, kind, mode, files)
            with lock:
                calls.append(call)

    start = time.monotonic()
    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(seconds + REQUEST_TIMEOUT_S + 10)
    return calls, time.monotonic() - start


def settle(base: str, headers: dict[str, str], calls: list[Call],
           timeout_s: float = SETTLE_TIMEOUT_S) -> dict[str, int]:
    """Wait for every accepted job to finish; count jobs by how many results each has
    (`{"1": n, ...}`), `"unfinished"` for jobs still running at the timeout, `"failed"` too."""
    accepted = {c.job_id for c in calls if c.job_id and c.status in (200, 202)}
    counts: dict[str, int] = {}
    deadline = time.monotonic() + timeout_s
    session = requests.Session()
    for job_id in sorted(accepted):
        while True:
            job = session.get(f"{base}/api/v1/jobs/{job_id}", headers=headers, timeout=60).json()
            if job.get("status") in ("succeeded", "failed") or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        status = job.get("status")
        key = (str(len(job.get("results") or [])) if status == "succeeded"
               else "failed" if status == "failed" else "unfinished")
        counts[key] = counts.get(key, 0) + 1
    return counts


def _percentile(values: list[float], q: float) -> float | None:
    return round(float(np.percentile(values, q)) * 1000, 1) if values else None


def summarize(calls: list[Call], elapsed: float, jobs: dict[str, int],
              clients: int) -> dict[str, Any]:
    """Latency percentiles (ms) overall and per kind and mode, throughput, the checks."""
    accepted = [c for c in calls if c.status in (200, 202)]
    groups: dict[str, list[float]] = {}
    for c in accepted:
        groups.setdefault(f"{c.kind}/{c.mode}", []).append(c.seconds)
    statuses: dict[str, int] = {}
    for c in calls:
        statuses[str(c.status)] = statuses.get(str(c.status), 0) + 1
    server_errors = sum(1 for c in calls if c.status >= 500)
    lost = sum(n for key, n in jobs.items() if key != "1")
    return {
        "clients": clients, "seconds": round(elapsed, 1), "requests": len(calls),
        "accepted": len(accepted), "statuses": statuses,
        "throughput_rps": round(len(accepted) / elapsed, 2) if elapsed else None,
        "p50_ms": _percentile([c.seconds for c in accepted], 50),
        "p99_ms": _percentile([c.seconds for c in accepted], 99),
        "by_kind": {k: {"n": len(v), "p50_ms": _percentile(v, 50), "p99_ms": _percentile(v, 99)}
                    for k, v in sorted(groups.items())},
        "jobs_by_result_count": jobs,
        "server_errors": server_errors,
        "jobs_without_exactly_one_result": lost,
        "ok": server_errors == 0 and lost == 0 and len(accepted) > 0,
    }


def main(argv: list[str] | None = None,
         stack: Callable[[], Any] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="benchmarks.load", description=__doc__)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--max-requests", type=int, default=5000)
    parser.add_argument("--out", type=Path, default=BENCH_DIR / "load.json")
    args = parser.parse_args(argv)
    os.environ.setdefault("METRICS_PORT", "0")  # beside other stacks on this machine
    if stack is None:
        from benchmarks.stack import running_stack

        stack = running_stack
    files = media()
    with stack() as running:
        calls, elapsed = run_load(running.base, running.headers, args.clients, args.seconds,
                                  args.max_requests, files)
        jobs = settle(running.base, running.headers, calls)
    summary = summarize(calls, elapsed, jobs, args.clients)
    summary["calls"] = [asdict(c) for c in calls]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(summary, indent=2))
    shown = {k: v for k, v in summary.items() if k != "calls"}
    print(json.dumps(shown, indent=2))
    return 0 if summary["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
