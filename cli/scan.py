"""`detector scan`: score every supported file under some paths; a table, JSON or CSV, a summary.

Locally (default) the files go through the same ingestion and workflow engine as the API, in
jobs of SCAN_BATCH_FILES; with `--api URL` they are uploaded to a running API instead
(`cli.scan_remote`, token from DETECTOR_TOKEN). Either way a file whose bytes were scored
already by the current champion of its modality is not scored again (its result is `reused`),
nor is a second copy of the same bytes in one scan. Unsupported files are listed, not errors.
"""

from __future__ import annotations

import csv
import io
import json
import sys
import time
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

from config import Config, get_config

COLUMNS = ("path", "status", "modality", "verdict", "score", "model", "version", "detail")
STATUSES = ("scored", "reused", "unsupported", "error")
FORMATS = ("table", "json", "csv")
Row = dict[str, Any]


class ScanError(Exception):
    """A failure that ends the scan (one line to the user, exit status 1)."""


def collect(paths: Iterable[Path], recursive: bool) -> tuple[list[Path], list[Row]]:
    """The files under `paths` (a folder's direct files, or all below with `recursive`), sorted
    and once each; rows of `error` for the paths that do not exist."""
    files: dict[Path, None] = {}
    missing: list[Row] = []
    for path in paths:
        if path.is_file():
            files[path] = None
        elif path.is_dir():
            found = path.rglob("*") if recursive else path.iterdir()
            for item in sorted(found):
                if item.is_file() and not item.name.startswith("."):
                    files[item] = None
        else:
            missing.append(row(path, "error", detail="no such file or folder"))
    return list(files), missing


def row(path: Path, status: str, result: dict[str, Any] | None = None, detail: str = "") -> Row:
    """One output row: the file, what happened to it, and its result when it has one."""
    result = result or {}
    model = result.get("model") or {}
    score = result.get("score")
    return {"path": str(path), "status": status, "modality": result.get("modality"),
            "verdict": result.get("verdict"), "score": None if score is None else round(score, 4),
            "model": model.get("name"), "version": model.get("version"),
            "detail": detail or result.get("reason") or ""}


def write_rows(rows: list[Row], fmt: str, out: IO[str]) -> None:
    """The rows as an aligned table, a JSON array or CSV with a header."""
    if fmt == "json":
        json.dump(rows, out, indent=1)
        out.write("\n")
    elif fmt == "csv":
        writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    else:
        out.write(table([[_cell(r[c]) for c in COLUMNS] for r in rows], COLUMNS))


def _cell(value: Any) -> str:
    return "-" if value is None or value == "" else str(value)


def table(cells: list[list[str]], header: Iterable[str]) -> str:
    """Plain text columns padded to their widest cell."""
    lines = [list(header), *cells]
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    return "".join("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip()
                   + "\n" for line in lines)


def summary(rows: list[Row], seconds: float) -> str:
    """Counts per verdict and per status, the unsupported files and the errors."""
    verdicts = Counter(r["verdict"] for r in rows if r["verdict"])
    statuses = Counter(r["status"] for r in rows)
    out = io.StringIO()
    out.write(f"\n{len(rows)} files in {seconds:.1f} s: " + ", ".join(
        f"{statuses[s]} {s}" for s in STATUSES if statuses[s]) + "\n")
    if verdicts:
        out.write(table([[v, str(n)] for v, n in sorted(verdicts.items())], ("verdict", "files")))
    for status, title in (("unsupported", "unsupported files"), ("error", "errors")):
        listed = [r for r in rows if r["status"] == status]
        if listed:
            out.write(f"{title}:\n" + "".join(f"  {r['path']}: {r['detail']}\n" for r in listed))
    return out.getvalue()


def scan(paths: list[Path], recursive: bool = False, fmt: str = "table",
         output: Path | None = None, api: str | None = None, user: str = "cli",
         cfg: Config | None = None) -> int:
    """Run the scan, write the rows (stdout or `output`) and the summary (stderr).
    0 whatever the verdicts; 1 when a file or the scan failed."""
    cfg = cfg or get_config()
    started = time.monotonic()
    files, rows = collect(paths, recursive)
    if api:
        from cli.scan_remote import scan_remote

        rows += scan_remote(files, api, cfg.scan)
    else:
        rows += scan_local(files, cfg, user)
    rows.sort(key=lambda r: r["path"])
    if output is not None:
        with output.open("w", encoding="utf-8", newline="") as fh:
            write_rows(rows, fmt, fh)
    else:
        write_rows(rows, fmt, sys.stdout)
    sys.stderr.write(summary(rows, time.monotonic() - started))
    return 1 if any(r["status"] == "error" for r in rows) else 0


def scan_local(files: list[Path], cfg: Config, user: str) -> list[Row]:
    """Score `files` on this machine (the embedded stack must be up: `cli.stack`)."""
    from cli.scan_local import LocalScan

    return LocalScan(cfg, user).run(files)
