"""The web page at `/`: plain HTML and JavaScript (api/static) talking to the JSON API."""

from __future__ import annotations

from flask import Blueprint, Flask, current_app, send_from_directory
from flask.typing import ResponseReturnValue

bp = Blueprint("web", __name__, static_folder="static", static_url_path="/static/web")


@bp.get("/")
def index() -> ResponseReturnValue:
    """The single page: log in, check media, results drawn, history, admin."""
    return send_from_directory(bp.static_folder or current_app.root_path, "index.html")


def register_page_apis(app: Flask) -> None:
    """Register the routes the page reads besides the core API: evidence (a video's peak frame,
    an audio waveform), the filtered history, the admin's model list."""
    from api import evidence, history, models_admin

    for module in (evidence, history, models_admin):
        app.register_blueprint(module.bp)
