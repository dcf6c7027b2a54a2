"""The data catalogue: valid, free of reserved sources, installed by `make data`, documented."""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

from models.training.data import catalog

REPO = Path(__file__).resolve().parents[3]
RESERVED_DIGESTS = frozenset({
    "0dc7277e6a8bc477", "bc15b2c541ef0fd5", "0b958ea65c2e6773", "167497fbc4658bf6",
    "ebece53aa865f31a", "066f67760a2c4807", "7639336fa95ce4d5", "9b6a1b18e1421ffc",
    "edb875c29770ac7b", "b0a8d63fcab9bc52", "78804a32d3158709", "500d976e2f7990c7",
    "1a378e7d9f2b596b", "371e1b176d59015a", "2440769e33d7e064", "1db3b2a18f9d0687",
})
"""The sources kept for the independent evaluation (Debian packages, their install folders),
as the first 16 hex digits of the SHA-256 of each name, so that this test checks the catalogue
against them without naming them itself."""


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _candidates(text: str) -> set[str]:
    """Every name a reserved source could hide behind in `text`: each word (versioned Python
    names folded to their unversioned form) and its prefixes at hyphens, and each leading run of
    path components."""
    found: set[str] = set()
    for token in re.findall(r"[a-z0-9][a-z0-9.+_-]*", text.lower()):
        token = re.sub(r"^(python3)\.\d+", r"\1", token)
        parts = token.split("-")
        found.update("-".join(parts[:i]) for i in range(1, len(parts) + 1))
    for path in re.findall(r"/[\w./*+-]+", text.lower()):
        parts = [re.sub(r"^(python3)\.\d+", r"\1", p) for p in path.strip("/").split("/")]
        found.update("/".join(parts[:i]) for i in range(1, len(parts) + 1))
    return found


def reserved_names(source: catalog.Source, digests: frozenset[str] = RESERVED_DIGESTS) -> set[str]:
    """The names in a catalogue entry that are reserved sources."""
    text = " ".join([source.name, source.family, *source.paths, *source.debian, *source.pypi,
                     source.notes])
    return {name for name in _candidates(text) if _digest(name) in digests}


def test_catalogue_loads_with_unique_names_and_known_fields() -> None:
    sources = catalog.load()
    assert len({s.name for s in sources}) == len(sources)
    assert {s.modality for s in sources} == set(catalog.MODALITIES)
    for source in sources:
        assert set(source.extra) <= set(catalog.OPTIONAL_EXTRA), source.name
        assert source.debian or source.pypi or source.tool, f"{source.name}: no origin"


def test_catalogue_names_no_reserved_source() -> None:
    for source in catalog.load():
        assert not reserved_names(source), f"{source.name} names a reserved source"


def test_reserved_rule_would_catch_reserved_entries() -> None:
    digests = frozenset({_digest("private-corpus"), _digest("usr/share/private")})
    entry = "\n".join(['[[source]]', 'name = "x"', 'family = "x"', 'modality = "text"',
                       'class = "real"', 'licence = "x"', 'what = "x"'])
    package = catalog.load_text(entry + '\ndebian = "private-corpus-data"')[0]
    path = catalog.load_text(entry + '\npaths = ["/usr/share/private/*.txt"]')[0]
    clean = catalog.load_text(entry + '\ndebian = "public-corpus"')[0]
    assert reserved_names(package, digests) == {"private-corpus"}
    assert reserved_names(path, digests) == {"usr/share/private"}
    assert not reserved_names(clean, digests)


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
