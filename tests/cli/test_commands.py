"""The `detector` command in-process: users create, detect --json, models promote and list."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from cli.main import main
from config import Config
from models.registry.client import champion_version, ensure_baselines, register_weights
from storage import audit
from storage.db import get_db
from storage.users import authenticate, create_user

SPEECH = Path("/usr/share/pocketsphinx/test/data/cards/001.wav")
TEXT = ("The ferry was late again, so we sat on the pier and shared a bag of chips. "
        "Nobody complained; the evening was warm and the gulls were entertaining.")


def test_users_create_reads_the_password_from_stdin(detector_env: Config, monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO("correct-horse-battery\n"))
    assert main(["users", "create", "erin", "--admin"]) == 0
    assert json.loads(capsys.readouterr().out)["admin"] is True
    assert authenticate(get_db(), "erin", "correct-horse-battery")["admin"] is True
    monkeypatch.setattr("sys.stdin", io.StringIO("correct-horse-battery\n"))
    assert main(["users", "create", "erin"]) == 1  # taken
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert main(["users", "create", "frank"]) == 2
    created = audit.events(get_db(), "user.created")
    assert len(created) == 1 and created[0]["address"] == "cli"


def test_users_disable_and_enable(detector_env: Config, capsys):
    create_user(get_db(), "gina", "gina-password")
    assert main(["users", "disable", "gina"]) == 0
    assert json.loads(capsys.readouterr().out)["disabled"] is True
    assert authenticate(get_db(), "gina", "gina-password") is None
    assert main(["users", "enable", "gina"]) == 0
    assert authenticate(get_db(), "gina", "gina-password") is not None
    assert main(["users", "disable", "nobody"]) == 1
    assert [e["disabled"] for e in audit.events(get_db(), "user.updated")] == [False, True]


def test_detect_prints_one_json_result_per_file(detector_env: Config, tmp_path: Path, capsys):
    ensure_baselines()
    note = tmp_path / "note.txt"
    note.write_text(TEXT)
    assert main(["detect", str(note), str(SPEECH), "--json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["modality"] for r in lines] == ["text", "audio"]
    assert [r["path"] for r in lines] == [str(note), str(SPEECH)]
    for result in lines:
        assert result["model"]["version"] == champion_version(result["modality"])
        assert result["verdict"] in ("synthetic", "authentic", "uncertain")


def test_detect_says_when_a_detector_does_not_apply(detector_env: Config, tmp_path: Path,
                                                    capsys):
    import numpy as np
    import soundfile as sf

    ensure_baselines()
    word, silence = tmp_path / "word.txt", tmp_path / "silence.wav"
    word.write_text("Antidisestablishmentarianism.")
    sf.write(str(silence), np.zeros(32_000, np.float32), 16_000)
    assert main(["detect", str(word), str(silence), "--json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["verdict"], r["score"], r["reason_code"]) for r in lines] == [
        ("not_applicable", None, "text_too_short"), ("not_applicable", None, "audio_silent")]
    assert all(r["reason"] for r in lines)


def test_human_output_shows_the_reason_instead_of_a_score() -> None:
    from cli.detect import human_line

    model = {"name": "detector-audio", "version": "2"}
    refused = {"modality": "audio", "verdict": "not_applicable", "score": None,
               "reason": "The audio is silent.", "reason_code": "audio_silent", "model": model}
    assert human_line(Path("a.wav"), refused).split("\t") == [
        "a.wav", "audio", "not_applicable", "-", "detector-audio v2", "The audio is silent."]
    scored = {"modality": "audio", "verdict": "authentic", "score": 0.1234, "model": model}
    assert human_line(Path("a.wav"), scored).split("\t") == [
        "a.wav", "audio", "authentic", "0.123", "detector-audio v2"]


def test_detect_refuses_a_bad_file_and_runs_nothing(detector_env: Config, tmp_path: Path,
                                                    capsys):
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    assert main(["detect", str(empty), "--json"]) == 2
    assert "empty.jpg" in capsys.readouterr().err
    assert get_db().jobs.count_documents({}) == 0


def test_models_promote_moves_the_alias(detector_env: Config, capsys):
    before = ensure_baselines()["text"]
    new = register_weights("text", Path("models/weights/text.pt"), champion=False)
    assert main(["models", "promote", "detector-text", new]) == 0
    assert json.loads(capsys.readouterr().out) == {
        "name": "detector-text", "champion": new, "previous": before}
    assert champion_version("text") == new
    assert main(["models", "promote", "detector-text", "999"]) == 2
    promoted = audit.events(get_db(), "model.promoted")
    assert len(promoted) == 1 and promoted[0]["champion"] == new
    assert promoted[0]["address"] == "cli" and promoted[0]["user_id"].startswith("os:")
    assert main(["models", "promote", "detector-text", before]) == 0  # put it back
    assert main(["models", "list"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()[1:]]
    assert {"name": "detector-text", "version": before} in [
        {k: r[k] for k in ("name", "version")} for r in rows if "champion" in r["aliases"]]


@pytest.mark.parametrize("argv", [["models"], ["users"], ["nonsense"]])
def test_bad_command_lines_exit_with_usage(argv):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
