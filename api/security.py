"""Security headers on every response: CSP without inline code, no framing, no sniffing."""

from __future__ import annotations

from flask import Flask, Response, request

CSP = "; ".join([
    "default-src 'none'",
    "script-src 'self'",  # api/static/web.js: no inline script, no inline event handler
    "style-src 'self'",
    "connect-src 'self'",  # the page's fetch() calls to /api/v1
    "img-src 'self'",
    "form-action 'self'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
])
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
API_PREFIX = "/api/"
"""Responses under it carry tokens, jobs and results: never stored by a browser or a proxy."""


def _secure(response: Response) -> Response:
    response.headers.update(HEADERS)
    if request.path.startswith(API_PREFIX):
        response.headers["Cache-Control"] = "no-store"
        response.headers.pop("Expires", None)
    return response


def register_security_headers(app: Flask) -> None:
    """Add HEADERS to every response of `app` (errors included), `no-store` to the API's."""
    app.after_request(_secure)
