"""The API's metrics: request counts by route and status, job gauges from MongoDB, sync timing;
served on their own listener (METRICS_PORT), never by the public app."""

from __future__ import annotations

import requests
from flask import Flask
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families

from api import create_app
from api.metrics import ApiMetrics, TimedInference, start_metrics_server
from storage import jobs
from storage.db import get_db


def _parse(text: str) -> dict[tuple[str, tuple], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def _samples(client: FlaskClient) -> dict[tuple[str, tuple], float]:
    return _parse(client.application.extensions["metrics"].render().decode())


def _value(samples: dict, name: str, **labels: str) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))


def test_the_public_app_has_no_metrics_route(client: FlaskClient, auth) -> None:
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", headers=auth.headers()).status_code == 404


def test_the_metrics_listener_serves_the_counters_without_a_token(client: FlaskClient) -> None:
    server, thread = start_metrics_server(client.application, "127.0.0.1", 0)
    try:
        assert server.server_address[0] == "127.0.0.1"
        assert client.get("/healthz").status_code == 200
        answer = requests.get(f"http://127.0.0.1:{server.server_port}/metrics", timeout=5)
        assert answer.status_code == 200
        samples = _parse(answer.text)
        assert _value(samples, "detector_api_requests_total", route="/healthz", method="GET",
                      status="200") == 1
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_requests_are_counted_by_url_rule_and_status(client: FlaskClient, auth) -> None:
    headers = auth.headers()
    for job_id in ("a" * 32, "b" * 32):  # two raw paths, one route
        assert client.get(f"/api/v1/jobs/{job_id}", headers=headers).status_code == 404
    assert client.get("/api/v1/jobs/" + "c" * 32).status_code == 401  # no token
    assert client.get("/healthz").status_code == 200
    assert client.get("/no/such/path").status_code == 404
    samples = _samples(client)
    route = "/api/v1/jobs/<job_id>"
    total = "detector_api_requests_total"
    assert _value(samples, total, route=route, method="GET", status="404") == 2
    assert _value(samples, total, route=route, method="GET", status="401") == 1
    assert _value(samples, total, route="/healthz", method="GET", status="200") == 1
    assert _value(samples, total, route="unmatched", method="GET", status="404") == 1
    assert _value(samples, "detector_api_request_seconds_count", route=route, status="404") == 2
    assert not any("a" * 32 in str(key) for key in samples)  # raw paths never become labels
    assert _value(samples, "detector_api_in_flight_requests") == 0


def test_job_gauges_follow_the_database(client: FlaskClient) -> None:
    db = get_db()
    made = [jobs.create_job(db, "u1", ["m"], "local", "async") for _ in range(4)]
    jobs.update_job(db, made[0]["job_id"], status="running")
    jobs.update_job(db, made[1]["job_id"], status="succeeded")
    jobs.update_job(db, made[2]["job_id"], status="failed")
    samples = _samples(client)
    assert _value(samples, "detector_api_jobs_scrape_ok") == 1
    for status, n in {"queued": 1, "running": 1, "succeeded": 1, "failed": 1}.items():
        assert _value(samples, "detector_api_jobs", status=status) == n
    assert _value(samples, "detector_api_queue_depth", state="queued") == 1
    assert _value(samples, "detector_api_queue_depth", state="running") == 1

    jobs.update_job(db, made[3]["job_id"], status="running")
    samples = _samples(client)
    assert _value(samples, "detector_api_jobs", status="queued") == 0
    assert _value(samples, "detector_api_queue_depth", state="running") == 2


def test_a_database_error_does_not_break_the_scrape() -> None:
    def broken() -> dict[str, int]:
        raise ConnectionError("mongodb away")

    metrics = ApiMetrics(broken)
    text = metrics.render().decode()
    assert "detector_api_jobs_scrape_ok 0.0" in text
    assert "detector_api_jobs{" not in text


def test_two_apps_keep_separate_registries(app: Flask, detector_env, engine) -> None:
    other = create_app({"TESTING": True, "ENGINE": engine})
    app.test_client().get("/healthz")
    samples = _samples(other.test_client())
    assert _value(samples, "detector_api_requests_total", route="/healthz", method="GET",
                  status="200") is None


class _FakeClient:
    url = "http://inference.invalid"

    def score_file(self, path, filename=None, modality=None) -> dict:
        return {"modality": "image", "score": 0.1, "model": {"name": "detector-image",
                                                              "version": "7"}}

    def score_text(self, text: str) -> dict:
        return {"modality": "text", "score": 0.2, "model": {"name": "detector-text",
                                                             "version": "2"}}

    def ready(self) -> bool:
        return True


def test_sync_inference_calls_are_timed_by_modality_and_version() -> None:
    metrics = ApiMetrics()
    client = TimedInference(_FakeClient(), metrics)
    client.score_file("x.jpg")
    client.score_file("y.jpg")
    client.score_text("words")
    assert client.ready() and client.url == "http://inference.invalid"
    registry = metrics.registry
    name = "detector_api_inference_seconds_count"
    assert registry.get_sample_value(name, {"modality": "image", "model": "detector-image",
                                            "version": "7"}) == 2
    assert registry.get_sample_value(name, {"modality": "text", "model": "detector-text",
                                            "version": "2"}) == 1


def test_the_app_wraps_its_inference_client(detector_env, engine) -> None:
    app = create_app({"TESTING": True, "ENGINE": engine, "INFERENCE": _FakeClient()})
    assert isinstance(app.extensions["inference"], TimedInference)
