"""Accessors for what the app holds: configuration, limits, database, engine."""

from __future__ import annotations

from typing import Any

from flask import current_app
from pymongo.database import Database

from config import Config, Limits
from storage.db import get_db
from workflows.engine import Engine


def settings() -> Config:
    """The configuration the app was created with."""
    return current_app.config["DETECTOR"]


def limits() -> Limits:
    """The input limits (overridable with test_config={"LIMITS": ...})."""
    return current_app.config["LIMITS"]


def db() -> Database:
    """The detector's database."""
    return get_db(current_app.config["MONGO_URI"], current_app.config["MONGO_DB"])


def engine() -> Engine:
    """The workflow engine the app was created with (`workflows.engine.Engine`)."""
    return current_app.extensions["engine"]


def inference() -> Any:
    """The inference service client (`INFERENCE_URL`), or None when sync jobs use the engine."""
    return current_app.extensions.get("inference")
