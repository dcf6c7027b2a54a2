"""A clone of the repository alone builds and tests: nothing names a path outside the repository.

Checked: project code and tests (Python, followed through `Path(__file__)`, `.parent`,
`.parents[n]`, `/`, `os.path` and module-level names, imported ones included), the Makefile,
Dockerfile, .dockerignore, .ci/, pyproject.toml, the kustomize files and the docs. Flagged: a path
that climbs above the repository root, a sibling folder of the checkout, and this machine's
`/work/` tree. System paths (`/usr/share/...`, which `make data` installs; `/tmp`) are fine.
"""

from __future__ import annotations

import ast
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SKIP_DIRS = {".git", ".venv", "var", "mlruns", "__pycache__", ".pytest_cache", ".ruff_cache",
             "node_modules"}
# k8s/secrets: only its committed files are read; every other file there is a real secret.
SECRETS, SECRETS_COMMITTED = REPO / "k8s" / "secrets", {"README.md", "kustomization.yaml"}
TEXT_SUFFIXES = {".py", ".yaml", ".yml", ".toml", ".md", ".sh", ".js", ".html", ".cfg", ".ini",
                 ".dot", ".txt"}
BUILD_FILES = {"Makefile", "Dockerfile", ".dockerignore", "run"}
# A sibling of the checkout (the folder the Argo schemas used to be read from) or this machine's
# own tree: never in a file a user clones.
SIBLING = "".join(("sha", "red"))
"""That sibling's name, spelled in pieces so that this file does not name the folder itself."""
FORBIDDEN = re.compile(rf"\.\./+{SIBLING}\b|\b{SIBLING}/+argo\b|(?<![\w.~-])/work/")
# A path that starts by climbing: `../x`, `../../x` (not `a/../b`, not `$(dirname $0)/..`).
CLIMB = re.compile(r"(?<![\w./$)}~-])\.\.(?![.\w])(?:/[\w.-]*)*")
Parts = tuple[str, ...]
"""A path as parts relative to REPO; a leading '..' means it lies outside the repository."""


def _join(base: Parts, rel: str | Parts) -> Parts:
    out = list(base)
    for part in rel.split("/") if isinstance(rel, str) else rel:
        if part in ("", "."):
            continue
        if part == ".." and out and out[-1] != "..":
            out.pop()
        else:
            out.append(part)
    return tuple(out)


def escapes(parts: Parts) -> bool:
    return bool(parts) and parts[0] == ".."


def _rel(path: Path) -> Parts:
    return path.relative_to(REPO).parts


def scanned_files(root: Path = REPO) -> Iterator[Path]:
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.endswith(".egg-info"))
        for name in sorted(files):
            path = Path(folder) / name
            if path.parent == SECRETS and name not in SECRETS_COMMITTED:
                continue
            if path.suffix in TEXT_SUFFIXES or name in BUILD_FILES:
                yield path


