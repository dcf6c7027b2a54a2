"""Supply chain: every Python dependency locked with hashes and installed so; images by digest."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
from k8s_helpers import REPO

LOCKS = ("requirements.lock", "requirements-dev.lock")
REQUIREMENT = re.compile(r"(?m)^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+) \\\n"
                         r"((?:    --hash=sha256:[0-9a-f]{64}(?: \\)?\n)+)")


def _name(requirement: str) -> str:
    return re.sub(r"[-_.]+", "-", re.match(r"[A-Za-z0-9._-]+", requirement)[0]).lower()


def _locked(lock: str) -> dict[str, str]:
    text = (REPO / lock).read_text()
    entries = {_name(m[1]): m[2] for m in REQUIREMENT.finditer(text)}
    # Every requirement line is one of those entries: none without a hash, no URL, no -e.
    lines = [line for line in text.splitlines() if line and not line.startswith((" ", "#"))]
    assert len(lines) == len(entries), [ln for ln in lines if _name(ln) not in entries][:5]
    return entries


@pytest.mark.parametrize("lock", LOCKS)
def test_every_dependency_is_locked_with_hashes(lock: str) -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    wanted = list(project["dependencies"])
    if lock == "requirements-dev.lock":
        wanted += project["optional-dependencies"]["dev"]
    entries = _locked(lock)
    missing = {_name(r) for r in wanted} - set(entries)
    assert not missing, f"{lock} lacks {missing}: regenerate it (command at its top)"
    assert entries["torch"] == "2.13.0+cpu"
    assert {"pip", "setuptools"} <= set(entries)  # the build tools are hashed too


def test_the_two_locks_agree() -> None:
    runtime, dev = _locked("requirements.lock"), _locked("requirements-dev.lock")
    assert {k: dev.get(k) for k in runtime} == runtime


def test_make_venv_installs_only_from_the_lock() -> None:
    makefile = (REPO / "Makefile").read_text()
    rule = re.search(r"(?ms)^\$\(STAMP\):.*?(?=^\S)", makefile)[0]
    assert "requirements-dev.lock" in rule.splitlines()[0]  # a new lock rebuilds the venv
    installs = [ln.strip() for ln in rule.splitlines() if "pip install" in ln]
    assert installs[0] == "$(BIN)/pip install -q --require-hashes -r requirements-dev.lock"
    assert all("--no-deps" in ln for ln in installs[1:]), installs
    assert len(installs) == 2


def test_pin_digests_writes_the_resolved_digests(tmp_path: Path) -> None:
    """k8s/pin-digests.sh with a stand-in `crane`: Dockerfile and overlay get the digests."""
    repo = tmp_path / "repo"
    (repo / "k8s").mkdir(parents=True)
    shutil.copy(REPO / "Dockerfile", repo / "Dockerfile")
    for part in ("base", "overlays", "pin-digests.sh"):
        source = REPO / "k8s" / part
        (shutil.copytree if source.is_dir() else shutil.copy)(source, repo / "k8s" / part)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "crane"
    fake.write_text('#!/bin/sh\nprintf "sha256:%064d\\n" "$(printf %s "$2" | wc -c)"\n')
    fake.chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    for _ in range(2):  # idempotent: a second run replaces, never stacks, the digests
        done = subprocess.run(["sh", str(repo / "k8s" / "pin-digests.sh")], env=env,
                              capture_output=True, text=True, timeout=30)
        assert done.returncode == 0, done.stderr
    froms = re.findall(r"(?m)^FROM (\S+)", (repo / "Dockerfile").read_text())
    assert all(re.fullmatch(r"python:3\.11\.\d+-slim-bookworm@sha256:\d{64}", f)
               for f in froms if f.startswith("python"))
    overlay = (repo / "k8s" / "overlays" / "prod" / "kustomization.yaml").read_text()
    assert re.search(r"- name: mongo\n    digest: sha256:\d{64}\n    newTag: 7\.0\.14\n", overlay)
