"""The core (`models/`) depends on nothing above it: no module imports api, workflows, steps,
storage or cli, neither at the top nor inside a function, and importing one loads none of them."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ADAPTERS = ("api", "workflows", "steps", "storage", "cli")
CORE_MODULES = sorted(
    ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
    for path in (ROOT / "models").rglob("*.py")
)


def imported_packages(path: Path) -> set[str]:
    """Top-level package of every import statement anywhere in the file."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


def test_the_core_is_found() -> None:
    assert {"models.scoring", "models.media.probe", "models.features.text",
            "models.training.fit", "models.registry.client"} <= set(CORE_MODULES)


@pytest.mark.parametrize("path", sorted((ROOT / "models").rglob("*.py")),
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_no_core_file_imports_an_adapter(path: Path) -> None:
    assert not imported_packages(path) & set(ADAPTERS)


def test_importing_the_core_loads_no_adapter() -> None:
    probe = (
        "import importlib, sys\n"
        f"for name in {CORE_MODULES!r}:\n"
        "    importlib.import_module(name)\n"
        f"loaded = sorted(m for m in sys.modules if m.split('.')[0] in {ADAPTERS!r})\n"
        "print(loaded)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout.strip().splitlines()[-1]
    assert out == "[]"


def test_the_check_sees_a_function_level_import(tmp_path: Path) -> None:
    leaky = tmp_path / "leaky.py"
    leaky.write_text("def f():\n    from storage.db import get_db\n    return get_db\n")
    assert "storage" in imported_packages(leaky)
