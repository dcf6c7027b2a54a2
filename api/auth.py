"""Authentication: Basic credentials buy a signed JWT; every other /api/v1 route needs one."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from flask import Blueprint, current_app, jsonify, request
from flask.typing import ResponseReturnValue
from flask_httpauth import HTTPBasicAuth, HTTPTokenAuth

from api.context import db, settings
from api.errors import ApiError, error_response
from api.openapi import documented
from api.schemas import NewUser, Token, User
from storage import logs, users

bp = Blueprint("auth", __name__, url_prefix="/api/v1/auth")
basic_auth = HTTPBasicAuth()
token_auth = HTTPTokenAuth(scheme="Bearer")
ALGORITHM = "HS256"


@basic_auth.verify_password
def _verify_password(name: str, password: str) -> dict[str, Any] | None:
    if not name or not password:
        return None
    return users.authenticate(db(), name, password)


@token_auth.verify_token
def _verify_token(token: str) -> dict[str, Any] | None:
    if not token:
        return None
    try:
        claims = jwt.decode(token, settings().jwt_secret, algorithms=[ALGORITHM],
                            options={"require": ["exp", "iat", "sub"]})
    except jwt.InvalidTokenError:
        return None
    return _cached_user(claims["sub"])


USER_CACHE_MAX = 10_000
"""Users kept by `_cached_user` per app at most (the cache is emptied when it is full)."""


def _cached_user(user_id: str) -> dict[str, Any] | None:
    """The user record, reused for USER_CACHE_TTL_S seconds (one MongoDB round trip less on
    every authenticated request). An unknown user is never cached."""
    ttl = settings().user_cache_ttl_s
    if ttl <= 0:
        return users.get_user(db(), user_id)
    cache = current_app.extensions.setdefault("user_cache", {})
    now = time.monotonic()
    hit = cache.get(user_id)
    if hit is not None and hit[0] > now:
        return dict(hit[1])
    user = users.get_user(db(), user_id)
    if user is not None:
        if len(cache) >= USER_CACHE_MAX:
            cache.clear()
        cache[user_id] = (now + ttl, user)
        user = dict(user)
    return user


@basic_auth.error_handler
def _basic_error(status: int) -> ResponseReturnValue:
    return error_response(status, "unauthorized", "wrong or missing user name and password")


@token_auth.error_handler
def _token_error(status: int) -> ResponseReturnValue:
    return error_response(status, "unauthorized", "missing, expired or invalid bearer token")


def require_token(bp: Blueprint) -> None:
    """Guard every route of `bp` with the bearer token."""
    bp.before_request(token_auth.login_required(lambda: None))


def current_user() -> dict[str, Any]:
    """The user of the current token-authenticated request."""
    return token_auth.current_user()


def issue_token(user: dict[str, Any]) -> str:
    """A signed JWT for `user` (sub = user_id), valid for TOKEN_TTL_S seconds."""
    now = datetime.now(UTC)
    claims = {"sub": user["user_id"], "name": user["name"], "admin": bool(user.get("admin")),
              "iat": now, "exp": now + timedelta(seconds=settings().token_ttl_s)}
    return jwt.encode(claims, settings().jwt_secret, algorithm=ALGORITHM)


@bp.post("/token")
@documented({200: Token}, auth="basic")
@basic_auth.login_required
def token() -> ResponseReturnValue:
    """`{"access_token", "token_type": "Bearer", "expires_in"}` for valid Basic credentials."""
    user = basic_auth.current_user()
    logs.log_event(db(), "info", "auth.token", user_id=user["user_id"])
    return jsonify({"access_token": issue_token(user), "token_type": "Bearer",
                    "expires_in": settings().token_ttl_s})


@bp.get("/me")
@documented({200: User})
@token_auth.login_required
def me() -> ResponseReturnValue:
    """The caller's user record."""
    return jsonify(current_user())


@bp.post("/users")
@documented({201: User}, body=NewUser)
@token_auth.login_required
def create_user() -> ResponseReturnValue:
    """Admins create users: JSON `{"name", "password", "admin"?}`."""
    if not current_user().get("admin"):
        raise ApiError(403, "forbidden", "only an admin can create users")
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("name"), str) or not isinstance(
            body.get("password"), str):
        raise ApiError(400, "missing_field", 'send JSON {"name": ..., "password": ...}')
    if len(body["password"]) < 8:
        raise ApiError(400, "weak_password", "the password needs at least 8 characters")
    try:
        user = users.create_user(db(), body["name"], body["password"],
                                 admin=bool(body.get("admin")))
    except users.DuplicateUser as exc:
        raise ApiError(409, "conflict", str(exc)) from exc
    except ValueError as exc:
        raise ApiError(400, "bad_request", str(exc)) from exc
    logs.log_event(db(), "info", "user.created", user_id=user["user_id"],
                   by=current_user()["user_id"])
    return jsonify(user), 201