class _PathEval:
    """Evaluates the path expressions of Python modules in the repository, where it can."""

    def __init__(self) -> None:
        self._envs: dict[Path, dict[str, Parts | str]] = {}

    def env(self, file: Path) -> dict[str, Parts | str]:
        """Module-level names bound to a path (or a string) in `file`, imports followed."""
        if file in self._envs:
            return self._envs[file]
        env: dict[str, Parts | str] = {}
        self._envs[file] = env  # an import cycle sees the names bound so far
        tree = ast.parse(file.read_text(), str(file))
        for node in tree.body:
            if isinstance(node, ast.ImportFrom) and node.module and not node.level:
                source = self._module_file(file, node.module)
                if source is not None:
                    names = self.env(source)
                    env.update({(a.asname or a.name): names[a.name] for a in node.names
                                if a.name in names})
            targets = (node.targets if isinstance(node, ast.Assign)
                       else [node.target] if isinstance(node, ast.AnnAssign) and node.value
                       else [])
            for target in targets:
                value = self.eval(node.value, file, env)
                if isinstance(target, ast.Name) and value is not None:
                    env[target.id] = value
        return env

    @staticmethod
    def _module_file(file: Path, module: str) -> Path | None:
        dotted = Path(*module.split("."))
        for base in (file.parent, REPO):
            for candidate in (base / dotted.with_suffix(".py"), base / dotted / "__init__.py"):
                if candidate.is_file():
                    return candidate
        return None

    def eval(self, node: ast.AST, file: Path, env: dict[str, Parts | str]) -> Parts | str | None:
        """Parts for a path expression, a str for a string constant, None when unknown."""
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        if isinstance(node, ast.Name):
            return _rel(file) if node.id == "__file__" else env.get(node.id)
        if isinstance(node, ast.Attribute) and node.attr == "parent":
            base = self.eval(node.value, file, env)
            return _join(base, "..") if isinstance(base, tuple) else None
        if (isinstance(node, ast.Subscript) and isinstance(node.value, ast.Attribute)
                and node.value.attr == "parents" and isinstance(node.slice, ast.Constant)):
            base, up = self.eval(node.value.value, file, env), node.slice.value + 1
            return _join(base, ("..",) * up) if isinstance(base, tuple) else None
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
            left, right = self.eval(node.left, file, env), self.eval(node.right, file, env)
            return _join(left, right) if isinstance(left, tuple) and right is not None else None
        if isinstance(node, ast.Call):
            return self._call(node, file, env)
        return None

    def _call(self, node: ast.Call, file: Path, env: dict[str, Parts | str]) -> Parts | str | None:
        func = ast.unparse(node.func)
        args = [self.eval(a, file, env) for a in node.args]
        if func in ("Path", "pathlib.Path", "os.path.join") and args and None not in args:
            if isinstance(args[0], str) and args[0].startswith(("/", "~")):
                return None  # absolute: a system path, or caught by FORBIDDEN
            parts: Parts = ()  # relative strings: from the working directory, the repo root
            for arg in args:
                parts = _join(parts, arg)
            return parts
        if func in ("Path.cwd", "pathlib.Path.cwd", "os.getcwd"):
            return ()
        if func in ("os.path.dirname",) and args and isinstance(args[0], tuple | str):
            return _join(args[0] if isinstance(args[0], tuple) else _join((), args[0]), "..")
        if func in ("os.path.abspath", "os.path.realpath", "os.path.normpath") and args:
            return args[0] if isinstance(args[0], tuple) else None
        if isinstance(node.func, ast.Attribute) and node.func.attr in ("resolve", "absolute"):
            base = self.eval(node.func.value, file, env)
            return base if isinstance(base, tuple) else None
        return None


def python_escapes(file: Path, evaluator: _PathEval) -> list[str]:
    """`file:line: expression` for every path expression in `file` that leaves the repository."""
    env = evaluator.env(file)
    found: dict[int, str] = {}
    for node in ast.walk(ast.parse(file.read_text(), str(file))):
        if isinstance(node, ast.BinOp | ast.Call | ast.Attribute | ast.Subscript):
            value = evaluator.eval(node, file, env)
            if isinstance(value, tuple) and escapes(value):
                found.setdefault(node.lineno, ast.unparse(node))
    return [f"{file.relative_to(REPO)}:{line}: {text}" for line, text in sorted(found.items())]


def text_escapes(file: Path) -> list[str]:
    """Climbing paths in a build or kustomize file, from where that tool resolves them."""
    if file.suffix in (".py", ".md", ".dot", ".txt"):
        return []
    # kustomize resolves a file's paths from its folder; make, docker and .ci/run (after its
    # `cd "$(dirname "$0")/.."`) from the repository root.
    base = _rel(file.parent) if file.suffix in (".yaml", ".yml") else ()
    text = file.read_text()
    return [f"{file.relative_to(REPO)}:{text.count(chr(10), 0, m.start()) + 1}: {m.group()}"
            for m in CLIMB.finditer(text) if escapes(_join(base, m.group()))]


def forbidden_names(file: Path) -> list[str]:
    text = file.read_text()
    return [f"{file.relative_to(REPO)}:{text.count(chr(10), 0, m.start()) + 1}: {m.group()}"
            for m in FORBIDDEN.finditer(text)]


FILES = list(scanned_files())


