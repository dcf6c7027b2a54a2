"""A base for test engines that only run jobs: stop and retry refuse as the real ones do for a
job in the wrong state, so every double satisfies `workflows.engine.Engine`."""

from __future__ import annotations

from workflows.engine import JobStateError


class RunOnlyEngine:
    """Test doubles that submit, refresh and wait inherit the refusing `stop` and `retry`."""

    name = "run-only"

    def stop(self, job_id: str) -> None:
        raise JobStateError(f"the {self.name} test engine cannot stop {job_id}")

    def retry(self, job_id: str) -> None:
        raise JobStateError(f"the {self.name} test engine cannot retry {job_id}")
