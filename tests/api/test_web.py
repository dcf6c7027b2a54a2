"""The page's files: served under the CSP, no inline code or style, the vendored library pinned."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from api.security import CSP

STATIC = Path(__file__).resolve().parents[2] / "api" / "static"
CHART = "vendor/chartjs/chart-4.4.7.umd.min.js"


def test_page_is_served_under_the_csp_without_inline_code(client) -> None:
    page = client.get("/")
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert page.headers["Content-Security-Policy"] == CSP
    assert "'unsafe-inline'" not in CSP and "blob:" not in CSP and "data:" not in CSP
    html = page.get_data(as_text=True)
    scripts = re.findall(r"<script\b([^>]*)>", html)
    assert scripts and all('src="/static/web/' in attrs for attrs in scripts)
    assert not re.search(r"\son[a-z]+\s*=", html)  # no inline event handler
    assert not re.search(r"\sstyle\s*=", html)  # no inline style
    assert not re.search(r"https?://", html)  # no CDN
    for name in ("web.js", "web.css", CHART):
        assert client.get(f"/static/web/{name}").status_code == 200, name


def test_script_writes_no_markup_and_no_inline_style() -> None:
    """Names, texts and reasons are user input: the script sets textContent, never HTML."""
    script = (STATIC / "web.js").read_text()
    for unsafe in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(",
                   'setAttribute("style"', ".style.", "blob:", "createObjectURL"):
        assert unsafe not in script, unsafe


def test_vendored_chart_library_is_pinned_with_its_licence() -> None:
    notes = (STATIC / "vendor" / "README.md").read_text()
    digest = hashlib.sha256((STATIC / CHART).read_bytes()).hexdigest()
    assert digest in notes and "4.4.7" in notes
    assert (STATIC / CHART).read_text()[:40].count("Chart.js v4.4.7") == 1
    assert "MIT" in (STATIC / "vendor" / "chartjs" / "LICENSE.md").read_text() + notes
    assert f'src="/static/web/{CHART}"' in (STATIC / "index.html").read_text()
