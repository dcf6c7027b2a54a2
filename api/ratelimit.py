"""Rate limits (Flask-Limiter, counters in MongoDB shared by replicas): uploads, sync
detections and failed password checks, per user or name and per client address."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

from flask import Flask, current_app, g, request
from flask.typing import ResponseReturnValue
from flask_limiter import Limiter, RateLimitExceeded
from limits import parse_many

from api.address import client_address
from api.context import db
from api.errors import error_response
from storage import audit
from storage.ratelimits import SCHEME

OFF = "none"
"""A limit set to this is switched off."""
LOGIN_ENDPOINTS = frozenset({"auth.token", "auth.change_password"})
LIMIT_SETTINGS = {
    "login_failures_per_name": "LOGIN_FAILURES_PER_NAME",
    "login_failures_per_address": "LOGIN_FAILURES_PER_ADDRESS",
    "uploads_per_user": "RATE_LIMIT_UPLOADS_PER_USER",
    "uploads_per_address": "RATE_LIMIT_UPLOADS_PER_ADDRESS",
    "sync_per_user": "RATE_LIMIT_SYNC_PER_USER",
    "sync_per_address": "RATE_LIMIT_SYNC_PER_ADDRESS",
}
"""The `config.AuthLimits` fields that hold limits, and the variables that set them."""

limiter = Limiter(key_func=client_address, headers_enabled=False, strategy="fixed-window",
                  storage_uri=f"{SCHEME}://", storage_options={"database": db})  # type: ignore


def _setting(name: str) -> Callable[[], str]:
    return lambda: getattr(current_app.config["DETECTOR"].auth, name)


def _off(name: str, also: Callable[[], bool] | None = None) -> Callable[[], bool]:
    value = _setting(name)
    return lambda: value().strip().lower() == OFF or bool(also and also())


def _user_key() -> str:
    from api.auth import current_user

    return f"user:{current_user()['user_id']}"


def _address_key() -> str:
    return f"address:{client_address()}"


def _login_name_key() -> str:
    """The name a password is checked for: Basic credentials', else the token's user's."""
    from api.auth import current_user

    credentials = request.authorization
    if credentials is not None and credentials.type == "basic":
        name = credentials.username or ""
    else:
        name = (current_user() or {}).get("name", "")
    return f"name:{name[:256]}"


def _async() -> bool:
    return request.args.get("mode") == "async"


def _password_failed(_response: Any) -> bool:
    return bool(g.get("password_check_failed"))


def _limit(setting: str, key: Callable[[], str], scope: str,
           exempt: Callable[[], bool] | None = None,
           deduct_when: Callable[[Any], bool] | None = None) -> Any:
    return limiter.shared_limit(_setting(setting), scope=scope, key_func=key,
                                exempt_when=_off(setting, exempt), deduct_when=deduct_when)


def upload_limits(view: Callable[..., Any]) -> Callable[..., Any]:
    """RATE_LIMIT_UPLOADS_PER_USER / _PER_ADDRESS on every call of `view`, and
    RATE_LIMIT_SYNC_PER_USER / _PER_ADDRESS unless it asks `?mode=async`. Apply it under the
    token check: it counts per user."""
    for setting, key, scope, exempt in (
            ("uploads_per_user", _user_key, "uploads-user", None),
            ("uploads_per_address", _address_key, "uploads-address", None),
            ("sync_per_user", _user_key, "sync-user", _async),
            ("sync_per_address", _address_key, "sync-address", _async)):
        view = _limit(setting, key, scope, exempt)(view)
    return view


def password_failure_limits(view: Callable[..., Any]) -> Callable[..., Any]:
    """LOGIN_FAILURES_PER_NAME / _PER_ADDRESS: checked before `view` runs (so before any
    hashing), counted only when it sets `g.password_check_failed` (`api.login`)."""
    for setting, key, scope in (("login_failures_per_name", _login_name_key, "login-name"),
                                ("login_failures_per_address", _address_key, "login-address")):
        view = _limit(setting, key, scope, deduct_when=_password_failed)(view)
    return view


def _too_many(exc: RateLimitExceeded) -> ResponseReturnValue:
    current = limiter.current_limit
    retry = max(1, math.ceil(current.window[0] - time.time())) if current else 60
    if request.endpoint in LOGIN_ENDPOINTS:
        audit.record(db(), "auth.login_throttled", address=client_address(), level="warning",
                     endpoint=request.endpoint, limit=str(exc.description))
    body, status = error_response(429, "too_many_requests",
                                  f"rate limit {exc.description} reached; retry in {retry} s")
    body.headers["Retry-After"] = str(retry)
    return body, status


def register_rate_limits(app: Flask) -> None:
    """Counters in the app's MongoDB database (`storage.ratelimits`), JSON 429 + Retry-After.
    A limit that does not parse stops the app here, not at the first request it guards."""
    settings = app.config["DETECTOR"].auth
    for name, variable in LIMIT_SETTINGS.items():
        value = getattr(settings, name)
        try:
            if value.strip().lower() != OFF:
                parse_many(value)
        except ValueError as exc:
            raise ValueError(f"{variable}={value!r} is not a rate limit ({exc})") from exc
    limiter.init_app(app)
    app.register_error_handler(RateLimitExceeded, _too_many)
