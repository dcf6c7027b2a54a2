"""`detector scan`: local and --api scans, no rescoring of known bytes, formats, one-line errors."""

from __future__ import annotations

import csv
import io
import json
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from waitress.server import create_server

from api import create_app
from cli.main import main
from cli.scan import write_rows
from config import Config, get_config
from models.registry.client import champion_version, ensure_baselines
from storage.db import get_db
from storage.users import create_user

TEXT = ("The ferry was late again, so we sat on the pier and shared a bag of chips. "
        "Nobody complained; the evening was warm and the gulls were entertaining.")
OTHER = ("My grandmother kept every letter in a biscuit tin under the stairs, tied with string "
         "and sorted by year, and we read them aloud the winter after she died.")


@pytest.fixture(scope="module")
def scan_env(module_env: Config) -> Iterator[Config]:
    """`module_env` with one engine worker: its start (torch, the models) is most of a scan."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LOCAL_WORKERS", "1")
        yield get_config()


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """note.txt, a copy of it, a binary the detector does not take, and a nested text."""
    root = tmp_path / "in"
    (root / "sub").mkdir(parents=True)
    (root / "note.txt").write_text(TEXT)
    shutil.copy(root / "note.txt", root / "copy.txt")
    (root / "tool.bin").write_bytes(b"\x7fELF" + bytes(range(256)) * 4)
    (root / "sub" / "letter.txt").write_text(OTHER)
    return root


STATUSES = {"note.txt": "scored", "letter.txt": "scored", "tool.bin": "unsupported"}
"""What a first scan of `folder` does (copy.txt and note.txt: one scored, the other reused)."""


def _statuses(rows: dict[str, dict]) -> dict[str, str]:
    """The statuses by file name, the copy folded into note.txt (either one is scored first)."""
    statuses = {n: r["status"] for n, r in rows.items()}
    pair = {statuses.pop("copy.txt"), statuses["note.txt"]}
    assert pair == {"scored", "reused"}, rows
    statuses["note.txt"] = "scored"
    return statuses


def _rows(path: Path) -> dict[str, dict]:
    return {Path(r["path"]).name: r for r in json.loads(path.read_text())}


def test_local_scan_scores_once_and_lists_unsupported(scan_env: Config, folder: Path,
                                                      tmp_path: Path, capsys) -> None:
    ensure_baselines()
    out = tmp_path / "rows.json"
    assert main(["scan", str(folder), "--recursive", "--format", "json", "-o", str(out)]) == 0
    rows = _rows(out)
    assert _statuses(rows) == STATUSES
    assert rows["copy.txt"]["verdict"] == rows["note.txt"]["verdict"]
    assert rows["note.txt"]["version"] == champion_version("text")
    err = capsys.readouterr().err
    assert "unsupported files:" in err and "tool.bin" in err and "2 scored" in err
    assert rows["note.txt"]["verdict"] in err  # the per-verdict table
    jobs = get_db().jobs.count_documents({})
    assert main(["scan", str(folder), "--format", "json", "-o", str(out)]) == 0  # not recursive
    again = _rows(out)
    assert set(again) == {"note.txt", "copy.txt", "tool.bin"}
    assert again["note.txt"]["status"] == "reused" and again["copy.txt"]["status"] == "reused"
    assert get_db().jobs.count_documents({}) == jobs  # nothing scored again


def test_scan_through_the_api(scan_env: Config, folder: Path, tmp_path: Path,
                              monkeypatch, capsys) -> None:
    ensure_baselines()
    app = create_app()  # the real app and engine, served on loopback
    server = create_server(app, host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.effective_port}"
    try:
        create_user(get_db(), "scanner", "password-scanner")
        token = requests.post(f"{base}/api/v1/auth/token", auth=("scanner", "password-scanner"),
                              timeout=10).json()["access_token"]
        monkeypatch.setenv("DETECTOR_TOKEN", token)
        out = tmp_path / "rows.csv"
        args = ["scan", str(folder), "-r", "--api", base, "--format", "csv", "-o", str(out)]
        assert main(args) == 0
        rows = {Path(r["path"]).name: r for r in csv.DictReader(out.open())}
        assert _statuses(rows) == STATUSES
        assert rows["note.txt"]["version"] == champion_version("text")
        jobs = get_db().jobs.count_documents({})
        assert main(args) == 0
        rows = {Path(r["path"]).name: r for r in csv.DictReader(out.open())}
        assert rows["note.txt"]["status"] == rows["letter.txt"]["status"] == "reused"
        assert get_db().jobs.count_documents({}) == jobs
        monkeypatch.setenv("DETECTOR_TOKEN", "not-a-token")
        assert main(args) == 1
        assert capsys.readouterr().err.strip().splitlines()[-1].startswith("error: ")
    finally:
        app.extensions["webhooks"].stop()
        server.close()
        thread.join(5)


def test_errors_are_one_line(scan_env: Config, tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.delenv("DETECTOR_TOKEN", raising=False)
    assert main(["scan", str(tmp_path), "--api", "http://127.0.0.1:9"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "DETECTOR_TOKEN" in err and "Traceback" not in err
    monkeypatch.setenv("DETECTOR_TOKEN", "t")
    (tmp_path / "a.txt").write_text(TEXT)
    assert main(["scan", str(tmp_path), "--api", "http://127.0.0.1:9"]) == 1
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_a_missing_path_is_an_error_row(scan_env: Config, tmp_path: Path, capsys) -> None:
    assert main(["scan", str(tmp_path / "nowhere"), "--format", "table"]) == 1
    captured = capsys.readouterr()
    assert "nowhere" in captured.out and "no such file or folder" in captured.err


def test_table_and_csv_formats() -> None:
    rows = [{"path": "a.png", "status": "scored", "modality": "image", "verdict": "synthetic",
             "score": 0.9, "model": "detector-image", "version": "2", "detail": ""}]
    table = io.StringIO()
    write_rows(rows, "table", table)
    header, line = table.getvalue().splitlines()
    assert header.split() == ["path", "status", "modality", "verdict", "score", "model",
                              "version", "detail"]
    assert line.split() == ["a.png", "scored", "image", "synthetic", "0.9", "detector-image",
                            "2", "-"]
    text = io.StringIO()
    write_rows(rows, "csv", text)
    assert list(csv.DictReader(io.StringIO(text.getvalue()))) == [
        {k: str(v) for k, v in rows[0].items()}]


def test_help_has_an_example(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["scan", "--help"])
    assert "example: detector scan" in capsys.readouterr().out


def test_every_command_has_an_example(capsys) -> None:
    from cli.examples import leaves
    from cli.main import build_parser

    commands = leaves(build_parser())
    assert {"scan", "detect", "models promote", "users create"} <= set(commands)
    missing = [words for words, parser in commands.items()
               if "example: " not in parser.format_help() or "detector " not in parser.epilog]
    assert missing == []
