"""The admin check: a route decorated `admin_only` reads its caller's record afresh from MongoDB."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import g

from api.auth import forget_user, token_refused
from api.context import db
from api.errors import ApiError
from storage import users


def admin_only(view: Callable[..., Any]) -> Callable[..., Any]:
    """Mark and guard an admin route: 403 unless the caller's record, read now from MongoDB,
    says admin (and still accepts the token: 401 otherwise)."""

    @wraps(view)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        claims = g.token_claims
        fresh = users.get_user(db(), claims["sub"])
        if fresh is None or not users.token_is_current(fresh, claims["ver"], claims["jti"]):
            forget_user(claims["sub"])
            return token_refused(401)
        if not fresh.get("admin"):
            raise ApiError(403, "forbidden", "only an admin can do this")
        return view(*args, **kwargs)

    guarded.admin_only = True  # type: ignore[attr-defined]  # the route matrix test reads it
    return guarded
