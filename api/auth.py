"""Authentication: Basic credentials buy a signed JWT; every other /api/v1 route needs one.

Routes under /api/v1/auth: token (login), logout, me, password (own change); the admins'
user routes are in `api.admin_users`.
"""

from __future__ import annotations

import time
from typing import Any

from flask import Blueprint, Flask, current_app, g, jsonify, request
from flask.typing import ResponseReturnValue
from flask_httpauth import HTTPTokenAuth

from api import tokens
from api.address import client_address, trust_proxies
from api.auth_schemas import LoggedOut, PasswordChange
from api.context import db, settings
from api.errors import ApiError, error_response
from api.login import check_password, register_login
from api.openapi import documented
from api.ratelimit import password_failure_limits, register_rate_limits
from api.schemas import Token, User
from storage import audit, users

bp = Blueprint("auth", __name__, url_prefix="/api/v1/auth")
token_auth = HTTPTokenAuth(scheme="Bearer")
MIN_PASSWORD_CHARS = 8
BASIC_CHALLENGE = 'Basic realm="Authentication Required"'


def register_protections(app: Flask) -> None:
    """TRUSTED_PROXIES, the rate limits (`api.ratelimit`) and the hashing slots (`api.login`)."""
    trust_proxies(app, app.config["DETECTOR"].auth.trusted_proxies)
    register_rate_limits(app)
    register_login(app)


@token_auth.verify_token
def _verify_token(token: str) -> dict[str, Any] | None:
    claims = tokens.decode(token, settings().jwt_secret) if token else None
    if claims is None:
        return None
    user = _cached_user(claims["sub"])
    if user is None or not users.token_is_current(user, claims["ver"], claims["jti"]):
        return None
    g.token_claims = claims
    return user


USER_CACHE_MAX = 10_000
"""Users kept by `_cached_user` per app at most (the cache is emptied when it is full)."""


def _cached_user(user_id: str) -> dict[str, Any] | None:
    """The user record, reused for USER_CACHE_TTL_S seconds (one MongoDB round trip less on
    every authenticated request). An unknown user is never cached; `forget_user` drops one."""
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


def forget_user(user_id: str) -> None:
    """Drop the cached record after a change that revokes tokens (this replica at once; the
    others within USER_CACHE_TTL_S)."""
    current_app.extensions.setdefault("user_cache", {}).pop(user_id, None)


@token_auth.error_handler
def token_refused(status: int) -> ResponseReturnValue:
    return error_response(status, "unauthorized", "missing, expired or invalid bearer token")


def require_token(bp: Blueprint) -> None:
    """Guard every route of `bp` with the bearer token."""
    bp.before_request(token_auth.login_required(lambda: None))


def current_user() -> dict[str, Any]:
    """The user of the current token-authenticated request."""
    return token_auth.current_user()


def issue_token(user: dict[str, Any]) -> str:
    """A signed JWT for `user` (sub = user_id), valid for TOKEN_TTL_S seconds."""
    return tokens.issue(user, settings().jwt_secret, settings().token_ttl_s)


def _token_answer(user: dict[str, Any]) -> dict[str, Any]:
    return {"access_token": issue_token(user), "token_type": "Bearer",
            "expires_in": settings().token_ttl_s}


@bp.post("/token")
@documented({200: Token}, auth="basic")
@password_failure_limits
def token() -> ResponseReturnValue:
    """`{"access_token", "token_type": "Bearer", "expires_in"}` for valid Basic credentials;
    a wrong password, an unknown or a disabled user get the same 401 in the same time."""
    credentials = request.authorization
    name, password = "", ""
    if credentials is not None and credentials.type == "basic":
        name, password = credentials.username or "", credentials.password or ""
    user = check_password(name, password)
    if user is None:
        body, status = error_response(401, "unauthorized",
                                      "wrong or missing user name and password")
        return body, status, {"WWW-Authenticate": BASIC_CHALLENGE}
    return jsonify(_token_answer(user))


@bp.post("/logout")
@documented({200: LoggedOut})
@token_auth.login_required
def logout() -> ResponseReturnValue:
    """Revoke the presented token (the user's other tokens stay valid)."""
    claims = g.token_claims
    users.revoke_token(db(), claims["sub"], claims["jti"], float(claims["exp"]),
                       keep=settings().auth.max_revoked_tokens)
    forget_user(claims["sub"])
    audit.record(db(), "auth.logout", user_id=claims["sub"], address=client_address())
    return jsonify({"logged_out": True})


@bp.get("/me")
@documented({200: User})
@token_auth.login_required
def me() -> ResponseReturnValue:
    """The caller's user record."""
    return jsonify(users.public_user(current_user()))


def json_object() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiError(400, "bad_json", "send a JSON object")
    return body


def check_password_strength(password: Any, field: str) -> str:
    if not isinstance(password, str):
        raise ApiError(400, "missing_field", f'send JSON with the string "{field}"')
    if len(password) < MIN_PASSWORD_CHARS:
        raise ApiError(400, "weak_password",
                       f"the password needs at least {MIN_PASSWORD_CHARS} characters")
    return password


@bp.post("/password")
@documented({200: Token}, body=PasswordChange)
@token_auth.login_required
@password_failure_limits
def change_password() -> ResponseReturnValue:
    """Change the caller's password: JSON `{"current_password", "new_password"}`. Every token
    issued before is revoked; the answer carries a new one."""
    body = json_object()
    new_password = check_password_strength(body.get("new_password"), "new_password")
    current = body.get("current_password")
    user = current_user()
    if not isinstance(current, str) or check_password(
            user["name"], current, "auth.password_change", audit_success=False) is None:
        raise ApiError(403, "wrong_password", "the current password is wrong")
    changed = users.set_password(db(), user["user_id"], new_password)
    forget_user(user["user_id"])
    if changed is None:
        return token_refused(401)
    audit.record(db(), "auth.password_changed", user_id=user["user_id"],
                 address=client_address())
    return jsonify(_token_answer(changed))
