"""Security headers on every response: the page, its files, the API, probes and errors."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from flask import Flask
from flask.testing import FlaskClient

from api.security import CSP

COMMON = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
# (method, url, as a logged-in user, expected status); {job} and {media} from a real upload.
ROUTES = [
    ("get", "/", False, 200),
    ("get", "/static/web/web.js", False, 200),
    ("get", "/static/web/web.css", False, 200),
    ("get", "/healthz", False, 200),
    ("get", "/metrics", False, 404),  # served on METRICS_PORT, not here
    ("post", "/api/v1/auth/token", False, 401),
    ("get", "/api/v1/auth/me", True, 200),
    ("post", "/api/v1/detections", True, 200),
    ("get", "/api/v1/jobs/{job}", True, 200),
    ("get", "/api/v1/results", True, 200),
    ("get", "/api/v1/results/{media}", True, 200),
    ("get", "/api/v1/results/{media}", False, 401),
    ("get", "/api/v1/results/no-such-media", True, 404),
    ("get", "/api/v1/detections", True, 405),
    ("get", "/no/such/page", False, 404),
    ("delete", "/healthz", False, 405),
    ("get", "/boom", False, 500),
]


@pytest.fixture
def app(app: Flask) -> Flask:
    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("unexpected")

    return app


@pytest.mark.parametrize(("method", "url", "logged_in", "status"), ROUTES,
                         ids=[f"{m} {u} {s}" for m, u, _, s in ROUTES])
def test_every_response_carries_the_headers(client: FlaskClient, auth, samples, upload,
                                            method, url, logged_in, status) -> None:
    headers = auth.headers()
    first = upload((samples["png"], "a.png"))
    done = client.post("/api/v1/detections", headers=headers, data=first)
    assert done.status_code == 200, done.json
    url = url.format(job=done.json["job_id"], media=done.json["results"][0]["media_id"])
    body = {"data": upload((samples["png"], "b.png"))} if method == "post" and logged_in else {}
    response = getattr(client, method)(url, headers=headers if logged_in else {}, **body)
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    assert response.headers.get("Content-Security-Policy") == CSP
    for name, value in COMMON.items():
        assert response.headers.get(name) == value, name
    if url.startswith("/api/"):
        assert response.headers.get("Cache-Control") == "no-store"
        assert "Expires" not in response.headers
    response.close()


def test_the_policy_forbids_inline_code_and_framing() -> None:
    directives = dict(d.split(" ", 1) for d in CSP.split("; "))
    assert directives["script-src"] == "'self'" and directives["default-src"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe" not in CSP


class _Inline(HTMLParser):
    """Records inline scripts, inline styles and on* event handler attributes of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []
        self._in: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = {name for name, _ in attrs}
        self.found += [f"<{tag} {n}=...>" for n in names if n.startswith("on") or n == "style"]
        if tag == "style" or (tag == "script" and "src" not in names):
            self.found.append(f"inline <{tag}>")
        self._in = tag if tag in ("script", "style") else None

    def handle_data(self, data: str) -> None:
        if self._in and data.strip():
            self.found.append(f"code inside <{self._in}>")

    def handle_endtag(self, tag: str) -> None:
        self._in = None


def test_the_page_has_no_inline_code(client: FlaskClient) -> None:
    page = client.get("/").get_data(as_text=True)
    parser = _Inline()
    parser.feed(page)
    assert parser.found == []
    assert re.search(r'<script src="/static/web/web.js"', page)
    # what the page loads from web.js is what the policy allows and nosniff accepts
    script = client.get("/static/web/web.js")
    assert script.mimetype in ("text/javascript", "application/javascript")
    assert "/auth/token" in script.get_data(as_text=True)
    assert client.get("/static/web/web.css").mimetype == "text/css"
    script.close()


def test_the_inline_check_catches_inline_code() -> None:
    parser = _Inline()
    parser.feed('<script>alert(1)</script><button onclick="x()">b</button><p style="a">')
    assert parser.found == ["inline <script>", "code inside <script>", "<button onclick=...>",
                            "<p style=...>"]

