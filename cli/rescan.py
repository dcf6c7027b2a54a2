"""`detector rescan`: rescore stale media now through the configured engine, with a progress bar
and a summary (selected, rescored, verdict changed, failed, missing bytes); `--dry-run` only
counts what would be rescored, per modality and model version."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any, TextIO

from config import Config
from models import MODALITIES

POLL_S = 0.5


def register(sub: argparse._SubParsersAction) -> None:
    """Add `rescan` to the `detector` command."""
    p = sub.add_parser("rescan", help="rescore media whose result is not by today's champion")
    p.add_argument("--modality", choices=MODALITIES)
    p.add_argument("--since", help="only media uploaded since this ISO date (UTC)")
    p.add_argument("--media", nargs="+", metavar="ID", help="only these media")
    p.add_argument("--dry-run", action="store_true",
                   help="count the stale media per modality and model version; score nothing")
    p.add_argument("--json", action="store_true", help="end with one JSON line of the counts")
    p.set_defaults(func=main)


def filters_of(args: argparse.Namespace) -> Any:
    """The selection filters the arguments ask for (SystemExit on a bad date)."""
    from storage.rescan_select import Filters, parse_since

    try:
        since = parse_since(args.since) if args.since else None
    except ValueError as exc:
        raise SystemExit(f"error: --since {args.since!r} is not an ISO date") from exc
    return Filters(args.modality, since, tuple(args.media) if args.media else None)


def main(args: argparse.Namespace) -> int:
    """Run `detector rescan`."""
    from cli.stack import embedded_stack

    filters = filters_of(args)
    with embedded_stack() as cfg:
        if args.dry_run:
            return dry_run(cfg, filters, args.json)
        return run(cfg, filters, args.json)


def dry_run(cfg: Config, filters: Any, as_json: bool, out: TextIO = sys.stdout) -> int:
    """Print what a rescan would select, per modality and model version; score nothing."""
    from models.registry.aliases import current_champions
    from storage.db import get_db
    from storage.rescan_select import select

    champions = current_champions(cfg.mlflow_tracking_uri)
    chosen = select(get_db(cfg.mongo_uri, cfg.mongo_db), champions, cfg.media_root, filters,
                    cfg.rescans.max_media)
    counts = chosen.counts()
    for modality, versions in sorted(counts.items()):
        for version, n in sorted(versions.items()):
            print(f"{modality:6} version {version} -> {champions[modality][1]}: {n}", file=out)
    totals = {"selected": len(chosen.items) + len(chosen.missing), "rescored": 0, "changed": 0,
              "failed": 0, "missing": len(chosen.missing)}
    if as_json:
        print(json.dumps({**totals, "dry_run": True, "by_modality": counts,
                          "missing_ids": chosen.missing}), file=out)
    else:
        print(f"would rescore {len(chosen.items)}; missing bytes {len(chosen.missing)}", file=out)
    return 0


def run(cfg: Config, filters: Any, as_json: bool, out: TextIO = sys.stdout) -> int:
    """Start the rescan, follow it with a progress bar (stderr) and print its summary."""
    from tqdm import tqdm

    from storage.db import get_db
    from storage.rescans import get_rescan, summary
    from workflows.rescan_runner import RescanRunning, start_rescan

    try:
        job_id = start_rescan(cfg, filters, started_by="cli")
    except RescanRunning as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    db = get_db(cfg.mongo_uri, cfg.mongo_db)
    bar = tqdm(total=0, unit="media", desc="rescan", file=sys.stderr, disable=None)
    while True:
        job = get_rescan(db, job_id)
        counts = summary(db, job)
        total = len(job.get("media_ids") or [])
        if bar.total != total:
            bar.total = total
        bar.n = min(total, counts["rescored"] + counts["failed"])
        bar.refresh()
        if job["status"] in ("succeeded", "failed"):
            break
        time.sleep(POLL_S)
    bar.close()
    final = job.get("summary") or summary(db, job, finished=True)
    keys = ("selected", "rescored", "changed", "failed", "missing")
    if as_json:
        print(json.dumps({"rescan_id": job_id, "status": job["status"],
                          **{k: final[k] for k in keys}}), file=out)
    else:
        print(f"rescan {job_id} {job['status']}: " + ", ".join(
            f"{k} {final[k]}" for k in keys), file=out)
        for item in final.get("failures", []):
            print(f"  failed  {item['media_id']}: {item['error']}", file=out)
        for media_id in final.get("missing_ids", []):
            print(f"  missing {media_id}", file=out)
        if job.get("error"):
            print(f"  {job['error']}", file=out)
    return 0 if job["status"] == "succeeded" else 1
