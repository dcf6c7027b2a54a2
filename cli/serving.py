"""CLI commands of the inference Deployment: `inference-server` and `metrics-sidecar`."""

from __future__ import annotations

import argparse
import logging
import math
import sys
import time
from typing import Any

from waitress.channel import HTTPChannel
from waitress.server import TcpWSGIServer

from config import Limits

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


PRIVATE_UMASK = 0o077
"""Files and folders a server process creates (database, registry, logs, temp files) are
its user's alone."""


def private_files() -> None:
    """Set the process's umask to PRIVATE_UMASK (children, the local engine's workers and the
    embedded MongoDB included, inherit it)."""
    import os

    os.umask(PRIVATE_UMASK)


def drop_secrets() -> None:
    """Remove the API's secrets (`config.SECRET_VARS`) from this process's environment: the
    inference service decodes untrusted media and needs none of them."""
    import os

    from config import SECRET_VARS

    for name in SECRET_VARS:
        os.environ.pop(name, None)


def exit_on_sigterm() -> None:
    """Kubernetes stops a pod with SIGTERM: exit through `finally` blocks, as on Ctrl-C."""
    import signal
    import threading

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))


def serve_options(limits: Limits, host: str, port: int, threads: int,
                  ident: str) -> dict[str, Any]:
    """Keyword arguments of `waitress.serve`. `max_request_body_size` (waitress's default is
    1 GiB, spooled to a temp file before the app runs) is the largest body any route takes:
    waitress answers 413 to a longer `Content-Length` without reading the body.

    `channel_timeout` (REQUEST_READ_TIMEOUT_S) closes a connection idle that long; with
    `deadline_server` it is also the longest one request may take to arrive, so a client that
    trickles a byte at a time cannot hold a connection open for ever. Connections are checked
    every `cleanup_interval` seconds."""
    timeout = max(1, math.ceil(limits.request_read_timeout_s))
    # waitress refuses a body of max_request_body_size bytes or more: one more lets the
    # largest allowed body through, and the app's own per-route check names the limit
    return {"host": host, "port": port, "threads": threads, "ident": ident,
            "max_request_body_size": limits.max_request_bytes + 1,
            "channel_timeout": timeout, "cleanup_interval": max(1, min(30, timeout // 4))}


class _DeadlineChannel(HTTPChannel):
    """A waitress channel that remembers when the request it is reading began."""

    request_started: float | None = None

    def received(self, data: bytes) -> bool:
        if data and self.request is None:  # the first bytes of a new request
            self.request_started = time.monotonic()
        done = super().received(data)
        if self.request is None:  # nothing half-read is left
            self.request_started = None
        return done


class DeadlineServer(TcpWSGIServer):
    """Waitress's server, closing a connection whose request has been arriving for longer
    than `channel_timeout` seconds, however steadily it trickles in (waitress alone only
    closes connections idle that long)."""

    channel_class = _DeadlineChannel

    def maintenance(self, now: float) -> None:
        super().maintenance(now)
        cutoff = time.monotonic() - self.adj.channel_timeout
        for channel in list(self.active_channels.values()):
            started = getattr(channel, "request_started", None)
            if started is not None and started < cutoff:
                channel.will_close = True


def serve_metrics(app: Any, host: str, port: int) -> Any | None:
    """Start the API's metrics listener (`api.metrics.start_metrics_server`); None, with the
    reason logged, when its port is taken: the API itself still serves."""
    from api.metrics import start_metrics_server

    try:
        server, _ = start_metrics_server(app, host, port)
    except OSError as exc:
        logging.getLogger(__name__).error("metrics listener %s:%d not started: %s", host, port,
                                          exc.strerror or type(exc).__name__)
        return None
    return server


def deadline_server(app: Any, **options: Any) -> DeadlineServer:
    """A `DeadlineServer` for `app` with `serve_options`' keywords (not yet running); also
    waitress.serve's `_server` argument."""
    return DeadlineServer(app, **options)


def _inference_server(args: argparse.Namespace) -> int:
    from waitress import serve

    from api.inference.app import create_app
    from api.inference.service import shutdown
    from api.inference.settings import ServingSettings, configure_threads
    from cli.stack import embedded_stack

    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    exit_on_sigterm()
    private_files()
    drop_secrets()
    settings = ServingSettings.from_env()
    threads = args.threads or settings.threads
    configure_threads(settings)
    with embedded_stack(register_models=True) as cfg:  # the configuration, read once
        app = create_app(settings=settings, config=cfg)
        print(f"inference service on http://{args.host}:{args.port}/  (torch threads "
              f"{settings.torch_threads}, {threads} request threads, batch up to "
              f"{settings.batch_max} / {settings.batch_wait_ms} ms; Ctrl-C stops)", flush=True)
        try:
            serve(app, _server=deadline_server, **serve_options(
                cfg.limits, args.host, args.port, threads, "detector-inference"))
        finally:
            shutdown(app)
    return 0


def _metrics_sidecar(args: argparse.Namespace) -> int:
    from api.inference.settings import metrics_interval_s, metrics_url
    from api.inference.sidecar import run_sidecar
    from cli.stack import embedded_stack
    from storage.db import get_db

    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    url = args.url or metrics_url()
    interval = args.interval if args.interval is not None else metrics_interval_s()
    with embedded_stack(register_models=False):
        return run_sidecar(get_db(), url, interval, once=args.once)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `inference-server` and `metrics-sidecar` to the `detector` command's sub-commands."""
    server = subparsers.add_parser(
        "inference-server", help="serve the champion models over HTTP (POST /v1/score)")
    server.add_argument("--host", default="127.0.0.1")
    server.add_argument("--port", type=int, default=8001)
    server.add_argument("--threads", type=int, default=None,
                        help="request threads (default: $INFERENCE_THREADS or 8)")
    server.set_defaults(func=_inference_server)

    sidecar = subparsers.add_parser(
        "metrics-sidecar", help="scrape the inference service's /metrics into MongoDB logs")
    sidecar.add_argument("--url", default=None, help="default: $METRICS_URL or "
                         "http://127.0.0.1:8001/metrics")
    sidecar.add_argument("--interval", type=float, default=None,
                         help="seconds between scrapes (default: $METRICS_INTERVAL_S or 15)")
    sidecar.add_argument("--once", action="store_true", help="scrape once and exit (1 if failed)")
    sidecar.set_defaults(func=_metrics_sidecar)
