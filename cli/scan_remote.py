"""`detector scan --api URL`: upload each file to a running API and wait for its job.

The token is read from DETECTOR_TOKEN (`POST /api/v1/auth/token`). Files whose bytes the
caller had scored by the current champions (`/readyz`) are not uploaded again: their newest
result is found in the caller's result pages (SCAN_KNOWN_PAGES at most).
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
from pathlib import Path
from typing import Any

import requests
from tqdm import tqdm

from cli.scan import Row, ScanError, row
from config import Scan

TOKEN_VAR = "DETECTOR_TOKEN"
PER_PAGE = 100


class Api:
    """The few calls the scan makes, with the bearer token; ScanError on transport failures."""

    def __init__(self, base: str, cfg: Scan) -> None:
        token = os.environ.get(TOKEN_VAR)
        if not token:
            raise ScanError(f"--api needs a token in {TOKEN_VAR} (POST /api/v1/auth/token)")
        self.base, self.cfg = base.rstrip("/"), cfg
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        try:
            response = self.session.request(method, self.base + path,
                                            timeout=self.cfg.http_timeout_s, **kwargs)
        except requests.RequestException as exc:
            raise ScanError(f"{self.base}: {exc}") from exc
        if response.status_code == 401:
            raise ScanError(f"{self.base} refused the token in {TOKEN_VAR} (expired?)")
        return response


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _message(response: requests.Response) -> str:
    try:
        return response.json()["error"]["message"]
    except (ValueError, KeyError, TypeError):
        return f"HTTP {response.status_code}"


def known_results(api: Api) -> dict[str, dict[str, Any]]:
    """sha256 -> the caller's newest result made by its modality's current champion."""
    try:
        champions = (api.call("GET", "/readyz").json().get("checks") or {}).get("champions") or {}
    except ValueError:
        return {}
    known: dict[str, dict[str, Any]] = {}
    for page in range(1, api.cfg.known_pages + 1):
        response = api.call("GET", "/api/v1/results", params={"page": page,
                                                              "per_page": PER_PAGE})
        if response.status_code != 200:
            break
        body = response.json()
        for result in body["items"]:
            champion = champions.get(result.get("modality"))
            if champion and (result.get("model") or {}).get("version") == champion:
                known.setdefault(result["sha256"], result)
        if page * body["per_page"] >= body["total"]:
            break
    return known


def scan_remote(files: list[Path], base: str, cfg: Scan) -> list[Row]:
    """A row per file: unsupported (415), error, reused or scored."""
    api = Api(base, cfg)
    known = known_results(api)
    rows: list[Row] = []
    pending: dict[str, list[Path]] = {}  # job_id -> the files with those bytes
    sent: dict[str, str] = {}  # sha256 -> job_id
    with tqdm(total=len(files), desc="scoring", unit="file", file=sys.stderr) as bar:
        for path in files:
            try:
                sha = _sha256(path)
            except OSError as exc:  # unreadable: that file fails, the scan goes on
                rows.append(row(path, "error", detail=exc.strerror or str(exc)))
                bar.update()
                continue
            if sha in known:
                rows.append(row(path, "reused", known[sha]))
                bar.update()
                continue
            if sha in sent:
                pending[sent[sha]].append(path)
                continue
            response = _submit(api, path, pending, rows, bar)
            if response.status_code in (200, 202):
                sent[sha] = response.json()["job_id"]
                pending[sent[sha]] = [path]
            else:
                status = "unsupported" if response.status_code == 415 else "error"
                rows.append(row(path, status, detail=_message(response)))
                bar.update()
            while len(pending) >= cfg.batch_files:
                rows += _finish_some(api, pending, bar)
        while pending:
            rows += _finish_some(api, pending, bar)
    return rows


def _submit(api: Api, path: Path, pending: dict[str, list[Path]], rows: list[Row],
            bar: tqdm) -> requests.Response:
    """POST one file as an async job. At the API's per-user cap of jobs in flight (429), let a
    pending job finish first (its rows go to `rows`), or wait its Retry-After, then try again,
    for at most the scan's timeout."""
    deadline = time.monotonic() + api.cfg.timeout_s
    while True:
        with path.open("rb") as fh:
            response = api.call("POST", "/api/v1/detections", params={"mode": "async"},
                                files={"file": (path.name, fh)})
        if response.status_code != 429 or time.monotonic() >= deadline:
            return response
        if pending:
            rows += _finish_some(api, pending, bar)
        else:
            try:
                wait_s = float(response.headers.get("Retry-After", "1"))
            except ValueError:
                wait_s = 1.0
            time.sleep(min(max(wait_s, 0.1), max(0.0, deadline - time.monotonic())))


def _finish_some(api: Api, pending: dict[str, list[Path]], bar: tqdm) -> list[Row]:
    """Poll the pending jobs until at least one ended; rows for the files of those that did."""
    deadline = time.monotonic() + api.cfg.timeout_s
    while time.monotonic() < deadline:
        rows: list[Row] = []
        for job_id in list(pending):
            response = api.call("GET", f"/api/v1/jobs/{job_id}")
            job = response.json() if response.status_code == 200 else {"status": "failed",
                                                                        "error": _message(response)}
            if job.get("status") not in ("succeeded", "failed"):
                continue
            paths = pending.pop(job_id)
            result = (job.get("results") or [None])[0]
            for i, path in enumerate(paths):
                if result is None:
                    rows.append(row(path, "error", detail=f"job {job_id}: {job.get('error')}"))
                else:
                    rows.append(row(path, "scored" if i == 0 else "reused", result))
            bar.update(len(paths))
        if rows:
            return rows
        time.sleep(api.cfg.poll_s)
    raise ScanError(f"{len(pending)} jobs still running after {api.cfg.timeout_s:.0f} s")
