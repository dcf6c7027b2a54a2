"""Callbacks in the API: the per-user signing secret routes and attaching a callback_url to a job.

`GET /api/v1/auth/webhook-secret` reads the caller's secret (made on first read), `POST`
rotates it. Delivery itself runs in the background (`api.delivery`).
"""

from __future__ import annotations

from flask import Blueprint, Flask, current_app, jsonify, request
from flask.typing import ResponseReturnValue

from api.auth import current_user, require_token
from api.context import db, settings
from api.delivery import Deliverer
from api.errors import ApiError
from api.openapi import documented
from api.schemas import WebhookSecret
from api.webhook_urls import BadCallbackUrl, check_url
from storage import jobs, webhooks

bp = Blueprint("webhooks", __name__, url_prefix="/api/v1/auth/webhook-secret")
require_token(bp)
FIELD = "callback_url"


@bp.get("")
@documented({200: WebhookSecret}, tag="webhooks")
def read_secret() -> ResponseReturnValue:
    """The caller's webhook signing secret (HMAC-SHA256 key of `X-Detector-Signature`)."""
    return jsonify(_public(webhooks.get_secret(db(), current_user()["user_id"])))


@bp.post("")
@documented({200: WebhookSecret}, tag="webhooks")
def rotate_secret() -> ResponseReturnValue:
    """Replace the caller's signing secret; callbacks sent from now on use the new one."""
    return jsonify(_public(webhooks.rotate_secret(db(), current_user()["user_id"])))


def _public(doc: dict) -> dict:
    return {"secret": doc["secret"], "created_at": doc["created_at"]}


def callback_url() -> str | None:
    """The request's `callback_url` (multipart form field or JSON field), checked; or None."""
    if request.mimetype == "multipart/form-data":
        url = request.form.get(FIELD)
    else:
        body = request.get_json(silent=True) if request.is_json else None
        url = body.get(FIELD) if isinstance(body, dict) else None
    if url is None or url == "":
        return None
    if not isinstance(url, str):
        raise ApiError(400, "bad_callback_url", f"{FIELD} must be a string")
    cfg = settings().webhooks
    try:
        check_url(url, cfg.allow_private, cfg.max_url_chars)
    except BadCallbackUrl as exc:
        raise ApiError(400, "bad_callback_url", str(exc)) from exc
    return url


def attach(job_id: str, url: str) -> None:
    """Give the stored job its callback and wake the delivery loop."""
    jobs.update_job(db(), job_id, callback=webhooks.new_callback(url))
    deliverer().kick()


def deliverer() -> Deliverer:
    """The app's delivery loop."""
    return current_app.extensions["webhooks"]


def register_webhooks(app: Flask) -> None:
    """The secret routes and the (not yet started) delivery loop of `app`."""
    from storage.db import get_db

    uri, name = app.config["MONGO_URI"], app.config["MONGO_DB"]
    app.register_blueprint(bp)
    cfg = app.config["DETECTOR"]
    app.extensions["webhooks"] = Deliverer(lambda: get_db(uri, name), app.extensions["engine"],
                                           cfg.webhooks, cfg.argo_ui_url)
