"""The vendored Argo schemas: unmodified (the README's checksums), licensed, and what they claim."""

from __future__ import annotations

import hashlib
import re

import pytest

from workflows import argo_schema

README = (argo_schema.ARGO_SCHEMA_DIR / "README.md").read_text()


@pytest.mark.parametrize("path", [argo_schema.SCHEMA_JSON, argo_schema.SWAGGER_JSON],
                         ids=lambda p: p.name)
def test_vendored_files_match_the_recorded_checksums(path):
    recorded = re.search(rf"`{re.escape(path.name)}` ([0-9a-f]{{64}})", README)
    assert recorded, f"README.md records no sha256 for {path.name}"
    assert hashlib.sha256(path.read_bytes()).hexdigest() == recorded.group(1)


def test_licence_and_provenance_travel_with_the_files():
    licence = (argo_schema.ARGO_SCHEMA_DIR / "LICENSE").read_text()
    assert "Apache License" in licence and "Version 2.0, January 2004" in licence
    assert "END OF TERMS AND CONDITIONS" in licence
    for fact in ("argoproj/argo-workflows", "v4.1", "unmodified", "Apache License 2.0"):
        assert fact in README


def test_the_files_are_argos_schema_and_server_api():
    schema, swagger = argo_schema.load("schema"), argo_schema.load("swagger")
    assert "io.argoproj.workflow.v1alpha1.Workflow" in schema["definitions"]
    assert swagger["info"]["title"] == "Argo Workflows API"
    assert "/api/v1/workflows/{namespace}" in swagger["paths"]
