"""The README, the docs and the architecture picture stay true to the repository.

Every Markdown guide (README.md, docs/*.md, benchmarks/README.md) names only repository paths
that exist, only `detector` commands the CLI has, and links only to files that exist; the
deployment guide also names what it relies on.
"""

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
    r"(?<![\w./-])((?:k8s|workflows|models|cli|api|steps|storage|docs|tests|benchmarks)/[\w./-]*\w)"
)
# A path with a placeholder or a glob after it (`models/training/data/augment_<modality>.py`,
# `tests/workflows/test_faults_*.py`): some file must start with what comes before.
TEMPLATED = ("<", "*", "{")
# `detector <command> [<action>]` in code: not `deepfake-detector`, `svc/detector`, ...
COMMAND = re.compile(r"(?<![\w./:-])detector ([a-z][a-z-]*)(?: ([a-z][a-z-]*))?")
FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.S | re.M)
# Fenced blocks whose language is data or code, not a shell: `detector` there is a word of a
# message ("the detector needs 1.0 s"), not a command.
NOT_SHELL = re.compile(r"^```(?:json|python|yaml|text)[^\n]*\n.*?^```", re.S | re.M)
# `detector <word>` in code that is not a command: MongoDB's own error message names the
# database (`not authorized on detector to execute command`).
NOT_COMMANDS = {("to", "execute")}
# A relative Markdown link or image: [text](target) / ![alt](target); URLs and anchors skipped.
LINK = re.compile(r"!?\[[^\]\n]*\]\(([^)\s]+)\)")
GUIDES = sorted([ROOT / "README.md", ROOT / "benchmarks" / "README.md", *DOCS.glob("*.md")])
SPAN = re.compile(r"`([^`\n]+)`")


def _guide() -> str:
    return GUIDE.read_text()


def _code(text: str) -> list[str]:
    """Fenced blocks (shell comments dropped) and inline code spans of a Markdown text."""
    text = NOT_SHELL.sub("", text)
    blocks = [re.sub(r"(^|\s)#.*$", "", b, flags=re.M) for b in FENCE.findall(text)]
    return blocks + SPAN.findall(FENCE.sub("", text))


def _named_paths(text: str) -> set[str]:
    return {m.group(1) for m in REPO_PATH.finditer(text)}


def _missing_paths(text: str) -> list[str]:
    """Repository paths a Markdown text names that do not exist (nor are made by make-secrets)."""
    generated = _secret_files()
    missing = set()
    for match in REPO_PATH.finditer(text):
        path = match.group(1)
        if path in generated or (ROOT / path).exists():
            continue
        if text[match.end():match.end() + 1] in TEMPLATED:
            folder, _, prefix = path.rpartition("/")
            if any((ROOT / folder).glob(f"{prefix}*")):
                continue
        missing.add(path)
    return sorted(missing)


def test_guide_names_existing_repository_paths():
    paths = _named_paths(_guide())
    assert {"k8s/overlays/prod", "k8s/overlays/dev", "k8s/make-secrets.sh",
            "k8s/secrets/README.md", "api/inference/settings.py"} <= paths
    missing = _missing_paths(_guide())
    assert not missing, f"docs/deployment.md names paths that do not exist: {missing}"


def _secret_files() -> set[str]:
    """The git-ignored files k8s/secrets/kustomization.yaml makes Secrets from (KEY=file)."""
    text = (ROOT / "k8s" / "secrets" / "kustomization.yaml").read_text()
    return {f"k8s/secrets/{name}" for name in re.findall(r"^\s*- [\w.-]+=([\w.-]+)$", text, re.M)}


def _named_commands(text: str) -> set[tuple[str, str | None]]:
    """(command, action) of every `detector <command> [<action>]` in the text's code."""
    seen = set()
    for code in _code(text):
        for match in COMMAND.finditer(code):
            if (match.group(1), match.group(2)) not in NOT_COMMANDS:
                seen.add((match.group(1), match.group(2)))
    return seen


def _unknown_commands(seen: set[tuple[str, str | None]]) -> list[str]:
    commands = _subcommands(build_parser())
    unknown = []
    for command, action in sorted(seen, key=str):
        if command not in commands:
            unknown.append(command)
            continue
        actions = commands[command]
        if actions and action not in actions:
            unknown.append(f"{command} {action}")
    return unknown


