"""The parts of one inference service app (champions, batcher, metrics, scorer, token) and their
shutdown."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, current_app

from api.inference.batcher import MicroBatcher
from api.inference.metrics import ServiceMetrics
from api.inference.scorer import Scorer
from api.inference.settings import ServingSettings
from config import Limits
from models.registry.champions import ChampionSet

EXTENSION = "inference"
"""The key of `Flask.extensions` that holds an app's `InferenceService`."""


@dataclass(frozen=True)
class InferenceService:
    """What the routes of one app use, made once by `api.inference.app.create_app`."""

    champions: ChampionSet
    batcher: MicroBatcher
    metrics: ServiceMetrics
    scorer: Scorer
    settings: ServingSettings
    limits: Limits
    token: str  # INFERENCE_TOKEN: callers of /v1/... send `Authorization: Bearer <token>`

    def close(self) -> None:
        """Stop the reload thread and the batch workers."""
        self.champions.stop()
        self.batcher.close()


def service_of(app: Flask) -> InferenceService:
    """The `InferenceService` of `app`."""
    return app.extensions[EXTENSION]


def current_service() -> InferenceService:
    """The `InferenceService` of the app handling the current request."""
    return service_of(current_app)


def shutdown(app: Flask) -> None:
    """Stop `app`'s reload thread and batch workers."""
    service_of(app).close()
