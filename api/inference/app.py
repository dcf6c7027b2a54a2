"""The inference service's Flask app: /v1/score, /v1/score/text, /healthz, /readyz, /metrics.

The scoring routes (/v1/...) ask for the shared token (INFERENCE_TOKEN, `Authorization: Bearer`):
the service decodes untrusted media, so only the API, which holds the token, may hand it any."""

from __future__ import annotations

import hmac
import logging
import os
import tempfile
import time
from pathlib import Path

from flask import Flask, Response, g, jsonify, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

from api.inference.batcher import MicroBatcher
from api.inference.metrics import CONTENT_TYPE, ServiceMetrics
from api.inference.scorer import ERROR_CODES, Scorer, ServingError
from api.inference.settings import ServingSettings
from config import Limits, get_config
from models.registry.champions import ChampionSet
from models.registry.settings import RegistrySettings

log = logging.getLogger(__name__)
CHUNK = 1 << 20


def configure_threads(settings: ServingSettings) -> None:
    """Set torch's intra-op threads (INFERENCE_TORCH_THREADS) and numpy's BLAS threads
    (INFERENCE_BLAS_THREADS) once for the process; waitress's threads run the requests."""
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(settings.torch_threads)
    threadpool_limits(settings.blas_threads, user_api="blas")  # stays in force (no `with`)
    log.info("torch intra-op threads: %d, BLAS threads: %d", torch.get_num_threads(),
             settings.blas_threads)


def _error(http_status: int, code: str, message: str, **extra: object) -> ResponseReturnValue:
    return jsonify({"error": {"code": code, "message": message}, **extra}), http_status


def _clean_name(name: str | None) -> str:
    base = Path((name or "").replace("\\", "/")).name.strip()
    return base[:255] or "upload"


def _save_body(dest: Path) -> str:
    """Write the request's media to `dest`; returns its filename (multipart or `?filename=`)."""
    if request.mimetype == "multipart/form-data":
        upload = request.files.get("file")
        if upload is None:
            raise ServingError(400, "send the media in the multipart field 'file'",
                               "missing_field")
        upload.save(dest)
        return _clean_name(upload.filename or request.args.get("filename"))
    with dest.open("wb") as fh:
        while chunk := request.stream.read(CHUNK):
            fh.write(chunk)
    return _clean_name(request.args.get("filename"))


def create_app(
    champions: ChampionSet | None = None,
    settings: ServingSettings | None = None,
    limits: Limits | None = None,
    start: bool = True,
    token: str | None = None,
) -> Flask:
    """The service app; `start` begins loading (and reloading) the champions in the background.

    Pass a `ChampionSet` already loaded (tests), or None to make one on the configured MLflow.
    `app.extensions["inference"]` holds the champions, batcher, metrics and scorer.
    """
    settings = settings or ServingSettings.from_env()
    cfg = get_config()
    limits = limits or cfg.limits
    expected = f"Bearer {token or cfg.inference_token}".encode()
    metrics = ServiceMetrics()
    if champions is None:
        champions = ChampionSet(RegistrySettings.from_config(cfg), settings.reload_s,
                                settings.retry_s)
    champions.on_swap(metrics.model_loaded)
    for modality in champions.modalities:
        if (loaded := champions.get(modality)) is not None:
            metrics.model_loaded(modality, loaded)
    batcher = MicroBatcher(settings.batch_max, settings.batch_wait_ms,
                           on_batch=metrics.batched, on_depth=metrics.depth)
    scorer = Scorer(champions, batcher, metrics, limits)

    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = limits.max_upload_bytes + CHUNK  # multipart overhead
    app.extensions["inference"] = {"champions": champions, "batcher": batcher,
                                   "metrics": metrics, "scorer": scorer, "settings": settings}

    @app.before_request
    def _begin() -> ResponseReturnValue | None:
        g.started = time.perf_counter()
        metrics.in_flight.inc()
        given = request.headers.get("Authorization", "").encode()
        if request.path.startswith("/v1/") and not hmac.compare_digest(given, expected):
            return _error(401, "unauthorized", "a valid INFERENCE_TOKEN is required")
        return None

    @app.after_request
    def _count(response: Response) -> Response:
        route = request.url_rule.rule if request.url_rule is not None else "unmatched"
        metrics.observe_request(route, request.method, response.status_code,
                                time.perf_counter() - g.started)
        return response

    @app.teardown_request
    def _end(exc: BaseException | None) -> None:
        metrics.in_flight.dec()

    @app.errorhandler(ServingError)
    def _serving_error(exc: ServingError) -> ResponseReturnValue:
        return _error(exc.status, exc.code, exc.message)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> ResponseReturnValue:
        status = exc.code or 500
        return _error(status, ERROR_CODES.get(status, "error"), exc.description or exc.name)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> ResponseReturnValue:
        log.exception("unhandled error: %s", exc)
        return _error(500, "internal_error", "internal server error")

    @app.get("/healthz")
    def healthz() -> ResponseReturnValue:
        return jsonify({"status": "ok"})

    @app.get("/readyz")
    def readyz() -> ResponseReturnValue:
        ok, reasons = champions.ready()
        models = {m: ({"name": x.name, "version": str(x.version)} if x else None)
                  for m in champions.modalities for x in [champions.get(m)]}
        if not ok:
            return _error(503, "not_ready", "; ".join(reasons), status="unavailable",
                          reasons=reasons, models=models)
        return jsonify({"status": "ready", "models": models})

    @app.get("/metrics")
    def prometheus() -> ResponseReturnValue:
        return Response(metrics.render(), mimetype=CONTENT_TYPE)

    @app.post("/v1/score")
    def score_media() -> ResponseReturnValue:
        suffix = Path(_clean_name(request.args.get("filename"))).suffix[:16]
        # one temp file, not a temp folder: a folder costs more to remove, on every request
        handle, name = tempfile.mkstemp(prefix="score-", suffix=suffix)
        os.close(handle)
        path = Path(name)
        try:
            filename = _save_body(path)
            modality = request.args.get("modality") or None
            return jsonify(scorer.score_file(path, filename, modality))
        finally:
            path.unlink(missing_ok=True)

    @app.post("/v1/score/text")
    def score_text() -> ResponseReturnValue:
        if (request.content_length or 0) > 4 * limits.max_text_chars + 4096:
            raise ServingError(413, f"the text is longer than {limits.max_text_chars} characters")
        body = request.get_json(silent=True)
        if body is None:
            raise ServingError(400, "the request body is not valid JSON", "bad_json")
        if not isinstance(body, dict) or not isinstance(body.get("text"), str):
            raise ServingError(400, 'send JSON {"text": "..."} with a string', "missing_field")
        return jsonify(scorer.score_text(body["text"]))

    if start:
        champions.start()
    return app


def shutdown(app: Flask) -> None:
    """Stop the reload thread and the batch workers."""
    parts = app.extensions["inference"]
    parts["champions"].stop()
    parts["batcher"].close()