def test_guide_names_existing_detector_commands():
    seen = _named_commands(_guide())
    assert {"serve-api", "inference-server", "users"} <= {command for command, _ in seen}
    unknown = _unknown_commands(seen)
    assert not unknown, f"docs/deployment.md names unknown detector commands: {unknown}"


def _subcommands(parser) -> dict[str, set[str]]:
    """`detector`'s sub-commands -> their own sub-commands (empty set: none)."""

    def choices(p) -> dict:
        for action in p._actions:
            if isinstance(action, argparse._SubParsersAction):
                return action.choices
        return {}

    return {name: set(choices(sub)) for name, sub in choices(parser).items()}


def _name(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


@pytest.mark.parametrize("guide", GUIDES, ids=_name)
def test_every_guide_names_existing_repository_paths(guide: Path):
    missing = _missing_paths(guide.read_text())
    assert not missing, f"{_name(guide)} names paths that do not exist: {missing}"


@pytest.mark.parametrize("guide", GUIDES, ids=_name)
def test_every_guide_names_existing_detector_commands(guide: Path):
    unknown = _unknown_commands(_named_commands(guide.read_text()))
    assert not unknown, f"{_name(guide)} names unknown detector commands: {unknown}"


@pytest.mark.parametrize("guide", GUIDES, ids=_name)
def test_every_relative_link_points_to_an_existing_file(guide: Path):
    broken = []
    for match in LINK.finditer(FENCE.sub("", guide.read_text())):
        target = match.group(1)
        if re.match(r"[a-z][a-z+.-]*:", target):
            continue  # a URL (https:, mailto:)
        file, _, anchor = target.partition("#")
        path = (guide.parent / file).resolve() if file else guide
        if not path.exists() or not path.is_relative_to(ROOT):
            broken.append(target)
        elif anchor and path.suffix == ".md" and anchor not in _anchors(path.read_text()):
            broken.append(target)
    assert not broken, f"{_name(guide)} links to files or headings that do not exist: {broken}"


def _anchors(markdown: str) -> set[str]:
    """GitHub's anchors of a Markdown file's headings: lower case, punctuation dropped, spaces
    to hyphens (code fences skipped)."""
    headings = re.findall(r"^#{1,6} (.+)$", FENCE.sub("", markdown), flags=re.M)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


def test_readme_is_a_short_guide_that_links_to_the_long_text():
    """The long text lives in docs/ and benchmarks/README.md; the README links every one."""
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 400
    links = {m.group(1).split("#", 1)[0] for m in LINK.finditer(readme)}
    for doc in ("docs/security.md", "docs/models.md", "docs/configuration.md", "docs/api.md",
                "docs/cli.md", "docs/rescans.md", "docs/web.md", "docs/deployment.md",
                "docs/history.md", "benchmarks/README.md", "k8s/README.md"):
        assert doc in links, doc
    for command in ("serve", "serve-api", "detect", "scan", "rescan", "media", "users", "models",
                    "train", "evaluate", "inference-server", "metrics-sidecar"):
        assert (command, None) in _named_commands(readme) or any(
            c == command for c, _ in _named_commands(readme)), command


def test_configuration_guide_lists_every_variable_config_reads():
    """docs/configuration.md names every environment variable config.py and the inference
    service's settings read."""
    guide = (DOCS / "configuration.md").read_text()
    sources = (ROOT / "config.py").read_text() + (ROOT / "api/inference/settings.py").read_text()
    names = set(re.findall(r"_env(?:_int|_float|_bool)?\(\s*\"([A-Z][A-Z0-9_]+)\"", sources))
    assert len(names) > 80
    missing = sorted(name for name in names if f"`{name}`" not in guide)
    assert not missing, f"docs/configuration.md does not list: {missing}"


def test_guide_names_the_manifests_objects():
    """Services, namespaces, Secrets and the ConfigMap the guide relies on exist in k8s/."""
    manifests = "\n".join(p.read_text() for p in (ROOT / "k8s").rglob("*.yaml"))
    guide = _guide()
    for name in ("detector-config", "detector-mongo", "workflow-controller-configmap",
                 "mongodb-credentials",
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
