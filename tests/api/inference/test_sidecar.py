"""The metrics sidecar: a snapshot of /metrics written to MongoDB's logs; failures are logged."""

from __future__ import annotations

import argparse

import pytest
from serving_helpers import TEXT

from api.inference.client import InferenceClient
from api.inference.metrics import ServiceMetrics
from api.inference.sidecar import summarize
from cli.serving import register
from config import Config
from models.registry.champions import ChampionSet
from storage.db import get_db


def _run(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="detector")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(list(argv))
    return args.func(args)


def test_summarize_estimates_quantiles_from_buckets() -> None:
    metrics = ServiceMetrics()
    for seconds in [0.02] * 50 + [0.2] * 40 + [3.0] * 10:
        metrics.latency.labels("/v1/score", "200").observe(seconds)
    metrics.requests.labels("/v1/score", "POST", "200").inc(100)
    snap = summarize(metrics.render().decode())
    (row,) = snap["latency"]
    assert row["route"] == "/v1/score" and row["count"] == 100
    assert row["mean_ms"] == pytest.approx((50 * 20 + 40 * 200 + 10 * 3000) / 100)
    assert 10 <= row["p50_ms"] <= 25 and 150 <= row["p90_ms"] <= 250
    assert 2500 <= row["p99_ms"] <= 5000
    assert snap["requests_total"] == 100 and snap["process"]


def test_sidecar_once_writes_a_snapshot(live_url: str, champions: ChampionSet,
                                        detector_env: Config) -> None:
    InferenceClient(live_url, detector_env.inference_token).score_text(TEXT)
    assert _run("metrics-sidecar", "--once", "--url", f"{live_url}/metrics") == 0
    doc = get_db().logs.find_one({"event": "inference.metrics"})
    assert doc["level"] == "info" and doc["url"] == f"{live_url}/metrics"
    assert {"route": "/v1/score/text", "method": "POST", "status": "200", "count": 1} in (
        doc["requests"])
    (text,) = [r for r in doc["inference"] if r["modality"] == "text"]
    assert text["version"] == champions.get("text").version and text["count"] == 1
    assert text["p50_ms"] is not None and text["mean_ms"] > 0
    assert doc["models"]["image"] == {"model": "detector-image",
                                      "version": champions.get("image").version}
    assert doc["queue_depth"]["text"] == 0 and doc["in_flight"] == 1


def test_sidecar_logs_a_failed_scrape(closed_port: int, detector_env: Config,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("METRICS_URL", f"http://127.0.0.1:{closed_port}/metrics")
    assert _run("metrics-sidecar", "--once") == 1
    doc = get_db().logs.find_one({"event": "inference.metrics_failed"})
    assert doc["level"] == "warning" and str(closed_port) in doc["url"] and doc["error"]
