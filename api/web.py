"""The upload page at `/`: plain HTML and JavaScript talking to the JSON API."""

from __future__ import annotations

from flask import Blueprint, current_app, send_from_directory
from flask.typing import ResponseReturnValue

bp = Blueprint("web", __name__, static_folder="static", static_url_path="/static/web")


@bp.get("/")
def index() -> ResponseReturnValue:
    """The single-page upload form."""
    return send_from_directory(bp.static_folder or current_app.root_path, "index.html")
