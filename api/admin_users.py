"""Admin routes under /api/v1/auth/users: list, create, disable or promote users.

Each reads the caller's record afresh from MongoDB: neither the token's `admin` claim nor the
user cache (`api.auth`) decides who is an admin.
"""

from __future__ import annotations

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue

from api.address import client_address
from api.admin import admin_only
from api.auth import (
    check_password_strength,
    current_user,
    forget_user,
    json_object,
    require_token,
)
from api.auth_schemas import Account, AccountChange, AccountsPage
from api.context import db
from api.errors import ApiError
from api.openapi import documented
from api.paging import page_args
from api.schemas import NewUser, PageQuery
from storage import audit, users

bp = Blueprint("admin_users", __name__, url_prefix="/api/v1/auth/users")
require_token(bp)
MAX_PER_PAGE = 100



@bp.get("")
@documented({200: AccountsPage}, query=PageQuery)
@admin_only
def list_users() -> ResponseReturnValue:
    """`{"items", "page", "per_page", "total"}` of every user, by name, without secrets."""
    page, per_page = page_args(MAX_PER_PAGE)
    items, total = users.list_users(db(), page, per_page)
    return jsonify({"items": items, "page": page, "per_page": per_page, "total": total})


@bp.post("")
@documented({201: Account}, body=NewUser)
@admin_only
def create_user() -> ResponseReturnValue:
    """Admins create users: JSON `{"name", "password", "admin"?}`."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("name"), str) or not isinstance(
            body.get("password"), str):
        raise ApiError(400, "missing_field", 'send JSON {"name": ..., "password": ...}')
    check_password_strength(body["password"], "password")
    try:
        user = users.create_user(db(), body["name"], body["password"],
                                 admin=bool(body.get("admin")))
    except users.DuplicateUser as exc:
        raise ApiError(409, "conflict", str(exc)) from exc
    except ValueError as exc:
        raise ApiError(400, "bad_request", str(exc)) from exc
    audit.record(db(), "user.created", user_id=current_user()["user_id"],
                 address=client_address(), target=user["user_id"], admin=user["admin"])
    return jsonify(user), 201


@bp.patch("/<user_id>")
@documented({200: Account}, body=AccountChange)
@admin_only
def update_user(user_id: str) -> ResponseReturnValue:
    """Admins set `{"disabled"?: bool, "admin"?: bool}` of a user; disabling revokes its
    tokens. An admin cannot disable or demote itself (409)."""
    body = json_object()
    change = {k: body[k] for k in ("disabled", "admin") if k in body}
    if not change or any(not isinstance(v, bool) for v in change.values()) or (
            set(body) - {"disabled", "admin"}):
        raise ApiError(400, "bad_request", 'send JSON {"disabled": bool, "admin": bool}')
    me_id = current_user()["user_id"]
    if user_id == me_id and (change.get("disabled") or change.get("admin") is False):
        raise ApiError(409, "conflict", "an admin cannot disable or demote itself")
    updated = users.update_user(db(), user_id, **change)
    if updated is None:
        raise ApiError(404, "not_found", f"no user {user_id}")
    forget_user(user_id)
    audit.record(db(), "user.updated", user_id=me_id, address=client_address(),
                 target=user_id, **change)
    return jsonify(users.public_user(updated))
