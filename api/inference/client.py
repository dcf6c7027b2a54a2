"""A client of the inference service for the API: score a file or a text, ask if it is ready."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import requests

from api.error_codes import code_for, error_body


class InferenceUnavailable(Exception):
    """The service cannot answer now (refused, timed out, 5xx): fall back to a queued job."""


class InferenceRejected(Exception):
    """The service refused the input (4xx): its `status`, its JSON `body`
    (`{"error": {"code", "message"}}`) and the `code` and `message` read from it."""

    def __init__(self, status: int, body: Any) -> None:
        error = body.get("error") if isinstance(body, dict) else None
        detail = error if isinstance(error, dict) else {}
        self.status = status
        self.body = body
        self.code = str(detail.get("code") or code_for(status))
        self.message = str(detail.get("message") or body)
        super().__init__(f"{status}: {self.message}")


class InferenceClient:
    """Calls `POST /v1/score`, `POST /v1/score/text` and `GET /readyz` of one service URL.

    Safe to share between threads (one HTTP session per thread). `token` is the service's
    INFERENCE_TOKEN (`Config.inference_token`); `timeout_s` bounds the connect and the read
    of each call.
    """

    def __init__(self, url: str, token: str, timeout_s: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self.timeout_s = timeout_s
        self._authorization = f"Bearer {token}"
        self._local = threading.local()

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
            session.headers["Authorization"] = self._authorization
        return session

    def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = self._session().request(method, f"{self.url}{path}",
                                               timeout=self.timeout_s, **kwargs)
        except requests.RequestException as exc:  # refused, reset, timed out, bad URL ...
            raise InferenceUnavailable(f"{method} {self.url}{path}: {exc}") from exc
        try:
            body = response.json()
        except ValueError:  # not the service's answer (a proxy's page?): its text, shortened
            body = error_body(code_for(response.status_code), response.text[:500])
        if response.status_code >= 500:
            raise InferenceUnavailable(f"{method} {path}: {response.status_code}: {body}")
        if response.status_code in (401, 403):  # not the caller's input: a configuration fault
            raise InferenceUnavailable(f"{method} {path}: the service refused this caller's "
                                       "token (INFERENCE_TOKEN differs)")
        if response.status_code >= 400:
            raise InferenceRejected(response.status_code, body)
        if not isinstance(body, dict):
            raise InferenceUnavailable(f"{method} {path}: unexpected answer {body!r:.200}")
        return body

    def score_file(
        self, path: str | Path, filename: str | None = None, modality: str | None = None
    ) -> dict[str, Any]:
        """Score the file at `path` (streamed as the request body); the service's result."""
        path = Path(path)
        params = {"filename": filename or path.name}
        if modality:
            params["modality"] = modality
        with path.open("rb") as fh:
            return self._call("POST", "/v1/score", params=params, data=fh,
                              headers={"Content-Type": "application/octet-stream"})

    def score_text(self, text: str) -> dict[str, Any]:
        """Score a text."""
        return self._call("POST", "/v1/score/text", json={"text": text})

    def ready(self) -> bool:
        """Whether `/readyz` answers 200 (every model loaded); never raises."""
        try:
            response = self._session().get(f"{self.url}/readyz", timeout=self.timeout_s)
        except requests.RequestException:
            return False
        return response.status_code == 200
