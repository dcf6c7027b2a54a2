"""The HTTP metrics every service of the detector exports (the API, the inference service):
requests, latency and requests in flight by route, in a registry of the service's own."""

from __future__ import annotations

import time

from flask import Flask, Response, g, request
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.process_collector import ProcessCollector

# Request latency: sync scoring is meant to take < 100 ms; video and long audio take seconds.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
                   30.0)
UNMATCHED = "unmatched"
"""The `route` label of a request no URL rule matched (never the raw path: unbounded labels)."""


class HttpMetrics:
    """What every HTTP service of the detector exports, in a registry of its own: process
    metrics, request counts by route, method and status, latency by route and status, and
    requests in flight, all named `<prefix>_...`."""

    def __init__(self, prefix: str, registry: CollectorRegistry | None = None) -> None:
        self.registry = r = registry or CollectorRegistry()
        ProcessCollector(registry=r)
        self.requests = Counter(f"{prefix}_requests", "HTTP requests answered",
                                ["route", "method", "status"], registry=r)
        self.latency = Histogram(f"{prefix}_request_seconds", "HTTP request latency",
                                 ["route", "status"], buckets=LATENCY_BUCKETS, registry=r)
        self.in_flight = Gauge(f"{prefix}_in_flight_requests", "Requests being handled now",
                               registry=r)

    def observe_request(self, route: str, method: str, status: int, seconds: float) -> None:
        self.requests.labels(route, method, str(status)).inc()
        self.latency.labels(route, str(status)).observe(seconds)

    def render(self) -> bytes:
        """The text exposition format."""
        return generate_latest(self.registry)


def _route() -> str:
    rule = request.url_rule
    return rule.rule if rule is not None else UNMATCHED


def count_requests(app: Flask, metrics: HttpMetrics) -> None:
    """Count and time every request of `app` into `metrics`, with the requests in flight; a
    request that broke before its response (no `after_request`) counts as a 500.

    Call before registering other `before_request` hooks: a request one of them answers (a
    refused token) is counted too."""

    @app.before_request
    def _begin() -> None:
        g.metrics_started = time.perf_counter()
        metrics.in_flight.inc()

    @app.after_request
    def _count(response: Response) -> Response:
        started = g.pop("metrics_started", None)
        if started is not None:
            metrics.observe_request(_route(), request.method, response.status_code,
                                    time.perf_counter() - started)
            metrics.in_flight.dec()
        return response

    @app.teardown_request
    def _end(exc: BaseException | None) -> None:
        started = g.pop("metrics_started", None)  # after_request never ran: the request broke
        if started is not None:
            metrics.observe_request(_route(), request.method, 500, time.perf_counter() - started)
            metrics.in_flight.dec()
