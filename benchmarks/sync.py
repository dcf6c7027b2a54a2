"""Sync detections over real HTTP: latency (1), API overhead vs in-process scoring (2),
16-client throughput vs one client (3)."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from benchmarks import media
from benchmarks.report import Report, figure, median, percentile
from benchmarks.stack import Stack

MIME = {".jpg": "image/jpeg", ".wav": "audio/wav"}


class SyncFailed(Exception):
    """A sync request did not come back 200 from the inference service."""


@dataclass
class Inputs:
    """The three sync inputs: a 1024x768 JPEG, 2 KB of text, 10 s of speech."""

    image: Path
    text: str
    audio: Path

    @classmethod
    def make(cls) -> Inputs:
        return cls(media.photo_jpeg(1024, 768), media.make_text(2048), media.speech_wav(10.0))


class SyncClient:
    """POST /api/v1/detections?mode=sync from one thread per session; latency in ms."""

    def __init__(self, stack: Stack) -> None:
        self.url = f"{stack.base}/api/v1/detections?mode=sync"
        self.headers = stack.headers
        self._local = threading.local()

    def _session(self) -> requests.Session:
        if getattr(self._local, "session", None) is None:
            self._local.session = requests.Session()
        return self._local.session

    def file(self, path: Path) -> float:
        body = path.read_bytes()
        start = time.perf_counter()
        answer = self._session().post(
            self.url, headers=self.headers, timeout=120,
            files={"file": (path.name, body, MIME.get(path.suffix, "application/octet-stream"))})
        return self._check(answer, start)

    def text(self, text: str) -> float:
        start = time.perf_counter()
        answer = self._session().post(self.url, headers=self.headers, json={"text": text},
                                      timeout=120)
        return self._check(answer, start)

    @staticmethod
    def _check(answer: requests.Response, start: float) -> float:
        ms = (time.perf_counter() - start) * 1000.0
        if answer.status_code != 200:
            raise SyncFailed(f"{answer.status_code}: {answer.text[:300]}")
        body = answer.json()
        if body.get("engine") != "inference" or not body.get("results"):
            raise SyncFailed(f"not scored by the inference service: {str(body)[:300]}")
        return ms


def _times(call: Callable[[], float], n: int) -> list[float]:
    return [call() for _ in range(n)]


def latency(stack: Stack, quick: bool, report: Report) -> None:
    """(1) One client, sequential: image p50/p99, text p50, audio p50; median over rounds."""
    inputs, client = Inputs.make(), SyncClient(stack)
    rounds, n_image, n_other = (1, 8, 4) if quick else (3, 50, 25)
    for _ in range(3):  # warm-up: connections, caches, lazy imports
        client.file(inputs.image), client.text(inputs.text), client.file(inputs.audio)
    runs: dict[str, list[float]] = {"image_p50": [], "image_p99": [], "text_p50": [],
                                    "audio_p50": []}
    for _ in range(rounds):
        image = _times(lambda: client.file(inputs.image), n_image)
        text = _times(lambda: client.text(inputs.text), n_other)
        audio = _times(lambda: client.file(inputs.audio), n_other)
        runs["image_p50"].append(percentile(image, 50))
        runs["image_p99"].append(percentile(image, 99))
        runs["text_p50"].append(percentile(text, 50))
        runs["audio_p50"].append(percentile(audio, 50))
    report.add(figure("image 1024x768 JPEG p50", runs["image_p50"], "<=", 80, "ms"))
    report.add(figure("image 1024x768 JPEG p99", runs["image_p99"], "<=", 200, "ms"))
    report.add(figure("text 2 KB p50", runs["text_p50"], "<=", 25, "ms"))
    report.add(figure("audio 10 s wav p50", runs["audio_p50"], "<=", 100, "ms"))
    report.details.update(rounds=rounds, requests_per_round={"image": n_image, "text": n_other,
                                                             "audio": n_other},
                          inputs={"image": str(inputs.image), "audio": str(inputs.audio),
                                  "text_chars": len(inputs.text)})


def in_process_scorer(cfg: Any) -> Any:
    """The inference service's own Scorer in this process: same champions, threads, no HTTP."""
    from api.inference.batcher import MicroBatcher
    from api.inference.metrics import ServiceMetrics
    from api.inference.scorer import Scorer
    from api.inference.settings import ServingSettings, configure_threads
    from models.registry.champions import ChampionSet
    from models.registry.settings import RegistrySettings

    settings = ServingSettings.from_env()
    configure_threads(settings)
    champions = ChampionSet(RegistrySettings.from_config(cfg), reload_s=3600, retry_s=5)
    champions.check()
    batcher = MicroBatcher(settings.batch_max, settings.batch_wait_ms)
    return Scorer(champions, batcher, ServiceMetrics(), cfg.limits)


