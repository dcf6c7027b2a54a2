"""`register` adds `inference-server` and `metrics-sidecar`; the server command wires the app."""

from __future__ import annotations

import argparse

import pytest

from api.inference.service import service_of
from cli import serving
from config import Config


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="detector")
    serving.register(parser.add_subparsers(dest="command", required=True))
    return parser


def test_commands_and_defaults() -> None:
    args = _parser().parse_args(["inference-server"])
    assert (args.host, args.port, args.threads) == ("127.0.0.1", 8001, None)
    args = _parser().parse_args(["inference-server", "--host", "0.0.0.0", "--port", "9001"])
    assert (args.host, args.port) == ("0.0.0.0", 9001)
    args = _parser().parse_args(["metrics-sidecar"])
    assert args.once is False and args.url is None and args.interval is None


def test_inference_server_serves_the_app(detector_env: Config,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    served = {}

    def fake_serve(app, **kwargs) -> None:  # what waitress would run, without blocking
        served.update(kwargs, client=app.test_client())
        champions = service_of(app).champions
        champions.stop()
        champions.check()

    monkeypatch.setattr("waitress.serve", fake_serve)
    monkeypatch.setattr(serving, "exit_on_sigterm", lambda: None)  # keep pytest's handlers
    monkeypatch.setattr(serving, "private_files", lambda: None)  # keep pytest's umask
    threads = []
    monkeypatch.setattr("api.inference.settings.configure_threads", threads.append)
    monkeypatch.setenv("INFERENCE_RELOAD_S", "3600")
    monkeypatch.setenv("INFERENCE_THREADS", "3")
    args = _parser().parse_args(["inference-server", "--port", "9101"])
    assert args.func(args) == 0
    assert (served["host"], served["port"], served["threads"]) == ("127.0.0.1", 9101, 3)
    assert served["client"].get("/readyz").status_code == 200
    assert threads and threads[0].threads == 3
