"""The OpenAPI document: made from the routes, every /api/v1 route in it, real answers valid."""

from __future__ import annotations

import json
import re

import jsonschema
import pytest
from flask import Flask
from flask.testing import FlaskClient

from api.openapi import build_document, documented, undocumented_routes
from api.schemas import Page


def _validate(doc: dict, path: str, method: str, status: int, body: object) -> None:
    """Validate one real answer against the schema the document gives for its status."""
    responses = doc["paths"][path][method]["responses"]
    response = responses.get(str(status), responses["default"])
    schema = response["content"]["application/json"]["schema"]
    whole = json.dumps({"$defs": doc["components"]["schemas"], **schema})
    jsonschema.validate(body, json.loads(whole.replace("#/components/schemas/", "#/$defs/")))


def test_document_is_served_and_valid_openapi_31(client: FlaskClient) -> None:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    doc = response.json
    assert doc["openapi"] == "3.1.0"
    jsonschema.Draft202012Validator.check_schema(doc["components"]["schemas"]["Job"])
    job = doc["paths"]["/api/v1/jobs/{job_id}"]["get"]
    assert job["parameters"][0] == {"name": "job_id", "in": "path", "required": True,
                                    "schema": {"type": "string"}}
    assert job["security"] == [{"bearer": []}]
    assert job["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Job"}
    detect = doc["paths"]["/api/v1/detections"]["post"]
    assert set(detect["requestBody"]["content"]) == {"multipart/form-data", "application/json"}
    assert {p["name"] for p in detect["parameters"]} == {"mode"}
    assert doc["paths"]["/api/v1/auth/token"]["post"]["security"] == [{"basic": []}]


def test_every_api_route_is_documented(app: Flask) -> None:
    assert undocumented_routes(app) == []


def test_an_undocumented_route_is_reported(app: Flask) -> None:
    app.add_url_rule("/api/v1/nothing-here", "nothing", lambda: "")
    assert undocumented_routes(app) == ["GET /api/v1/nothing-here"]
    documented({200: Page})(app.view_functions["nothing"])
    assert undocumented_routes(app) == []
    assert "/api/v1/nothing-here" in build_document(app)["paths"]


def test_every_operation_answers_errors_in_one_shape(app: Flask) -> None:
    doc = build_document(app)
    for methods in doc["paths"].values():
        for op in methods.values():
            assert op["responses"]["default"]["content"]["application/json"]["schema"] == {
                "$ref": "#/components/schemas/Error"}


def test_every_list_answer_is_paged(app: Flask) -> None:
    """A response schema with `items` also has page, per_page and total."""
    schemas = build_document(app)["components"]["schemas"]
    lists = [name for name, s in schemas.items() if "items" in s.get("properties", {})]
    assert lists
    for name in lists:
        assert {"page", "per_page", "total"} <= set(schemas[name]["properties"]), name


def test_real_answers_match_the_document(client: FlaskClient, auth, samples, upload,
                                         engine) -> None:
    doc = client.get("/api/v1/openapi.json").json
    admin = auth.headers("root", admin=True)
    headers = auth.headers()
    seen: list[tuple[str, str, int]] = []

    def check(path: str, method: str, response) -> None:
        seen.append((path, method, response.status_code))
        _validate(doc, path, method, response.status_code, response.json)

    check("/api/v1/auth/token", "post", client.post("/api/v1/auth/token", auth=("alice", "x")))
    check("/api/v1/auth/me", "get", client.get("/api/v1/auth/me", headers=headers))
    check("/api/v1/auth/users", "post", client.post(
        "/api/v1/auth/users", headers=admin, json={"name": "bob", "password": "password-bob"}))
    check("/api/v1/auth/users", "post", client.post(
        "/api/v1/auth/users", headers=headers, json={"name": "eve", "password": "x" * 9}))
    sync = client.post("/api/v1/detections", headers=headers,
                       data=upload((samples["png"], "a.png")))
    check("/api/v1/detections", "post", sync)
    engine.stall = True
    check("/api/v1/detections", "post", client.post(
        "/api/v1/detections?mode=async", headers=headers, data=upload((samples["wav"], "b.wav"))))
    engine.stall = False
    check("/api/v1/detections", "post", client.post(
        "/api/v1/detections", headers=headers, json={"text": 3}))
    job_id, media_id = sync.json["job_id"], sync.json["results"][0]["media_id"]
    check("/api/v1/jobs/{job_id}", "get", client.get(f"/api/v1/jobs/{job_id}", headers=headers))
    check("/api/v1/jobs/{job_id}", "get", client.get("/api/v1/jobs/nope", headers=headers))
    check("/api/v1/jobs/{job_id}/stop", "post", client.post(
        f"/api/v1/jobs/{job_id}/stop", headers=headers))
    check("/api/v1/results", "get", client.get("/api/v1/results?per_page=1", headers=headers))
    check("/api/v1/results", "get", client.get("/api/v1/results?page=0", headers=headers))
    check("/api/v1/results/{media_id}", "get", client.get(
        f"/api/v1/results/{media_id}", headers=headers))
    check("/api/v1/auth/webhook-secret", "get", client.get(
        "/api/v1/auth/webhook-secret", headers=headers))
    check("/api/v1/auth/webhook-secret", "post", client.post(
        "/api/v1/auth/webhook-secret", headers=headers))
    check("/api/v1/auth/webhook-secret", "post", client.post("/api/v1/auth/webhook-secret"))
    check("/healthz", "get", client.get("/healthz"))
    statuses = {status for _, _, status in seen}
    assert {200, 201, 202, 400, 401, 403, 404, 409} <= statuses


def test_a_wrong_answer_breaks_the_document(client: FlaskClient, auth) -> None:
    """The validation above is not vacuous: a result without its fields fails it."""
    doc = client.get("/api/v1/openapi.json").json
    with pytest.raises(jsonschema.ValidationError):
        _validate(doc, "/api/v1/results", "get", 200, {"items": [{"score": 1}], "page": 1,
                                                         "per_page": 1, "total": 1})


def test_docs_page_uses_no_inline_script(client: FlaskClient) -> None:
    page = client.get("/api/v1/docs")
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
    assert scripts and all('src="/static/api-docs/' in attrs and not body.strip()
                           for attrs, body in scripts)
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    script = client.get("/static/api-docs/docs.js")
    assert script.status_code == 200 and "/api/v1/openapi.json" in script.get_data(as_text=True)


def test_document_passes_the_openapi_31_meta_schema(app: Flask) -> None:
    from schemathesis.specs.openapi.definitions import OPENAPI_31

    doc = build_document(app)
    jsonschema.validators.validator_for(OPENAPI_31)(OPENAPI_31).validate(doc)
    broken = {**doc, "paths": {"/x": {"get": {"responses": "none"}}}}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validators.validator_for(OPENAPI_31)(OPENAPI_31).validate(broken)


def test_documented_paging_limits_are_the_routes(client: FlaskClient, auth) -> None:
    from api.results import MAX_PER_PAGE

    doc = client.get("/api/v1/openapi.json").json
    params = {p["name"]: p["schema"] for p in doc["paths"]["/api/v1/results"]["get"]["parameters"]}
    assert params["per_page"]["maximum"] == MAX_PER_PAGE
    over = client.get(f"/api/v1/results?per_page={MAX_PER_PAGE + 1}", headers=auth.headers())
    assert over.status_code == 400 and over.json["error"]["code"] == "bad_parameter"
