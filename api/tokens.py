"""JWTs: HS256 pinned, `exp`, `iat`, `jti` and the user's token version required."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

ALGORITHM = "HS256"
REQUIRED_CLAIMS = ["exp", "iat", "sub", "jti", "ver"]


def issue(user: dict[str, Any], secret: str, ttl_s: int) -> str:
    """A signed token for `user` (sub = user_id, ver = its token version), valid `ttl_s` s.

    `admin` and `name` are informational: nothing trusts them (admin routes read the user)."""
    now = datetime.now(UTC)
    claims = {"sub": user["user_id"], "name": user["name"], "admin": bool(user.get("admin")),
              "ver": int(user.get("token_version", 0)), "jti": uuid.uuid4().hex,
              "iat": now, "exp": now + timedelta(seconds=ttl_s)}
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def decode(token: str, secret: str) -> dict[str, Any] | None:
    """The claims of a token signed with `secret` by HS256 and not expired, else None."""
    try:
        claims = jwt.decode(token, secret, algorithms=[ALGORITHM],
                            options={"require": REQUIRED_CLAIMS})
    except jwt.InvalidTokenError:
        return None
    ok = (isinstance(claims.get("sub"), str) and isinstance(claims.get("jti"), str)
          and isinstance(claims.get("ver"), int))
    return claims if ok else None
