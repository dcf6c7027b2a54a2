"""The OpenAPI 3.1 document, built from the routes: `@documented(...)` beside each, url_map walked.

A route documents itself with `@documented(responses={200: Model}, body=..., query=...)`, the
pydantic models of `api.schemas` it answers with; `build_document(app)` walks `app.url_map` and
turns every documented rule into an operation, the models into `components.schemas`. Every
operation also answers `default`: the `Error` body. `/api/v1/openapi.json` serves the document,
`/api/v1/docs` a page that renders it with `docs_static/docs.js` (no CDN, no inline script).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from flask import Blueprint, Flask, current_app, jsonify, send_from_directory
from flask.typing import ResponseReturnValue
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema
from werkzeug.routing import Rule

from api import schemas

F = TypeVar("F", bound=Callable[..., Any])
Body = type[BaseModel] | str | dict[str, Any]
"""A model; a media type (binary or text content, e.g. "image/png"); or a raw JSON schema."""

API_PREFIX = "/api/v1"
OPENAPI_VERSION = "3.1.0"
TITLE = "Deepfake detector API"
ATTRIBUTE = "__openapi__"
_METHODS_SKIPPED = {"HEAD", "OPTIONS"}
_REF = "#/components/schemas/{model}"
_VARIABLE = re.compile(r"<(?:([a-zA-Z_]+)(?:\([^)]*\))?:)?([a-zA-Z_][a-zA-Z0-9_]*)>")

bp = Blueprint("openapi", __name__, static_folder="docs_static",
               static_url_path="/static/api-docs")


@dataclass(frozen=True)
class Operation:
    """What `@documented` records on a view function."""

    summary: str
    responses: Mapping[int, Body]
    body: Mapping[str, type[BaseModel]] = field(default_factory=dict)
    query: type[BaseModel] | None = None
    auth: str | None = "bearer"
    tag: str | None = None
    description: str | None = None


def documented(
    responses: Mapping[int, Body], *, summary: str | None = None,
    body: type[BaseModel] | Mapping[str, type[BaseModel]] | None = None,
    query: type[BaseModel] | None = None, auth: str | None = "bearer", tag: str | None = None,
) -> Callable[[F], F]:
    """Describe a route: its answers by status, JSON (or per media type) body, query model, and
    auth ("bearer", "basic" or None). Summary and description default to the docstring."""
    bodies = {"application/json": body} if isinstance(body, type) else dict(body or {})

    def mark(view: F) -> F:
        doc = (view.__doc__ or "").strip()
        first, _, rest = doc.partition("\n")
        setattr(view, ATTRIBUTE, Operation(
            summary=summary or first or view.__name__, responses=dict(responses), body=bodies,
            query=query, auth=auth, tag=tag, description=rest.strip() or None))
        return view

    return mark


def operation_of(app: Flask, rule: Rule) -> Operation | None:
    """The documentation of the view behind `rule`, or None."""
    return getattr(app.view_functions.get(rule.endpoint), ATTRIBUTE, None)


def openapi_path(rule: Rule) -> str:
    """`/api/v1/jobs/<job_id>` as OpenAPI spells it: `/api/v1/jobs/{job_id}`."""
    return _VARIABLE.sub(lambda m: "{" + m.group(2) + "}", rule.rule)


def _path_parameters(rule: Rule) -> list[dict[str, Any]]:
    params = []
    for match in _VARIABLE.finditer(rule.rule):
        converter, argument = match.group(1), match.group(2)
        kind = {"int": "integer", "float": "number"}.get(converter or "", "string")
        params.append({"name": argument, "in": "path", "required": True,
                       "schema": {"type": kind}})
    return params


def _query_parameters(model: type[BaseModel] | None) -> list[dict[str, Any]]:
    if model is None:
        return []
    schema = model.model_json_schema()
    required = set(schema.get("required", []))
    out = []
    for name, prop in schema.get("properties", {}).items():
        prop = {k: v for k, v in prop.items() if k != "title"}
        out.append({"name": name, "in": "query", "required": name in required,
                    "schema": prop})
    return out


def _content(body: Body, refs: dict[type[BaseModel], dict[str, str]]) -> dict[str, Any]:
    if isinstance(body, str):
        return {body: {"schema": {"type": "string"}}}
    if isinstance(body, dict):
        return {"application/json": {"schema": body}}
    return {"application/json": {"schema": refs[body]}}


def _models(app: Flask) -> set[type[BaseModel]]:
    found: set[type[BaseModel]] = {schemas.Error}
    for rule in app.url_map.iter_rules():
        op = operation_of(app, rule)
        if op is None:
            continue
        found.update(b for b in op.responses.values() if isinstance(b, type))
        found.update(op.body.values())
    return found


def build_document(app: Flask) -> dict[str, Any]:
    """The OpenAPI 3.1 document of every documented route of `app`."""
    models = sorted(_models(app), key=lambda m: m.__name__)
    keys, top = models_json_schema([(m, "validation") for m in models], ref_template=_REF)
    refs = {model: keys[(model, "validation")] for model in models}
    paths: dict[str, dict[str, Any]] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        op = operation_of(app, rule)
        if op is None:
            continue
        for method in sorted((rule.methods or set()) - _METHODS_SKIPPED):
            paths.setdefault(openapi_path(rule), {})[method.lower()] = _operation(
                rule, method, op, refs)
    return {
        "openapi": OPENAPI_VERSION,
        "info": {"title": TITLE, "version": _version(),
                 "description": "Errors are always `{\"error\": {\"code\", \"message\"}}`; "
                 "lists are paged with `page`, `per_page` and `total`."},
        "paths": paths,
        "components": {
            "schemas": top.get("$defs", {}),
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
                "basic": {"type": "http", "scheme": "basic"},
            },
        },
    }


def _operation(rule: Rule, method: str, op: Operation,
               refs: dict[type[BaseModel], dict[str, str]]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "operationId": f"{rule.endpoint}.{method.lower()}" if len(
            (rule.methods or set()) - _METHODS_SKIPPED) > 1 else rule.endpoint,
        "summary": op.summary,
        "tags": [op.tag or rule.endpoint.partition(".")[0]],
        "security": [{op.auth: []}] if op.auth else [],
        "responses": {str(status): {"description": _reason(status), "content": _content(
            body, refs)} for status, body in sorted(op.responses.items())},
    }
    out["responses"]["default"] = {"description": "an error", "content": _content(
        schemas.Error, refs)}
    if op.description:
        out["description"] = op.description
    params = _path_parameters(rule) + _query_parameters(op.query)
    if params:
        out["parameters"] = params
    if op.body:
        out["requestBody"] = {"required": True, "content": {
            kind: {"schema": refs[model]} for kind, model in op.body.items()}}
    return out


def _reason(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return str(status)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("deepfake-detector")
    except PackageNotFoundError:
        return "0"


def undocumented_routes(app: Flask) -> list[str]:
    """`METHOD /path` of every /api/v1 route without `@documented` (a test keeps it empty)."""
    missing = []
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(API_PREFIX) and operation_of(app, rule) is None:
            for method in sorted((rule.methods or set()) - _METHODS_SKIPPED):
                missing.append(f"{method} {rule.rule}")
    return sorted(missing)


def document(app: Flask) -> dict[str, Any]:
    """`build_document(app)`, built once per app (routes do not change after start-up)."""
    doc = app.extensions.get("openapi")
    if doc is None:
        doc = app.extensions["openapi"] = build_document(app)
    return doc


@bp.get(f"{API_PREFIX}/openapi.json")
@documented({200: {"type": "object"}}, auth=None, tag="docs")
def openapi_json() -> ResponseReturnValue:
    """This document: OpenAPI 3.1, generated from the routes and their pydantic models."""
    return jsonify(document(current_app._get_current_object()))  # type: ignore[attr-defined]


@bp.get(f"{API_PREFIX}/docs")
@documented({200: "text/html"}, auth=None, tag="docs")
def docs_page() -> ResponseReturnValue:
    """A page that renders this document (static HTML and a script file of our own)."""
    return send_from_directory(bp.static_folder or "", "docs.html")