def overhead(stack: Stack, quick: bool, report: Report) -> None:
    """(2) HTTP through API + service vs the service's Scorer in this process, interleaved."""
    inputs, client = Inputs.make(), SyncClient(stack)
    scorer = in_process_scorer(stack.cfg)
    # Scored on a worker thread, as the service's request threads do: torch's OpenMP team on the
    # main thread with 2 threads on 2 busy cores was measured 10-17x slower (172 vs 17 ms).
    thread = ThreadPoolExecutor(1)
    rounds, n = (1, 5) if quick else (3, 30)
    kinds: dict[str, tuple[Callable[[], float], Callable[[], Any]]] = {
        "image": (lambda: client.file(inputs.image),
                  lambda: thread.submit(scorer.score_file, inputs.image,
                                        inputs.image.name).result()),
        "text": (lambda: client.text(inputs.text),
                 lambda: thread.submit(scorer.score_text, inputs.text).result()),
        "audio": (lambda: client.file(inputs.audio),
                  lambda: thread.submit(scorer.score_file, inputs.audio,
                                        inputs.audio.name).result()),
    }
    for http, local in kinds.values():  # warm-up of both sides
        http(), local(), http(), local()
    ratios: dict[str, list[float]] = {k: [] for k in kinds}
    medians: dict[str, dict[str, list[float]]] = {k: {"http": [], "in_process": []}
                                                  for k in kinds}
    for _ in range(rounds):
        for kind, (http, local) in kinds.items():
            over_http, in_proc = [], []
            for _ in range(n):
                over_http.append(http())
                start = time.perf_counter()
                local()
                in_proc.append((time.perf_counter() - start) * 1000.0)
            ratios[kind].append(median(over_http) / median(in_proc))
            medians[kind]["http"].append(round(median(over_http), 1))
            medians[kind]["in_process"].append(round(median(in_proc), 1))
    for kind in kinds:
        report.add(figure(f"{kind}: HTTP p50 / in-process p50", ratios[kind], "<=", 1.25, "x",
                          digits=2))
    report.details.update(rounds=rounds, requests_per_round=n, p50_ms_per_round=medians)
    thread.shutdown()
    scorer.batcher.close()


def concurrency(stack: Stack, quick: bool, report: Report, clients: int = 16) -> None:
    """(3) Image sync throughput with `clients` concurrent clients vs one client; no errors."""
    image, client = media.photo_jpeg(1024, 768), SyncClient(stack)
    rounds, n_single, per_client = (1, 6, 1) if quick else (3, 30, 4)
    for _ in range(3):
        client.file(image)
    ratios, single_rps, multi_rps, errors = [], [], [], []

    def one(_: int) -> bool:
        try:
            client.file(image)
        except (SyncFailed, requests.RequestException):
            return False
        return True

    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(one, range(clients)))  # every client's connection opened
        for _ in range(rounds):
            start = time.perf_counter()
            ok = sum(one(i) for i in range(n_single))
            rps1 = ok / (time.perf_counter() - start)
            start = time.perf_counter()
            results = list(pool.map(one, range(clients * per_client)))
            rps_n = sum(results) / (time.perf_counter() - start)
            errors.append(len(results) - sum(results) + n_single - ok)
            single_rps.append(round(rps1, 2))
            multi_rps.append(round(rps_n, 2))
            ratios.append(rps_n / rps1)
    report.add(figure(f"{clients} clients / 1 client throughput", ratios, ">=", 1.6, "x",
                      digits=2))
    report.add(figure("errors", [float(e) for e in errors], "<=", 0, "", digits=0))
    report.details.update(rounds=rounds, single_client_requests=n_single,
                          concurrent_requests=clients * per_client,
                          single_client_rps=single_rps, concurrent_rps=multi_rps,
                          cpus=len(os.sched_getaffinity(0)))
