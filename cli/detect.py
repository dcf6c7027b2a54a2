"""`detector detect`: score local files through the same ingestion, workflow and engine."""

from __future__ import annotations

import json
import secrets
import sys
from pathlib import Path

from api.serialize import public_result
from config import get_config
from models.media.probe import MediaError
from storage import jobs, results, users
from storage.db import get_db
from workflows.engine import get_engine
from workflows.ingest import Staged, stage, store_media_and_queued_job

CLI_USER = "cli"


def _owner(name: str) -> str:
    """The user the CLI's media belong to; created without a usable password when missing."""
    db = get_db()
    user = users.get_user_by_name(db, name)
    if user is None:
        try:
            user = users.create_user(db, name, secrets.token_urlsafe(32))
        except users.DuplicateUser:  # created meanwhile by another process
            user = users.get_user_by_name(db, name)
    return user["user_id"]


def detect_paths(paths: list[Path], as_json: bool = False, user: str = CLI_USER) -> int:
    """Validate every file first, run one detect job over all of them, print one result a file.

    Exit status: 0 when every file got a result, 2 when a file was refused (nothing is run
    then), 1 when the job failed or timed out.
    """
    cfg = get_config()
    staged: list[Staged] = []
    for path in paths:
        try:
            if not path.is_file():
                raise MediaError("no such file", 404)
            staged.append(stage(path, path.name, cfg.limits))
        except MediaError as exc:
            print(f"error: {path}: {exc.message}", file=sys.stderr)
            return 2
    db = get_db()
    engine = get_engine(cfg)
    job = store_media_and_queued_job(db, staged, _owner(user), engine.name, "cli", cfg.media_root,
                                     move=False)
    engine.submit(job["job_id"])
    status = engine.wait(job["job_id"], timeout=max(cfg.limits.sync_timeout_s, 600.0))
    by_media = {r["media_id"]: r for r in results.results_for_job(db, job["job_id"])}
    for item, media_id in zip(staged, jobs.get_job(db, job["job_id"])["media_ids"], strict=True):
        result = by_media.get(media_id)
        if result is None:
            print(f"error: {item.path}: no result (job {status})", file=sys.stderr)
            continue
        out = public_result(result) | {"path": str(item.path)}
        if as_json:
            print(json.dumps(out, default=_json_default), flush=True)
        else:
            print(human_line(item.path, out), flush=True)
    if status != "succeeded":
        job_doc = jobs.get_job(db, job["job_id"]) or {}
        print(f"error: job {job['job_id']} {status}: {job_doc.get('error')}", file=sys.stderr)
        return 1
    return 0


def human_line(path: Path, out: dict) -> str:
    """One tab-separated line: path, modality, verdict, score (or `-`), model, and the reason
    when the detector does not apply."""
    score = "-" if out.get("score") is None else f"{out['score']:.3f}"
    line = (f"{path}\t{out['modality']}\t{out['verdict']}\t{score}\t"
            f"{out['model']['name']} v{out['model']['version']}")
    return f"{line}\t{out['reason']}" if out.get("reason") else line


def _json_default(value: object) -> str:
    """Datetimes as ISO 8601, anything else as its string."""
    return value.isoformat() if hasattr(value, "isoformat") else str(value)
