"""What clients see of results and jobs, and a JSON provider writing datetimes as ISO 8601 UTC."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask.json.provider import DefaultJSONProvider

RESULT_KEYS = (
    "media_id", "job_id", "filename", "sha256", "modality", "score", "verdict", "model",
    "explanation", "created_at",
)
EVIDENCE_FILES = ("heatmap", "frame", "waveform")
"""Keys of `explanation` that hold a file's path on the media volume (never shown: a link is)."""
JOB_KEYS = (
    "job_id", "status", "engine", "mode", "media_ids", "error", "created_at", "updated_at",
    "nodes",
)


def public_result(doc: dict[str, Any]) -> dict[str, Any]:
    """A result as the API returns it; a `not_applicable` one (null score) adds `reason` and
    `reason_code`."""
    out = {k: doc.get(k) for k in RESULT_KEYS}
    model = doc.get("model") or {}
    out["model"] = {"name": model.get("name"), "version": model.get("version")}
    if doc.get("ensemble"):
        out["ensemble"] = doc["ensemble"]
    if doc.get("verdict") == "not_applicable":  # score is null: say why
        out["reason"], out["reason_code"] = doc.get("reason"), doc.get("reason_code")
    explanation = doc.get("explanation") or {}
    stored = [k for k in EVIDENCE_FILES if explanation.get(k)]
    if stored:  # paths on the media volume: URLs
        out["explanation"] = {k: v for k, v in explanation.items() if k not in EVIDENCE_FILES}
        out["links"] = {k: f"/api/v1/results/{doc['media_id']}/{k}" for k in stored}
    return out


def public_job(doc: dict[str, Any], results: list[dict[str, Any]], argo_ui_url: str | None
               ) -> dict[str, Any]:
    """A job with its results as the API returns it; `links.argo_ui` is its workflow in the
    Argo UI at `argo_ui_url` (null off Argo or when ARGO_UI_URL is unset)."""
    from api.errors import redact
    from workflows.argo_engine import argo_ui_link

    out = {k: doc.get(k) for k in JOB_KEYS}
    out["nodes"] = {name: ({**state, "error": redact(state["error"])}
                           if isinstance(state, dict) and isinstance(state.get("error"), str)
                           else state) for name, state in (out["nodes"] or {}).items()}
    if isinstance(out["error"], str):  # a step's exception text: no server paths or hosts
        out["error"] = redact(out["error"])
    out["results"] = [public_result(r) for r in results]
    out["links"] = {"argo_ui": argo_ui_link(doc, argo_ui_url)}
    return out


class JSONProvider(DefaultJSONProvider):
    """Flask's JSON provider with datetimes as ISO 8601 in UTC instead of HTTP dates; bodies
    nested deeper than MAX_JSON_DEPTH or holding lone surrogates do not parse (a 400)."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        from api.jsonsafe import loads

        return loads(s, self._app.config["LIMITS"].max_json_depth, **kwargs)

    @staticmethod
    def default(o: Any) -> Any:
        if isinstance(o, datetime):
            return (o if o.tzinfo else o.replace(tzinfo=UTC)).astimezone(UTC).isoformat()
        return DefaultJSONProvider.default(o)
