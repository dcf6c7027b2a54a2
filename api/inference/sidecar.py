"""The metrics sidecar: scrape the service's /metrics and store performance snapshots in MongoDB."""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import defaultdict
from typing import Any

import requests
from prometheus_client.parser import text_string_to_metric_families
from pymongo.database import Database

from api.inference.metrics import PREFIX
from storage.logs import log_event

log = logging.getLogger(__name__)
EVENT = "inference.metrics"
QUANTILES = (0.5, 0.9, 0.99)
Key = tuple[str, ...]


def _quantile(q: float, buckets: list[tuple[float, float]]) -> float | None:
    """Estimate a quantile from cumulative buckets `(le, count)` (as PromQL histogram_quantile)."""
    if not buckets or buckets[-1][1] <= 0:
        return None
    rank = q * buckets[-1][1]
    lower, below = 0.0, 0.0
    for le, count in buckets:
        if count >= rank:
            if math.isinf(le):
                return lower  # in the open top bucket: its lower bound is all we know
            return lower + (le - lower) * (rank - below) / max(count - below, 1e-12)
        lower, below = le, count
    return lower


class _Histograms:
    """Histogram samples grouped by their labels (without `le`)."""

    def __init__(self) -> None:
        self.buckets: dict[Key, list[tuple[float, float]]] = defaultdict(list)
        self.count: dict[Key, float] = {}
        self.sum: dict[Key, float] = {}

    def add(self, family: Any, labels: tuple[str, ...]) -> None:
        for s in family.samples:
            key = tuple(s.labels.get(name, "") for name in labels)
            if s.name.endswith("_bucket"):
                self.buckets[key].append((float(s.labels["le"]), s.value))
            elif s.name.endswith("_count"):
                self.count[key] = s.value
            elif s.name.endswith("_sum"):
                self.sum[key] = s.value

    def rows(self, labels: tuple[str, ...]) -> list[dict[str, Any]]:
        rows = []
        for key, count in sorted(self.count.items()):
            total = self.sum.get(key, 0.0)
            row: dict[str, Any] = dict(zip(labels, key, strict=True))
            row.update(count=int(count), sum_s=round(total, 6),
                       mean_ms=round(total / count * 1000, 3) if count else None)
            buckets = sorted(self.buckets.get(key, []))
            for q in QUANTILES:
                value = _quantile(q, buckets)
                row[f"p{int(q * 100)}_ms"] = None if value is None else round(value * 1000, 3)
            rows.append(row)
        return rows


_HISTOGRAMS = {
    "request_seconds": ("latency", ("route", "status")),
    "model_seconds": ("inference", ("modality", "model", "version")),
    "stage_seconds": ("stages", ("modality", "stage")),
    "forward_seconds": ("forward", ("modality",)),
    "batch_requests": ("batch_requests", ("modality",)),
}


def summarize(text: str) -> dict[str, Any]:
    """A performance snapshot of one /metrics page (cumulative since the service started)."""
    histograms: dict[str, _Histograms] = {}
    snap: dict[str, Any] = {"requests": [], "models": {}, "queue_depth": {}, "in_flight": None,
                            "process": {}}
    for family in text_string_to_metric_families(text):
        name = family.name.removeprefix(f"{PREFIX}_")
        if name in _HISTOGRAMS:
            histograms.setdefault(name, _Histograms()).add(family, _HISTOGRAMS[name][1])
        elif name == "requests":
            snap["requests"] += [
                {"route": s.labels["route"], "method": s.labels["method"],
                 "status": s.labels["status"], "count": int(s.value)}
                for s in family.samples if s.name.endswith("_total")
            ]
        elif name == "in_flight_requests":
            snap["in_flight"] = int(family.samples[0].value) if family.samples else 0
        elif name == "batch_queue_depth":
            snap["queue_depth"] = {s.labels["modality"]: int(s.value) for s in family.samples}
        elif name == "model_info":
            snap["models"] = {s.labels["modality"]: {"model": s.labels["model"],
                                                     "version": s.labels["version"]}
                              for s in family.samples if s.value == 1}
        elif family.name in ("process_cpu_seconds", "process_resident_memory_bytes"):
            snap["process"][family.name] = family.samples[0].value
    for name, (field, labels) in _HISTOGRAMS.items():
        snap[field] = histograms[name].rows(labels) if name in histograms else []
    snap["requests_total"] = sum(r["count"] for r in snap["requests"])
    return snap


def scrape(url: str, timeout_s: float = 5.0) -> str:
    """The text of the metrics page; raises requests' errors."""
    response = requests.get(url, timeout=timeout_s)
    response.raise_for_status()
    return response.text


def snapshot_once(db: Database, url: str, timeout_s: float = 5.0,
                  previous: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """Scrape once and log the snapshot as `inference.metrics`; None (and a warning) on failure.

    With the `previous` snapshot, `interval` holds the seconds and requests since it.
    """
    try:
        snap = summarize(scrape(url, timeout_s))
    except Exception as exc:  # refused, timed out, 5xx, not a metrics page: retry next time
        log.warning("cannot scrape %s: %s", url, exc)
        log_event(db, "warning", "inference.metrics_failed", url=url, error=str(exc)[:500])
        return None
    snap["scraped_at"] = time.time()
    if previous is not None:
        since = snap["requests_total"] - previous["requests_total"]
        snap["interval"] = {  # a negative count means the service restarted meanwhile
            "seconds": round(snap["scraped_at"] - previous["scraped_at"], 3),
            "requests": since if since >= 0 else snap["requests_total"],
            "restarted": since < 0,
        }
    log_event(db, "info", EVENT, url=url, **snap)
    return snap


def run_sidecar(db: Database, url: str, interval_s: float, once: bool = False,
                stop: threading.Event | None = None) -> int:
    """Scrape every `interval_s` seconds until `stop` is set (or once); 0, or 1 if `once` failed."""
    stop = stop or threading.Event()
    previous = None
    while True:
        snap = snapshot_once(db, url, previous=previous)
        if once:
            return 0 if snap is not None else 1
        previous = snap or previous
        if stop.wait(interval_s):
            return 0
