"""Probes: /healthz (the process answers) and /readyz (MongoDB and the model registry).

/readyz asks the MLflow registry through MLflow's tracking client only:
`models.registry.client` imports
torch (~240 MiB resident), which the API process otherwise never needs.
"""

from __future__ import annotations

import logging

import pymongo
from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue

from api.context import db, settings
from api.error_codes import error_body
from api.openapi import documented
from api.schemas import Health
from models import MODALITIES
from models.registry.aliases import alias_version

bp = Blueprint("health", __name__)
PING_TIMEOUT_S = 2.0

log = logging.getLogger(__name__)


@bp.get("/healthz")
@documented({200: Health}, auth=None)
def healthz() -> ResponseReturnValue:
    """Liveness: no dependencies checked."""
    return jsonify({"status": "ok"})


def _check_mongo() -> str | None:
    """None when MongoDB answers; else a reason without the driver's text (hosts, ports),
    which goes to the log only."""
    try:
        with pymongo.timeout(PING_TIMEOUT_S):
            db().command("ping")
    except Exception as exc:  # the driver's text names hosts and ports: logged, not answered
        log.warning("readyz: mongodb: %s", exc)
        return f"mongodb: not reachable ({type(exc).__name__})"
    return None


def _check_models(checks: dict) -> list[str]:
    reasons = []
    for modality in MODALITIES:
        try:
            version = alias_version(settings().mlflow_tracking_uri, modality)
        except Exception as exc:
            log.warning("readyz: mlflow: %s: %s", modality, exc)
            checks[modality] = None
            reasons.append(f"mlflow: {modality}: registry not reachable ({type(exc).__name__})")
            continue
        checks[modality] = version
        if version is None:
            reasons.append(f"mlflow: no champion for {modality}")
    return reasons


@bp.get("/readyz")
@documented({200: Health, 503: Health}, auth=None)
def readyz() -> ResponseReturnValue:
    """Readiness: 200 when MongoDB answers and every modality has a champion, else 503."""
    reasons, champions = [], {}
    mongo = _check_mongo()
    if mongo:
        reasons.append(mongo)
    reasons += _check_models(champions)
    checks = {"mongodb": mongo is None, "champions": champions}
    if reasons:
        return jsonify(error_body("not_ready", "; ".join(reasons), status="unavailable",
                                  reasons=reasons, checks=checks)), 503
    return jsonify({"status": "ready", "checks": checks})
