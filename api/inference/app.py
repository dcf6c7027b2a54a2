"""The inference service's Flask app: `create_app` reads the configuration once and wires the
routes (`api.inference.routes`), the JSON errors both services share and the metrics."""

from __future__ import annotations

from flask import Flask

from api.errors import register_json_errors
from api.http_metrics import count_requests
from api.inference.batcher import MicroBatcher
from api.inference.metrics import ServiceMetrics
from api.inference.routes import CHUNK, bp
from api.inference.scorer import Scorer
from api.inference.service import EXTENSION, InferenceService
from api.inference.settings import ServingSettings
from config import Config, get_config
from models.registry.champions import ChampionSet
from models.registry.settings import RegistrySettings


def create_app(
    champions: ChampionSet | None = None,
    settings: ServingSettings | None = None,
    *,
    config: Config | None = None,
    start: bool = True,
) -> Flask:
    """The service app; `start` begins loading (and reloading) the champions in the background.

    `config` (default: `get_config()`, read here once) gives the limits, the token and the
    MLflow URI; `settings` default to `ServingSettings.from_env()`. Pass a `ChampionSet`
    already loaded (tests), or None to make one on the configured MLflow. The app's
    `InferenceService` is `api.inference.service.service_of(app)`.
    """
    cfg = config or get_config()
    settings = settings or ServingSettings.from_env()
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
    scorer = Scorer(champions, batcher, metrics, cfg.limits)

    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = cfg.limits.max_upload_bytes + CHUNK  # multipart overhead
    app.extensions[EXTENSION] = InferenceService(champions, batcher, metrics, scorer, settings,
                                                 cfg.limits, cfg.inference_token)
    count_requests(app, metrics)  # before the blueprint's token check: a 401 is counted too
    register_json_errors(app)
    app.register_blueprint(bp)
    if start:
        champions.start()
    return app
