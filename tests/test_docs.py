"""The deployment guide and the architecture picture stay true to the repository."""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from cli.main import build_parser

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
GUIDE = DOCS / "deployment.md"
DOT = DOCS / "architecture.dot"
SVG = DOCS / "architecture.svg"
PNG = DOCS / "architecture.png"
SVG_NS = "{http://www.w3.org/2000/svg}"

# A repository path: starts with a top-level folder of the project, not inside a longer word,
# a URL or an absolute path (/mnt/media, argoproj/argo-workflows/...).
REPO_PATH = re.compile(
    r"(?<![\w./-])((?:k8s|workflows|models|cli|api|steps|storage|docs|tests)/[\w./-]*\w)"
)
# `detector <command> [<action>]` in code: not `deepfake-detector`, `svc/detector`, ...
COMMAND = re.compile(r"(?<![\w./:-])detector ([a-z][a-z-]*)(?: ([a-z][a-z-]*))?")
FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.S | re.M)
SPAN = re.compile(r"`([^`\n]+)`")


def _guide() -> str:
    return GUIDE.read_text()


def _code(text: str) -> list[str]:
    """Fenced blocks (shell comments dropped) and inline code spans of a Markdown text."""
    blocks = [re.sub(r"(^|\s)#.*$", "", b, flags=re.M) for b in FENCE.findall(text)]
    return blocks + SPAN.findall(FENCE.sub("", text))


def test_guide_names_existing_repository_paths():
    paths = {m.group(1) for m in REPO_PATH.finditer(_guide())}
    assert {"k8s/overlays/prod", "k8s/overlays/dev", "k8s/make-secrets.sh",
            "k8s/secrets/README.md", "models/serving/settings.py"} <= paths
    generated = _secret_files()
    missing = [path for path in sorted(paths)
               if not (ROOT / path).exists() and path not in generated]
    assert not missing, f"docs/deployment.md names paths that do not exist: {missing}"


def _secret_files() -> set[str]:
    """The git-ignored files k8s/secrets/kustomization.yaml makes Secrets from (KEY=file)."""
    text = (ROOT / "k8s" / "secrets" / "kustomization.yaml").read_text()
    return {f"k8s/secrets/{name}" for name in re.findall(r"^\s*- [\w-]+=([\w.-]+)$", text, re.M)}


def test_guide_names_existing_detector_commands():
    parser = build_parser()
    commands = _subcommands(parser)
    seen = set()
    for code in _code(_guide()):
        for match in COMMAND.finditer(code):
            seen.add((match.group(1), match.group(2)))
    assert {"serve-api", "inference-server", "users"} <= {command for command, _ in seen}
    unknown = []
    for command, action in sorted(seen, key=str):
        if command not in commands:
            unknown.append(command)
            continue
        actions = commands[command]
        if actions and action not in actions:
            unknown.append(f"{command} {action}")
    assert not unknown, f"docs/deployment.md names unknown detector commands: {unknown}"


def _subcommands(parser) -> dict[str, set[str]]:
    """`detector`'s sub-commands -> their own sub-commands (empty set: none)."""

    def choices(p) -> dict:
        for action in p._actions:
            if isinstance(action, argparse._SubParsersAction):
                return action.choices
        return {}

    return {name: set(choices(sub)) for name, sub in choices(parser).items()}


def test_guide_names_the_manifests_objects():
    """Services, namespaces, Secrets and the ConfigMap the guide relies on exist in k8s/."""
    manifests = "\n".join(p.read_text() for p in (ROOT / "k8s").rglob("*.yaml"))
    guide = _guide()
    for name in ("detector-config", "detector-mongo", "detector-api-token", "mongodb-credentials",
                 "detector-media", "detector-scratch", "mlflow-data", "detector-workflow",
                 "detector-tls", "argo-server.argo:2746"):
        assert name in guide, name
        assert name in manifests, name
    for kind, name in (("Service", "api"), ("Service", "mlflow"), ("Service", "inference"),
                       ("Service", "mongodb"), ("Namespace", "deepfake-detector"),
                       ("WorkflowTemplate", "detect"), ("CronWorkflow", "rescan")):
        assert re.search(rf"kind: {kind}\n(?:.*\n)*?  name: {name}\n", manifests), (kind, name)
    assert "svc/mlflow 5000:5000" in guide and "svc/argo-server 2746:2746" in guide


def _dot_names() -> tuple[set[str], set[str]]:
    """Node and cluster names declared in the .dot source."""
    text = re.sub(r"//.*", "", DOT.read_text())
    nodes = set(re.findall(r"^\s*(\w+)\s*\[label=", text, flags=re.M))
    clusters = set(re.findall(r"subgraph\s+(cluster_\w+)", text))
    return nodes, clusters


def _svg_items(svg: str) -> tuple[set[tuple[str, str]], list[str]]:
    """(class, title) of every node, edge and cluster, and every text, of a Graphviz SVG."""
    root = ET.fromstring(svg)
    items = set()
    for g in root.iter(f"{SVG_NS}g"):
        title = g.find(f"{SVG_NS}title")
        if g.get("class") in {"node", "edge", "cluster"} and title is not None:
            items.add((g.get("class"), title.text or ""))
    texts = sorted((t.text or "").strip() for t in root.iter(f"{SVG_NS}text"))
    return items, texts


def test_svg_has_every_node_of_the_dot_source():
    nodes, clusters = _dot_names()
    assert {"api", "inference", "metrics", "argo_server", "mongodb", "mlflow", "media",
            "preprocess", "infer", "persist", "cron", "e_mongo"} <= nodes
    items, _ = _svg_items(SVG.read_text())
    assert {("node", n) for n in nodes} <= items
    assert {("cluster", c) for c in clusters} <= items
    assert PNG.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz `dot` is not installed")
def test_svg_is_a_rendering_of_the_current_dot_source():
    rendered = subprocess.run(["dot", "-Tsvg", str(DOT)], capture_output=True, text=True,
                              check=True).stdout
    want_items, want_texts = _svg_items(rendered)
    have_items, have_texts = _svg_items(SVG.read_text())
    assert have_items == want_items, (
        "docs/architecture.svg is stale: dot -Tsvg docs/architecture.dot -o docs/architecture.svg"
    )
    assert have_texts == want_texts, (
        "docs/architecture.svg labels differ from docs/architecture.dot: re-render it (and the PNG)"
    )
