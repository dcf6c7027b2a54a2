"""The client's address: `request.remote_addr`, behind TRUSTED_PROXIES reverse proxies."""

from __future__ import annotations

from flask import Flask, request
from werkzeug.middleware.proxy_fix import ProxyFix


def client_address() -> str:
    """The address the request came from ("unknown" when the server does not say)."""
    return request.remote_addr or "unknown"


def trust_proxies(app: Flask, count: int) -> None:
    """Behind `count` proxies, take the address from the last `count` X-Forwarded-For hops
    (werkzeug's ProxyFix); with 0 (the default) X-Forwarded-For is ignored, so a client cannot
    choose the address its rate limits and audit events are kept under."""
    if count > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count)  # type: ignore[method-assign]
