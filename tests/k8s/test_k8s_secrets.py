"""Secrets: made only from git-ignored files, documented, wired to the parts that need them."""

from __future__ import annotations

import base64
import re
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
import yaml
from k8s_helpers import COMMITTED_SECRETS_FILES, K8S, REPO, named, of_kind, tool


def _generator_files() -> dict[tuple[str, str], str]:
    """(Secret, key) -> file name, as k8s/secrets/kustomization.yaml maps them."""
    component = yaml.safe_load((K8S / "secrets" / "kustomization.yaml").read_text())
    assert component["kind"] == "Component"
    mapping = {}
    for generator in component["secretGenerator"]:
        # Only files: a literal or an env file would be a value committed to git.
        assert set(generator) <= {"name", "type", "options", "files"}, generator["name"]
        for entry in generator["files"]:
            key, _, file = entry.partition("=")
            mapping[(generator["name"], key)] = file
    return mapping


def test_rendered_secrets_hold_only_the_ignored_files_values(docs, k8s_copy: Path):
    files = _generator_files()
    secrets = of_kind(docs, "Secret")
    assert {s["metadata"]["name"] for s in secrets} == {n for n, _ in files} | {
        "detector-workflow.service-account-token"}
    for secret in secrets:
        name = secret["metadata"]["name"]
        assert "stringData" not in secret, name
        if secret["type"] == "kubernetes.io/service-account-token":
            assert "data" not in secret, name  # Kubernetes fills it in
            continue
        assert set(secret["data"]) == {k for n, k in files if n == name}
        for key, encoded in secret["data"].items():
            value = base64.b64decode(encoded).decode()
            assert value == (k8s_copy / "secrets" / files[(name, key)]).read_text()
            # PEM files end with their newline; no other value may (MONGO_URI breaks).
            trimmed = value.removesuffix("\n") if key.endswith(".pem") else value
            assert trimmed and trimmed == trimmed.strip(), (name, key)


def test_no_secret_value_is_committed():
    for path in sorted(K8S.rglob("*.yaml")):
        if path.parent == K8S / "secrets" and path.name not in COMMITTED_SECRETS_FILES:
            continue
        for doc in yaml.safe_load_all(path.read_text()):
            if doc and doc.get("kind") == "Secret":
                assert "data" not in doc and "stringData" not in doc, path
    if not (REPO / ".git").exists():
        pytest.skip("not a git checkout")
    tracked = subprocess.run(["git", "ls-files", "k8s/secrets"], cwd=REPO, check=True,
                             capture_output=True, text=True).stdout.split()
    assert {Path(t).name for t in tracked} <= COMMITTED_SECRETS_FILES
    ignored = subprocess.run(["git", "check-ignore", "-q", "k8s/secrets/jwt-secret"], cwd=REPO)
    assert ignored.returncode == 0, "k8s/secrets/* must be git-ignored"


def test_every_secret_file_is_documented_and_written_by_the_script(k8s_copy: Path):
    wanted = set(_generator_files().values())
    written = {p.name for p in (k8s_copy / "secrets").iterdir()} - COMMITTED_SECRETS_FILES
    assert written == wanted
    readme = (K8S / "secrets" / "README.md").read_text()
    for name in wanted:
        assert re.search(rf"> {re.escape(name)}\b", readme), f"no command writes {name}"
        assert f"| `{name}` |" in readme, f"{name} missing from the table"


def test_make_secrets_keeps_existing_files_private(tmp_path: Path):
    script = K8S / "make-secrets.sh"
    (tmp_path / "jwt-secret").write_text("kept-as-is")
    subprocess.run(["sh", str(script), str(tmp_path)], check=True, capture_output=True)
    first = {p.name: p.read_text() for p in tmp_path.iterdir()}
    subprocess.run(["sh", str(script), str(tmp_path)], check=True, capture_output=True)
    assert {p.name: p.read_text() for p in tmp_path.iterdir()} == first
    assert first["jwt-secret"] == "kept-as-is"
    assert re.fullmatch(r"[0-9a-f]{48}", first["mongo-root-password"])
    passwords = {first[f"mongo-{c}-password"] for c in ("root", "api", "inference", "workflow")}
    assert len(passwords) == 4
    for path in tmp_path.iterdir():
        if path.name != "jwt-secret":  # written by this test, not by the script
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name


def test_overlay_without_secret_files_fails_loudly(tmp_path: Path):
    copy = tmp_path / "k8s"
    shutil.copytree(K8S, copy, ignore=lambda folder, names: {
        n for n in names
        if Path(folder).resolve() == (K8S / "secrets").resolve()
        and n not in COMMITTED_SECRETS_FILES})
    done = subprocess.run([tool("kubectl"), "kustomize", str(copy / "overlays" / "dev")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert "secrets" in done.stderr


def test_secrets_reach_only_the_parts_that_need_them(docs):
    def secret_refs(kind: str, name: str) -> dict[str, str]:
        pod = named(docs, kind, name)["spec"]["template"]["spec"]
        return {
            env["name"]: env["valueFrom"]["secretKeyRef"]["name"]
            for c in pod["containers"] for env in c.get("env", [])
            if "secretKeyRef" in env.get("valueFrom", {})
        }

    mongodb = secret_refs("StatefulSet", "mongodb")
    assert mongodb["MONGO_INITDB_ROOT_USERNAME"] == "mongodb-credentials"
    assert mongodb["MONGO_INITDB_ROOT_PASSWORD"] == "mongodb-credentials"
    # Each component its own MongoDB user (detector-mongo: the workflow pods').
    assert set(secret_refs("Deployment", "api").values()) == {
        "detector-mongo-api", "detector-api", "detector-mlflow-scorer",
        "detector-inference"}
    assert set(secret_refs("Deployment", "inference").values()) == {
        "detector-mongo-inference", "detector-mlflow-scorer", "detector-inference"}
    assert set(secret_refs("Deployment", "mlflow").values()) == {"mlflow-admin"}
