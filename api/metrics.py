"""Prometheus metrics of the API, served on a listener of their own (METRICS_HOST:METRICS_PORT).

Series (a registry per app, so tests and several apps in one process never collide):
- `detector_api_requests_total{route, method, status}` and
  `detector_api_request_seconds{route, status}`: `route` is the URL rule (`/api/v1/jobs/<job_id>`),
  never the raw path, and `unmatched` for 404s of unknown paths;
- `detector_api_in_flight_requests`;
- `detector_api_jobs{status}` (every status) and `detector_api_queue_depth{state}` (queued,
  running): read from MongoDB at each scrape through `storage.stats`; a database that does not
  answer sets `detector_api_jobs_scrape_ok` to 0 and the scrape still succeeds;
- `detector_api_inference_seconds{modality, model, version}`: end-to-end time of one call of the
  sync path to the inference service (HTTP, probe, decode, featurise, model); the service's own
  `/metrics` has the model time alone (`detector_inference_model_seconds`).

The public app has no `/metrics` route (a 404 like any unknown path): `start_metrics_server`
serves the app's registry on METRICS_HOST:METRICS_PORT (127.0.0.1:9100 by default), a small
HTTP server thread that `detector serve` / `serve-api` start beside waitress. It answers
without authentication; it shows route names and counts, no user data.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from flask import Flask
from prometheus_client import CollectorRegistry, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from api.http_metrics import LATENCY_BUCKETS, HttpMetrics, count_requests

PREFIX = "detector_api"
QUEUE_STATES = ("queued", "running")
SCRAPE_TIMEOUT_S = 2.0
"""Longest wait for MongoDB during a scrape (Prometheus's default scrape timeout is 10 s)."""
log = logging.getLogger(__name__)


class JobsCollector(Collector):
    """Jobs by status, read when Prometheus scrapes (`count()` returns status -> number)."""

    def __init__(self, count: Callable[[], dict[str, int]]) -> None:
        self._count = count

    def collect(self) -> Iterator[GaugeMetricFamily]:
        ok = GaugeMetricFamily(f"{PREFIX}_jobs_scrape_ok",
                               "1 when the job counts below could be read from MongoDB")
        try:
            counts = self._count()
        except Exception as exc:  # a scrape must not fail because MongoDB is away
            log.warning("metrics: cannot count jobs: %s", exc)
            ok.add_metric([], 0)
            yield ok
            return
        ok.add_metric([], 1)
        yield ok
        jobs = GaugeMetricFamily(f"{PREFIX}_jobs", "Jobs in MongoDB by status", labels=["status"])
        for status, n in sorted(counts.items()):
            jobs.add_metric([status], n)
        yield jobs
        depth = GaugeMetricFamily(f"{PREFIX}_queue_depth", "Jobs waiting or running",
                                  labels=["state"])
        for state in QUEUE_STATES:
            depth.add_metric([state], counts.get(state, 0))
        yield depth


class ApiMetrics(HttpMetrics):
    """The API's series in a registry of its own; `count_jobs` feeds the job gauges."""

    def __init__(self, count_jobs: Callable[[], dict[str, int]] | None = None,
                 registry: CollectorRegistry | None = None) -> None:
        super().__init__(PREFIX, registry)
        self.inference = Histogram(
            f"{PREFIX}_inference_seconds",
            "Sync path: one call to the inference service, end to end",
            ["modality", "model", "version"], buckets=LATENCY_BUCKETS, registry=self.registry)
        if count_jobs is not None:
            self.registry.register(JobsCollector(count_jobs))


class TimedInference:
    """Wraps the API's `InferenceClient`: same calls, each scoring call timed into `metrics`."""

    def __init__(self, client: Any, metrics: ApiMetrics) -> None:
        self.client = client
        self._metrics = metrics

    def score_file(self, path: Any, filename: str | None = None,
                   modality: str | None = None) -> dict[str, Any]:
        return self._timed(lambda: self.client.score_file(path, filename, modality))

    def score_text(self, text: str) -> dict[str, Any]:
        return self._timed(lambda: self.client.score_text(text))

    def _timed(self, call: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        start = time.perf_counter()
        result = call()
        model = result.get("model") or {}
        self._metrics.inference.labels(
            str(result.get("modality", "unknown")), str(model.get("name", "unknown")),
            str(model.get("version", "unknown")),
        ).observe(time.perf_counter() - start)
        return result

    def __getattr__(self, name: str) -> Any:  # ready(), url, timeout_s ...
        return getattr(self.client, name)


def register_metrics(app: Flask, count_jobs: Callable[[], dict[str, int]] | None = None) -> None:
    """Count every request of `app` and time its sync inference calls (`app.extensions
    ["metrics"]`; served by `start_metrics_server`, not by `app`).

    `count_jobs` defaults to `storage.stats.jobs_by_status` on the app's database. Call after
    `app.extensions["inference"]` is set.
    """
    if count_jobs is None:
        count_jobs = _db_counter(app)
    metrics = ApiMetrics(count_jobs)
    app.extensions["metrics"] = metrics
    if app.extensions.get("inference") is not None:
        app.extensions["inference"] = TimedInference(app.extensions["inference"], metrics)

    count_requests(app, metrics)


def start_metrics_server(app: Flask, host: str, port: int) -> tuple[Any, threading.Thread]:
    """Serve `app`'s registry at http://host:port/metrics in a daemon thread; (server, thread).
    `port` 0 takes a free port (`server.server_port`). `server.shutdown()` stops it."""
    metrics: ApiMetrics = app.extensions["metrics"]
    server, thread = start_http_server(port, addr=host, registry=metrics.registry)
    log.info("metrics on http://%s:%d/metrics", host, server.server_port)
    return server, thread


def _db_counter(app: Flask) -> Callable[[], dict[str, int]]:
    def count() -> dict[str, int]:
        import pymongo

        from storage.db import get_db
        from storage.stats import jobs_by_status

        with pymongo.timeout(SCRAPE_TIMEOUT_S):
            return jobs_by_status(get_db(app.config["MONGO_URI"], app.config["MONGO_DB"]))

    return count
