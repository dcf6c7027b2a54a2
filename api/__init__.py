"""The Flask application: `create_app()` builds it with one blueprint per concern."""

from __future__ import annotations

import os
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from flask import Flask

from config import Config, get_config

if TYPE_CHECKING:
    from workflows.engine import Engine


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app from `config.get_config()`; `test_config` overrides any key (e.g. ENGINE)."""
    from api import admin_users, auth, detections, health, jobs, openapi, rescans, results, web
    from api.bodylimit import register_body_limits
    from api.errors import register_errors
    from api.metrics import register_metrics
    from api.security import register_security_headers
    from api.serialize import JSONProvider
    from api.uploads import UploadRequest, remove_temp_files

    cfg = get_config()
    app = Flask(__name__)
    app.json_provider_class = JSONProvider
    app.json = JSONProvider(app)
    app.request_class = UploadRequest
    app.config.from_mapping(
        DETECTOR=cfg,
        LIMITS=cfg.limits,
        MONGO_URI=cfg.mongo_uri,
        MONGO_DB=cfg.mongo_db,
        UPLOAD_TMP=cfg.var_dir / "tmp",
        ENGINE=None,
        INFERENCE=None,  # an InferenceClient; default: one for INFERENCE_URL when it is set
        ADMIN_USER=os.environ.get("DETECTOR_ADMIN_USER"),
        ADMIN_PASSWORD=os.environ.get("DETECTOR_ADMIN_PASSWORD"),
    )
    if test_config:
        app.config.update(test_config)
    if "MAX_CONTENT_LENGTH" not in (test_config or {}):  # the upload route's, the largest
        app.config["MAX_CONTENT_LENGTH"] = app.config["LIMITS"].max_request_bytes

    register_errors(app)
    register_security_headers(app)  # CSP, nosniff, no referrer; no-store under /api/
    for module in (auth, admin_users, detections, jobs, results, rescans, health, web, openapi):
        app.register_blueprint(module.bp)
    web.register_page_apis(app)  # what the page reads besides: evidence, history, models
    app.teardown_request(lambda _exc: remove_temp_files())

    # MongoDB writes of sync jobs that overlap the scoring call (api.fastpath)
    app.extensions["sync_writers"] = ThreadPoolExecutor(
        max(1, cfg.sync_write_threads), thread_name_prefix="sync-writer")
    app.extensions["engine"] = app.config["ENGINE"] or _default_engine(cfg)
    _check_engine(app.extensions["engine"])
    app.extensions["inference"] = app.config["INFERENCE"] or _default_inference(app, cfg)
    from api.webhooks import register_webhooks

    register_webhooks(app)  # GET/POST /api/v1/auth/webhook-secret, the callback delivery loop
    register_metrics(app)  # request counts, latency, job gauges (served on METRICS_PORT)
    register_body_limits(app)  # per-route limits from Content-Length, before the token check
    auth.register_protections(app)  # TRUSTED_PROXIES, rate limits, login hashing slots
    _bootstrap_admin(app)
    return app


def _check_engine(engine: object) -> None:
    """Refuse, at start, an engine the job routes could not drive (submit, refresh, wait, stop,
    retry: `workflows.engine.Engine`)."""
    from workflows.engine import Engine

    if not isinstance(engine, Engine):
        raise TypeError(f"{type(engine).__name__} is not a workflow engine "
                        "(workflows.engine.Engine)")


def _default_engine(cfg: Config) -> Engine:
    from workflows.engine import get_engine

    return get_engine(cfg)


def _default_inference(app: Flask, cfg: Any) -> Any:
    if not cfg.inference_url:
        return None
    from api.inference.client import InferenceClient

    return InferenceClient(cfg.inference_url, cfg.inference_token,
                           timeout_s=cfg.inference_timeout_s)


def _bootstrap_admin(app: Flask) -> None:
    """DETECTOR_ADMIN_USER / DETECTOR_ADMIN_PASSWORD create that admin if missing."""
    name, password = app.config["ADMIN_USER"], app.config["ADMIN_PASSWORD"]
    if not name or not password:
        return
    from api.context import db
    from storage.users import ensure_admin

    with app.app_context():
        ensure_admin(db(), name, password)
