"""Prometheus metrics of the inference service, in a registry of its own (one per app)."""

from __future__ import annotations

from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
)

from api.http_metrics import LATENCY_BUCKETS, HttpMetrics

PREFIX = "detector_inference"
MODEL_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
BATCH_BUCKETS = (1, 2, 3, 4, 6, 8, 12, 16, 32)
CONTENT_TYPE = CONTENT_TYPE_LATEST


class ServiceMetrics(HttpMetrics):
    """The inference service's HTTP series plus model time by modality and version, stage
    times, batch queue depth and size, loaded versions, reloads."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        super().__init__(PREFIX, registry)
        r = self.registry
        self.model_time = Histogram(
            f"{PREFIX}_model_seconds", "Model time per scored request (batch wait included)",
            ["modality", "model", "version"], buckets=MODEL_BUCKETS, registry=r)
        self.stage_time = Histogram(
            f"{PREFIX}_stage_seconds", "Decode and featurise time per scored request",
            ["modality", "stage"], buckets=LATENCY_BUCKETS, registry=r)
        self.scored = Counter(f"{PREFIX}_scored", "Media scored, by verdict",
                              ["modality", "verdict"], registry=r)
        self.not_applicable = Counter(
            f"{PREFIX}_not_applicable", "Media the detector does not apply to, by reason",
            ["modality", "reason_code"], registry=r)
        self.queue_depth = Gauge(f"{PREFIX}_batch_queue_depth",
                                 "Requests waiting for a forward pass", ["modality"], registry=r)
        self.batch_size = Histogram(f"{PREFIX}_batch_requests", "Requests per forward pass",
                                    ["modality"], buckets=BATCH_BUCKETS, registry=r)
        self.batch_time = Histogram(f"{PREFIX}_forward_seconds", "Time of one forward pass",
                                    ["modality"], buckets=MODEL_BUCKETS, registry=r)
        self.model_info = Gauge(f"{PREFIX}_model_info", "1 for the version being served",
                                ["modality", "model", "version"], registry=r)
        self.reloads = Counter(f"{PREFIX}_model_loads", "Champion loads (start and reloads)",
                               ["modality"], registry=r)
        self._served: dict[str, tuple[str, str]] = {}

    def model_loaded(self, modality: str, loaded: Any) -> None:
        """A champion was (re)loaded: the info gauge follows it."""
        old = self._served.get(modality)
        if old is not None:
            self.model_info.labels(modality, *old).set(0)
        self._served[modality] = (loaded.name, str(loaded.version))
        self.model_info.labels(modality, loaded.name, str(loaded.version)).set(1)
        self.reloads.labels(modality).inc()

    def batched(self, modality: str, requests: int, units: int, seconds: float) -> None:
        self.batch_size.labels(modality).observe(requests)
        self.batch_time.labels(modality).observe(seconds)

    def depth(self, modality: str, waiting: int) -> None:
        self.queue_depth.labels(modality).set(waiting)
