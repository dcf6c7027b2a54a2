"""Helpers of the fault tests (a uniquely named module: conftest is not importable)."""

from __future__ import annotations

from flask.testing import FlaskClient

from storage import users
from storage.db import get_db
from tests.engine_double import RunOnlyEngine


class HeldEngine(RunOnlyEngine):
    """An engine whose workers are all busy: jobs it is given stay queued (what a user who
    filled the engine sees); `wait` times out at once."""

    name = "held"

    def __init__(self) -> None:
        self.submitted: list[str] = []

    def submit(self, job_id: str) -> None:
        self.submitted.append(job_id)

    def refresh(self, job_id: str) -> None:
        return None

    def wait(self, job_id: str, timeout: float) -> str:
        raise TimeoutError(job_id)


def bearer(client: FlaskClient, name: str) -> dict[str, str]:
    """Create user `name` and return its bearer-token header."""
    users.create_user(get_db(), name, f"password-{name}")
    response = client.post("/api/v1/auth/token", auth=(name, f"password-{name}"))
    assert response.status_code == 200, response.json
    return {"Authorization": f"Bearer {response.json['access_token']}"}