def test_the_scan_covers_code_tests_and_build_files():
    names = {str(f.relative_to(REPO)) for f in FILES}
    for expected in ("Makefile", "Dockerfile", ".ci/run", "pyproject.toml", "config.py",
                     "tests/workflows/wf_helpers.py", "tests/k8s/test_k8s_argo.py",
                     "workflows/argo_engine.py", "k8s/overlays/dev/kustomization.yaml"):
        assert expected in names


def test_no_python_path_leaves_the_repository():
    evaluator = _PathEval()
    found = [hit for f in FILES if f.suffix == ".py" for hit in python_escapes(f, evaluator)]
    assert not found, "paths outside the repository:\n" + "\n".join(found)


def test_no_build_or_manifest_path_leaves_the_repository():
    found = [hit for f in FILES for hit in text_escapes(f)]
    assert not found, "paths outside the repository:\n" + "\n".join(found)


def test_no_file_names_a_sibling_folder_or_this_machine():
    own = Path(__file__).resolve()  # its samples name them on purpose
    found = [hit for f in FILES if f != own for hit in forbidden_names(f)]
    assert not found, "paths outside the repository:\n" + "\n".join(found)


# The checks themselves: they catch what broke a fresh clone, and pass what is legitimate.
@pytest.fixture
def write(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[str, str], Path]:
    """Writes a file into a throw-away repository (tmp_path stands in for REPO)."""
    monkeypatch.setitem(globals(), "REPO", tmp_path)

    def write(rel: str, text: str) -> Path:
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path

    return write


UP = '"' + "." * 2 + '"'
"""A parent-folder step as the code under test would spell it (quoted)."""


@pytest.mark.parametrize("code", [
    f'from pathlib import Path\nD = Path(__file__).resolve().parents[4] / {UP} / "{SIBLING}"\n',
    'from pathlib import Path\nD = Path(__file__).parent.parent.parent.parent.parent / "x"\n',
    'import os\nD = os.path.join(os.path.dirname(__file__), "../../../../../x")\n',
    f'from pathlib import Path\nD = Path("../{SIBLING}/argo/schema.json")\n',
    'from pathlib import Path\nR = Path(__file__).parents[2]\n'
    'def f():\n    return R.parent / "y"\n',
])
def test_python_climbs_are_caught(write, code):
    assert python_escapes(write("tests/a/mod.py", code), _PathEval())


def test_an_imported_root_is_followed(write):
    write("tests/k8s/helpers.py",
          "from pathlib import Path\nK8S = Path(__file__).parents[2] / 'k8s'\n")
    user = write("tests/k8s/test_x.py",
                 f'from helpers import K8S\nS = K8S.parent.parent / "{SIBLING}"\n')
    (hit,) = python_escapes(user, _PathEval())
    assert "K8S.parent.parent" in hit


@pytest.mark.parametrize("code", [
    'from pathlib import Path\nD = Path(__file__).resolve().parents[2] / "models" / ".." / "k8s"\n',
    'preprocess("job1", "m1", "text", "../../etc/passwd")\n',  # an input, not a path it opens
    'from pathlib import Path\nD = Path("/usr/share/games/fortunes")\n',
    'import os\nD = os.path.join(os.path.dirname(__file__), "..")\n',
])
def test_legitimate_python_passes(write, code):
    assert python_escapes(write("tests/a/mod.py", code), _PathEval()) == []


def test_kustomize_paths_resolve_from_their_folder(write):
    ok = write("k8s/overlays/dev/kustomization.yaml", "resources:\n  - ../../base\n")
    bad = write("k8s/overlays/prod/kustomization.yaml",
                f"resources:\n  - ../../../../{SIBLING}\n")
    assert text_escapes(ok) == [] and text_escapes(bad)


def test_build_files_resolve_from_the_root(write):
    assert text_escapes(write(".ci/run", 'cd "$(dirname "$0")/.."\nmake test\n')) == []
    assert text_escapes(write("Makefile", "test:\n\tcp ../other/x .\n"))


def test_forbidden_names_are_caught_and_system_paths_pass(write):
    readme = f"see ../{SIBLING}/argo/schema.json and /work/main\n"
    assert forbidden_names(write("README.md", readme))
    assert forbidden_names(write("a.md", "/usr/share/doc/x, /tmp/y, /api/v1/workflows/z\n")) == []
