"""One table of error codes for both services: docs/api.md lists it row for row, every code the
services raise is in it with its status, and both answer errors in the same JSON format."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from api.error_codes import ERROR_CODES, FALLBACK_CODE, code_for
from api.inference.app import create_app as create_inference_app
from api.inference.service import service_of, shutdown
from api.inference.settings import ServingSettings
from config import Config
from models.registry.champions import ChampionSet

ROOT = Path(__file__).resolve().parents[2]
ROW = re.compile(r"^\| `(\w+)` \| (\d{3}|other) \| (.+?) \| (yes)? ?\|$", re.M)
# ApiError(422, "invalid_media", ...) / error_response(401, "unauthorized", ...)
RAISED = re.compile(r"\b(?:ApiError|error_response)\(\s*(\d{3}),\s*\"(\w+)\"")
# error_body("not_ready", ...) / {"code": "not_ready", ...}: a code without its status
NAMED = re.compile(r"\berror_body\(\s*\"(\w+)\"|\"code\": \"(\w+)\"")


def _documented() -> dict[str, tuple[str, str, bool]]:
    """code -> (status, meaning, default) of the rows under docs/api.md's "## Errors"."""
    text = (ROOT / "docs" / "api.md").read_text()
    section = text.split("\n## Errors\n", 1)[1].split("\n## ", 1)[0]
    return {code: (status, meaning, bool(default))
            for code, status, meaning, default in ROW.findall(section)}


def test_docs_list_every_code_with_its_status_and_meaning() -> None:
    documented = _documented()
    fallback = documented.pop(FALLBACK_CODE, None)
    assert fallback is not None and fallback[0] == "other", "docs/api.md lacks the fallback row"
    expected = {code: (str(e.status), e.meaning, e.default) for code, e in ERROR_CODES.items()}
    missing = sorted(expected.keys() - documented.keys())
    assert not missing, f"docs/api.md's error table lacks: {missing}"
    unknown = sorted(documented.keys() - expected.keys())
    assert not unknown, f"docs/api.md lists codes api/error_codes.py lacks: {unknown}"
    differ = {c: (documented[c], expected[c]) for c in expected if documented[c] != expected[c]}
    assert not differ, f"docs/api.md rows differ from api/error_codes.py: {differ}"


def _sources() -> str:
    return "\n".join(p.read_text() for p in sorted((ROOT / "api").rglob("*.py")))


def test_every_code_raised_is_in_the_table_with_its_status() -> None:
    sources = _sources()
    raised = set(RAISED.findall(sources))
    assert len(raised) >= 20  # the pattern still finds the raises
    wrong = sorted((code, int(status)) for status, code in raised
                   if code not in ERROR_CODES or ERROR_CODES[code].status != int(status))
    assert not wrong, f"raised with a code the table lacks or another status: {wrong}"
    named = {a or b for a, b in NAMED.findall(sources)}
    assert "not_ready" in named
    assert named <= ERROR_CODES.keys(), sorted(named - ERROR_CODES.keys())
    used = {code for _, code in raised} | named
    unused = sorted(c for c, e in ERROR_CODES.items() if c not in used and not e.default)
    assert not unused, f"codes no service answers: {unused}"


def test_each_status_has_one_default_code() -> None:
    defaults = [e.status for e in ERROR_CODES.values() if e.default]
    assert len(defaults) == len(set(defaults))
    assert code_for(404) == "not_found" and code_for(422) == "invalid_media"
    assert code_for(418) == FALLBACK_CODE


def _is_error(answer, status: int, code: str) -> None:
    assert answer.status_code == status, answer.get_data(as_text=True)
    body = answer.get_json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
    assert body["error"]["code"] == code and body["error"]["message"]


@pytest.fixture
def inference(detector_env: Config) -> Iterator[FlaskClient]:
    """The inference service with no model loaded (no scoring needed here)."""
    app = create_inference_app(ChampionSet(detector_env.mlflow_tracking_uri), ServingSettings(),
                               start=False)
    yield app.test_client()
    shutdown(app)


def test_both_services_answer_werkzeugs_errors_alike(client: FlaskClient, inference: FlaskClient,
                                                    detector_env: Config) -> None:
    token = {"Authorization": f"Bearer {detector_env.inference_token}"}
    _is_error(client.get("/api/v1/no-such-route"), 404, "not_found")
    _is_error(inference.get("/no-such-route"), 404, "not_found")
    api_405 = client.get("/api/v1/auth/token")
    _is_error(api_405, 405, "method_not_allowed")
    service_405 = inference.get("/v1/score", headers=token)
    _is_error(service_405, 405, "method_not_allowed")
    assert "POST" in api_405.headers["Allow"] and "POST" in service_405.headers["Allow"]
    _is_error(inference.post("/v1/score/text", json={"text": "x"}), 401, "unauthorized")


def test_both_services_hide_an_unexpected_error(app, inference: FlaskClient,
                                                detector_env: Config,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args, **kwargs):
        raise RuntimeError("disk at /srv/secret/models failed")

    monkeypatch.setattr(service_of(inference.application).scorer, "score_text", broken)
    token = {"Authorization": f"Bearer {detector_env.inference_token}"}
    answer = inference.post("/v1/score/text", json={"text": "x"}, headers=token)
    _is_error(answer, 500, "internal_error")
    assert answer.json["error"]["message"] == "internal server error"

    @app.get("/api/v1/broken")
    def _broken():
        broken()

    answer = app.test_client().get("/api/v1/broken")
    _is_error(answer, 500, "internal_error")
    assert answer.json["error"]["message"] == "internal server error"
