"""`detector scan` on this machine: probe, skip what the champion scored already, run jobs."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from tqdm import tqdm

from api.serialize import public_result
from cli.detect import _owner
from cli.scan import Row, ScanError, row
from config import Config
from models.media.probe import MediaError
from storage import jobs, results
from storage._common import NO_ID
from storage.db import get_db
from workflows.engine import get_engine
from workflows.ingest import Staged, stage, store_media_and_queued_job

TERMINAL = ("succeeded", "failed")


class LocalScan:
    """One scan through the local (or Argo, when ARGO_SERVER is set) engine."""

    def __init__(self, cfg: Config, user: str) -> None:
        self.cfg, self.db, self.owner = cfg, get_db(), _owner(user)
        self._champions: dict[str, str | None] = {}

    def run(self, files: list[Path]) -> list[Row]:
        """A row per file: unsupported, error, reused (known bytes) or scored."""
        rows: list[Row] = []
        todo: list[Staged] = []
        first: dict[str, Staged] = {}  # sha256 -> the file scored for those bytes
        copies: list[Staged] = []
        for path in tqdm(files, desc="probing", unit="file", file=sys.stderr, leave=False):
            try:
                item = stage(path, path.name, self.cfg.limits)
            except MediaError as exc:
                rows.append(row(path, "unsupported" if exc.status == 415 else "error",
                                detail=exc.message))
                continue
            except OSError as exc:  # unreadable: that file fails, the scan goes on
                rows.append(row(path, "error", detail=exc.strerror or str(exc)))
                continue
            known = self.known_result(item)
            if known is not None:
                rows.append(row(path, "reused", public_result(known)))
            elif item.sha256 in first:
                copies.append(item)
            else:
                first[item.sha256] = item
                todo.append(item)
        scored = self.score(todo)
        rows += [scored[item.path] for item in todo]
        for item in copies:
            original = scored[first[item.sha256].path]
            status = "reused" if original["status"] == "scored" else original["status"]
            rows.append({**original, "path": str(item.path), "status": status})
        return rows

    def champion(self, modality: str) -> str | None:
        """The modality's champion version (asked once per scan)."""
        if modality not in self._champions:
            from models.registry.client import champion_version
            from models.registry.settings import RegistrySettings

            self._champions[modality] = champion_version(
                modality, RegistrySettings.from_config(self.cfg))
        return self._champions[modality]

    def known_result(self, item: Staged) -> dict[str, Any] | None:
        """The owner's newest result for these bytes by the current champion, or None."""
        from models.registry.client import MODEL_NAMES

        modality = item.info.modality
        version = self.champion(modality)
        if version is None:
            return None
        query = {"owner": self.owner, "sha256": item.sha256, "modality": modality,
                 "model.name": MODEL_NAMES[modality], "model.version": version}
        found = self.db.results.find(query, NO_ID).sort("created_at", -1).limit(1)
        return next(iter(found), None)

    def score(self, items: list[Staged]) -> dict[Path, Row]:
        """Run the items in jobs of SCAN_BATCH_FILES; a row per item's path."""
        engine = get_engine(self.cfg)
        size = self.cfg.scan.batch_files
        batches = []
        for start in range(0, len(items), size):
            batch = items[start:start + size]
            job = store_media_and_queued_job(self.db, batch, self.owner, engine.name, "cli",
                                             self.cfg.media_root, move=False)
            engine.submit(job["job_id"])
            batches.append((job["job_id"], batch))
        self._wait(engine, [job_id for job_id, _ in batches], len(items))
        out: dict[Path, Row] = {}
        for job_id, batch in batches:
            job = jobs.get_job(self.db, job_id) or {}
            by_media = {r["media_id"]: r for r in self.db.results.find({"job_id": job_id}, NO_ID)}
            for item, media_id in zip(batch, job.get("media_ids", []), strict=True):
                result = by_media.get(media_id)
                out[item.path] = row(item.path, "scored", public_result(result)) if result else \
                    row(item.path, "error", detail=f"no result (job {job_id} "
                        f"{job.get('status')}: {job.get('error')})")
        return out

    def _wait(self, engine: Any, job_ids: list[str], total: int) -> None:
        """Until every job ended (refreshed from the engine: on Argo that notices the end),
        with a progress bar of results written."""
        deadline = time.monotonic() + self.cfg.scan.timeout_s
        open_jobs = set(job_ids)
        with tqdm(total=total, desc="scoring", unit="file", file=sys.stderr) as bar:
            while open_jobs:
                if time.monotonic() > deadline:
                    raise ScanError(f"{len(open_jobs)} jobs still running after "
                                    f"{self.cfg.scan.timeout_s:.0f} s (SCAN_TIMEOUT_S)")
                time.sleep(self.cfg.scan.poll_s)
                for job_id in list(open_jobs):
                    engine.refresh(job_id)
                    doc = self.db.jobs.find_one({"job_id": job_id}, {"_id": 0, "status": 1})
                    if (doc or {}).get("status") in TERMINAL:
                        open_jobs.discard(job_id)
                done = results.count_for_jobs(self.db, job_ids)
                bar.update(done - bar.n)
