"""`detector rescan` (dry run, progress, the JSON summary line) and `detector media delete`,
in-process on the embedded MongoDB; the rescan's walk is the real select and finish steps run
here (the engine walk: tests/workflows/test_rescan_local.py)."""

from __future__ import annotations

import io
import json

import pytest

import steps.rescan as rescan_steps
from cli.main import build_parser, main
from cli.rescan import dry_run, filters_of, run
from config import Config
from models.registry import aliases
from storage import media, results
from storage.db import get_db

CHAMPIONS = {"text": ("detector-text", "3"), "image": ("detector-image", "3")}


@pytest.fixture
def stale(detector_env: Config, monkeypatch) -> dict[str, str]:
    monkeypatch.setattr(aliases, "current_champions", lambda _uri: CHAMPIONS)
    ids = {}
    for name, modality, version, keep in (("t1", "text", "1", True), ("t2", "text", "2", True),
                                          ("i1", "image", "2", True),
                                          ("gone", "image", "2", False)):
        rel = f"xx/{name}"
        if keep:
            (detector_env.media_root / "xx").mkdir(parents=True, exist_ok=True)
            (detector_env.media_root / rel).write_bytes(b"bytes")
        ids[name] = media.insert_media(get_db(), {
            "owner": "u1", "sha256": "x" * 64, "modality": modality, "filename": name,
            "size": 5, "path": rel})
        results.upsert_result(get_db(), {
            "job_id": "up", "media_id": ids[name], "score": 0.1, "verdict": "authentic",
            "model": {"name": f"detector-{modality}", "version": version}})
    return ids


def test_arguments():
    args = build_parser().parse_args(["rescan", "--modality", "text", "--since", "2026-01-02",
                                      "--media", "a", "b", "--dry-run", "--json"])
    filters = filters_of(args)
    assert (filters.modality, filters.since.isoformat(), filters.media_ids) == (
        "text", "2026-01-02T00:00:00+00:00", ("a", "b"))
    assert args.dry_run and args.json
    assert build_parser().parse_args(["models", "promote", "detector-text", "4", "--rescan"]
                                     ).rescan
    with pytest.raises(SystemExit):
        filters_of(build_parser().parse_args(["rescan", "--since", "last week"]))


def test_dry_run_counts_per_modality_and_version_and_scores_nothing(stale, detector_env):
    out = io.StringIO()
    assert dry_run(detector_env, filters_of(build_parser().parse_args(["rescan"])), True,
                   out) == 0
    lines = out.getvalue().splitlines()
    assert "text   version 1 -> 3: 1" in lines and "image  version 2 -> 3: 2" in lines
    last = json.loads(lines[-1])
    assert {k: last[k] for k in ("selected", "rescored", "changed", "failed", "missing")} == {
        "selected": 4, "rescored": 0, "changed": 0, "failed": 0, "missing": 1}
    assert last["by_modality"] == {"text": {"1": 1, "2": 1}, "image": {"2": 2}}
    assert get_db().jobs.count_documents({}) == 0 and get_db().results.count_documents({}) == 4


def test_run_prints_the_summary_as_its_last_json_line(stale, detector_env, monkeypatch):
    def walk(cfg, batch_size, max_media, parameters):
        chosen = json.loads(rescan_steps.select_stale(
            batch_size=batch_size, engine="local", workflow_uid="uid-cli", **parameters))
        for batch in chosen:
            for item in batch["media"]:
                if item["media_id"] == stale["t2"]:
                    continue  # as if its file could not be read
                results.upsert_result(get_db(), {
                    "job_id": batch["job_id"], "media_id": item["media_id"], "score": 0.9,
                    "verdict": "synthetic", "changed_from": "authentic",
                    "model": {"name": f"detector-{item['modality']}", "version": "3"}})
        rescan_steps.finish_rescan("uid-cli", "Failed", job_id=parameters["job_id"])
        return parameters["job_id"]

    monkeypatch.setattr("workflows.rescan.run_rescan_now", walk)
    monkeypatch.setattr("cli.rescan.POLL_S", 0.01)
    out = io.StringIO()
    filters = filters_of(build_parser().parse_args(["rescan", "--modality", "text"]))
    assert run(detector_env, filters, True, out) == 0
    last = json.loads(out.getvalue().splitlines()[-1])
    assert {k: last[k] for k in ("selected", "rescored", "changed", "failed", "missing")} == {
        "selected": 2, "rescored": 1, "changed": 1, "failed": 1, "missing": 0}
    assert last["status"] == "succeeded"

    out = io.StringIO()  # human summary: the failure is listed
    assert run(detector_env, filters, False, out) == 1  # t2 again, and it fails again
    assert f"failed  {stale['t2']}: not rescored" in out.getvalue()


def test_media_delete_command(stale, detector_env, capsys):
    assert main(["media", "delete", stale["t1"]]) == 0
    removed = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert removed["media_id"] == stale["t1"] and removed["results"] == 1
    assert removed["bytes_removed"] is True
    assert main(["media", "delete", stale["t1"]]) == 1
