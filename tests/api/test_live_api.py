"""The live API on loopback: schemathesis finds no 5xx nor off-schema answer; docs page draws."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from waitress.server import create_server

from api import create_app
from config import Config
from storage.db import get_db
from storage.users import create_user
from tests.api.conftest import FakeEngine

MAX_EXAMPLES = 5
"""Examples per operation: the run stays within seconds (a dozen operations)."""
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]
DOCUMENTED_503 = {"/readyz"}
"""Readiness answers a documented 503 here (no champion registered): its schema is still checked."""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def live(module_env: Config) -> Iterator[dict]:
    """The real app served by waitress on 127.0.0.1, a user and its bearer token."""
    app = create_app({"ENGINE": FakeEngine()})
    server = create_server(app, host="127.0.0.1", port=_free_port(), threads=4)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.effective_port}"
    create_user(get_db(), "fuzz", "password-fuzz")
    import requests

    token = requests.post(f"{base}/api/v1/auth/token", auth=("fuzz", "password-fuzz"),
                          timeout=10).json()["access_token"]
    yield {"base": base, "schema": schemathesis.openapi.from_url(
        f"{base}/api/v1/openapi.json", timeout=10), "token": token}
    app.extensions["webhooks"].stop()
    server.close()
    thread.join(5)


def _fuzz(operation, checks: list, base: str, headers: dict[str, str]) -> None:
    """MAX_EXAMPLES generated requests to one operation; raises what the checks found."""

    @given(case=operation.as_strategy())
    @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None,
              suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
    def run(case) -> None:
        case.call_and_validate(base_url=base, checks=checks, headers=headers, timeout=30)

    run()


def test_api_conforms(live: dict) -> None:
    """Every documented operation, MAX_EXAMPLES generated requests each, as the bearer user.

    (schemathesis' own pytest plugin does not run under pytest 9, so hypothesis drives each
    operation's strategy here.)"""
    headers = {"Authorization": f"Bearer {live['token']}"}
    failures, labels = [], []
    for result in live["schema"].get_all_operations():
        operation = result.ok()
        labels.append(operation.label)
        checks = CHECKS[1:] if operation.path in DOCUMENTED_503 else CHECKS

        try:
            _fuzz(operation, checks, live["base"], headers)
        except Exception as exc:  # keep going: report every operation that fails
            failures.append(f"{operation.label}: {exc}")
    assert "POST /api/v1/detections" in labels and len(labels) >= 12
    assert not failures, "\n\n".join(failures)


def test_docs_page_renders_in_chromium(live: dict, tmp_path) -> None:
    """Real headless Chromium under the app's CSP: docs.js draws one block per operation."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    operations = sum(len(m) for m in live["schema"].raw_schema["paths"].values())
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 f"--user-data-dir={tmp_path / 'chromium'}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    try:
        driver.get(live["base"] + "/api/v1/docs")
        WebDriverWait(driver, 30).until(
            lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-rendered"))
        drawn = driver.find_elements(By.CSS_SELECTOR, "#operations details.op")
        paths = [e.text for e in driver.find_elements(By.CSS_SELECTOR, ".path")]
        schemas = [e.get_attribute("id") for e in driver.find_elements(By.CSS_SELECTOR,
                                                                         "#schemas h3")]
    finally:
        driver.quit()
    assert len(drawn) == operations and "/api/v1/detections" in paths
    assert {"schema-Job", "schema-Error", "schema-ResultsPage"} <= set(schemas)
