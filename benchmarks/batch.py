"""(4) Batch: the local engine scores N images vs one process calling the same steps
(preprocess -> infer -> persist) in a loop; side by side in each round.

The images go to the engine as jobs of MAX_FILES_PER_REQUEST (16), as uploads through the API
arrive: one job of 200 media failed on the local engine (every fanned-out node writes the one job
document at once and `storage._common.modify` gives up after 50 attempts)."""

from __future__ import annotations

import json
import os
import resource
import shutil
import time
from collections.abc import Callable
from typing import Any

from benchmarks import media
from benchmarks.report import Report, figure
from config import Config

OWNER = "bench-batch"


def store_images(cfg: Config, n: int) -> list[str]:
    """`n` distinct 640x480 photos stored as media (content-addressed, probed like uploads)."""
    from storage.db import get_db
    from workflows.ingest import stage, store_media_and_queued_job

    staged = [stage(p, p.name, cfg.limits) for p in media.photo_set(n)]
    job = store_media_and_queued_job(get_db(), staged, OWNER, "local", "async", cfg.media_root,
                                     move=False)
    return job["media_ids"]


def single_process(cfg: Config, media_ids: list[str]) -> float:
    """Seconds for this process to run preprocess -> infer -> persist on every media in turn."""
    from steps.infer import infer
    from steps.persist import persist
    from steps.preprocess import preprocess
    from storage.db import get_db
    from storage.jobs import create_job, update_job
    from storage.media import get_media

    db = get_db()
    job_id = create_job(db, OWNER, media_ids, "loop", "async")["job_id"]
    start = time.perf_counter()
    for media_id in media_ids:
        doc = get_media(db, media_id)
        features = preprocess(job_id, media_id, doc["modality"], doc["path"])
        result = infer(job_id, media_id, doc["modality"], features)
        persist(job_id, media_id, result)
    seconds = time.perf_counter() - start
    update_job(db, job_id, status="succeeded")
    shutil.rmtree(cfg.scratch_root / job_id, ignore_errors=True)
    return seconds


def on_engine(engine: Any, media_ids: list[str], per_job: int,
              timeout: float = 900.0) -> tuple[float, list[str]]:
    """Seconds from the first submit to the end of the last job, `media_ids` cut into jobs of
    `per_job` (as the API makes them: MAX_FILES_PER_REQUEST files a request), and the errors of
    the jobs that failed (a finding about the engine, not a crash of the benchmark)."""
    from storage.db import get_db
    from storage.jobs import create_job, get_job

    db = get_db()
    chunks = [media_ids[i:i + per_job] for i in range(0, len(media_ids), per_job)]
    job_ids = [create_job(db, OWNER, chunk, engine.name, "async")["job_id"] for chunk in chunks]
    start = time.perf_counter()
    for job_id in job_ids:
        engine.submit(job_id)
    failed = []
    for job_id in job_ids:
        if engine.wait(job_id, timeout=timeout) != "succeeded":
            failed.append(f"{job_id}: {(get_job(db, job_id) or {}).get('error')}"[:300])
    return time.perf_counter() - start, failed


def _proc_cpu_s(pid: int | None) -> float:
    """User + system CPU seconds of a process so far (0 when unknown or gone)."""
    if pid is None:
        return 0.0
    try:
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _self_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _mongo_pid(cfg: Config) -> int | None:
    """The embedded MongoDB's pid when this benchmark's stack runs one (else None)."""
    try:
        return int(json.loads((cfg.var_dir / "mongo" / "server.json").read_text())["pid"])
    except (OSError, ValueError, KeyError):
        return None


def _cpu_of(run: Callable[[], Any], pids: list[int], mongo: int | None) -> tuple[Any, dict]:
    """`run()`'s answer and the CPU seconds it cost: this process, `pids`, MongoDB."""
    before = (_self_cpu_s(), sum(_proc_cpu_s(p) for p in pids), _proc_cpu_s(mongo))
    answer = run()
    after = (_self_cpu_s(), sum(_proc_cpu_s(p) for p in pids), _proc_cpu_s(mongo))
    spent = [round(b - a, 2) for a, b in zip(before, after, strict=True)]
    return answer, {"this_process": spent[0], "workers": spent[1], "mongodb": spent[2]}


def batch(cfg: Config, quick: bool, report: Report) -> None:
    """Engine vs loop on the same media, `rounds` times; the speed-up's median."""
    from workflows.local.engine import LocalEngine

    rounds, n = (1, 10) if quick else (2, 200)  # 3 rounds took 4 of `make bench`'s 8 minutes
    per_job = cfg.limits.max_files_per_request
    media_ids = store_images(cfg, n)
    try:  # the loop at its fastest: torch on one thread (2 threads on 2 busy cores was slower)
        import torch

        torch.set_num_threads(1)
    except ImportError:
        pass
    engine = LocalEngine(cfg)
    mongo = _mongo_pid(cfg)
    try:
        workers = sorted(engine.warm_up(wait=True))
        on_engine(engine, media_ids[:2], per_job)  # workers warm: models and imports loaded
        single_process(cfg, media_ids[:2])
        speedups, loop_s, engine_s, failures = [], [], [], []
        engine_cpu, loop_cpu = [], []
        for i in range(rounds):
            # every other round the loop goes first: a load that changes during a round (the
            # machine is shared) then favours neither side
            order = ("engine", "loop") if i % 2 == 0 else ("loop", "engine")
            for side in order:
                if side == "engine":
                    (seconds, failed), cpu = _cpu_of(
                        lambda: on_engine(engine, media_ids, per_job), workers, mongo)
                    engine_s.append(round(seconds, 2))
                    engine_cpu.append(cpu)
                    failures.append(failed)
                else:
                    seconds, cpu = _cpu_of(lambda: single_process(cfg, media_ids), [], mongo)
                    loop_s.append(round(seconds, 2))
                    loop_cpu.append(cpu)
            if not failures[-1]:  # a round with failed jobs ended early: its time says nothing
                speedups.append(loop_s[-1] / engine_s[-1])
    finally:
        engine.shutdown()
    report.add(figure(f"{n} images: loop time / engine time", speedups or [0.0], ">=", 1.5,
                      "x", digits=2))
    report.add(figure("engine jobs failed", [float(len(f)) for f in failures], "<=", 0, "",
                      digits=0))
    report.details.update(job_errors=[e for f in failures for e in f][:5],
                          rounds_without_failures=len(speedups),
                          rounds=rounds, images=n, image_size="640x480", images_per_job=per_job,
                          engine_workers=engine.workers, engine_s=engine_s, loop_s=loop_s,
                          loop_torch_threads=1,
                          # CPU seconds a round (this process: the engine's threads or the loop;
                          # workers: the engine's processes; mongodb: the embedded server):
                          # what the load of a shared machine does not change
                          engine_cpu_s=engine_cpu, loop_cpu_s=loop_cpu,
                          engine_images_per_s=[round(n / s, 1) for s in engine_s],
                          loop_images_per_s=[round(n / s, 1) for s in loop_s])
