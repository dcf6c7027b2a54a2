"""Delivery of callbacks: a loop in the API process POSTs each finished job to its callback_url.

Why here: a job ends in different places on each engine (the local engine's runner thread, an
Argo workflow whose end is only seen when the API refreshes it, the sync path of the API), but
every engine records the end in MongoDB. So one scanner thread per API process reads the jobs
whose callback is still open every WEBHOOK_POLL_S: those that ended and are due are put on a
bounded queue for the sender thread; those still running are refreshed from their engine every
WEBHOOK_REFRESH_S (on Argo that is what notices the end). Requests never wait for a delivery:
they only attach the callback and wake the scanner. Several API processes share the work: a
delivery is claimed in MongoDB first (`storage.webhooks.claim`), with a lease.

Each POST carries `X-Detector-Signature: t=<unix>,v1=<hex>`, the HMAC-SHA256 of
`"<unix>." + body` under the job owner's secret (`GET /api/v1/auth/webhook-secret`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

import requests
from pymongo.database import Database

from api.serialize import JSONProvider, public_job
from api.webhook_urls import BadCallbackUrl, check_url
from config import Webhooks
from storage import results, webhooks
from storage._common import utcnow

SIGNATURE_HEADER = "X-Detector-Signature"
ERROR_CHARS = 300
log = logging.getLogger(__name__)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header's value for `body` sent at `timestamp` (unix seconds)."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def payload(db: Database, job: dict[str, Any], argo_ui_url: str | None) -> bytes:
    """The JSON body of a callback: the job as `GET /api/v1/jobs/<id>` shows it, its results."""
    body = public_job(job, results.results_for_job(db, job["job_id"]), argo_ui_url)
    return json.dumps(body, default=JSONProvider.default, separators=(",", ":")).encode()


class Deliverer:
    """The scanner and sender threads of one API process (started on first use)."""

    def __init__(self, db_factory: Callable[[], Database], engine: Any, cfg: Webhooks,
                 argo_ui_url: str | None) -> None:
        self._db, self._engine, self.cfg = db_factory, engine, cfg
        self._argo_ui_url = argo_ui_url  # the job's `links.argo_ui` in the callback body
        self._queue: queue.Queue[str] = queue.Queue(maxsize=cfg.queue_size)
        self._queued: set[str] = set()
        self._refreshed: dict[str, float] = {}
        self._wake, self._stop = threading.Event(), threading.Event()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []

    def kick(self) -> None:
        """Start the threads if needed and scan now (a callback was attached)."""
        self.start()
        self._wake.set()

    def start(self) -> None:
        """Start the scanner and sender threads (idempotent)."""
        with self._lock:
            if self._threads:
                return
            for name, target in (("webhook-scan", self._scan_loop),
                                 ("webhook-send", self._send_loop)):
                thread = threading.Thread(target=target, name=name, daemon=True)
                thread.start()
                self._threads.append(thread)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop both threads (tests, shutdown)."""
        self._stop.set()
        self._wake.set()
        for thread in self._threads:
            thread.join(timeout)

    def _scan_loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.scan_once()
            except Exception:  # MongoDB away for a moment: try again on the next tick
                log.exception("webhook scan failed")
            self._wake.wait(self.cfg.poll_s)
            self._wake.clear()

    def scan_once(self) -> None:
        """Queue the due deliveries; refresh the unfinished jobs from their engine."""
        db, now = self._db(), utcnow()
        for job in webhooks.open_callbacks(db, limit=2 * self.cfg.queue_size):
            job_id = job["job_id"]
            if job.get("status") not in webhooks.FINISHED:
                self._refresh(job_id)
            elif webhooks.is_due(job, now) and job_id not in self._queued:
                try:
                    self._queue.put_nowait(job_id)
                except queue.Full:  # the rest wait for the next scan
                    return
                self._queued.add(job_id)

    def _refresh(self, job_id: str) -> None:
        last = self._refreshed.get(job_id, 0.0)
        if time.monotonic() - last < self.cfg.refresh_s:
            return
        self._refreshed[job_id] = time.monotonic()
        try:
            self._engine.refresh(job_id)
        except Exception as exc:  # the engine is someone else's process
            log.warning("refreshing job %s for its callback failed: %s", job_id, exc)

    def _send_loop(self) -> None:
        while not self._stop.is_set():
            try:
                job_id = self._queue.get(timeout=self.cfg.poll_s)
            except queue.Empty:
                continue
            try:
                self.deliver(job_id)
            except Exception:
                log.exception("webhook delivery of job %s failed", job_id)
            finally:
                self._queued.discard(job_id)
                self._refreshed.pop(job_id, None)

    def deliver(self, job_id: str) -> None:
        """One attempt to POST the job to its callback_url, recorded on the job."""
        db = self._db()
        job = webhooks.claim(db, job_id, self.cfg.lease_s)
        if job is None:
            return
        body = payload(db, job, self._argo_ui_url)
        secret = webhooks.get_secret(db, job["owner"])["secret"]
        status_code, error = None, None
        try:
            url = job["callback"]["url"]
            check_url(url, self.cfg.allow_private, self.cfg.max_url_chars)
            response = requests.post(url, data=body, timeout=self.cfg.timeout_s,
                                     allow_redirects=False, headers={
                                         "Content-Type": "application/json",
                                         SIGNATURE_HEADER: sign(secret, int(time.time()), body),
                                         "User-Agent": "deepfake-detector-webhook"})
            status_code = response.status_code
            if not 200 <= status_code < 300:
                error = f"HTTP {status_code}"
        except (BadCallbackUrl, requests.RequestException) as exc:
            error = str(exc)[:ERROR_CHARS]
        webhooks.record_attempt(db, job_id, status_code, error, delivered=error is None,
                                max_attempts=self.cfg.max_attempts, backoff_s=self.cfg.backoff_s,
                                backoff_max_s=self.cfg.backoff_max_s)
