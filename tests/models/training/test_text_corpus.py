"""Human paragraphs of the catalogue's real text sources: readers, families, groups."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from models.training.data import catalog
from models.training.data import text_corpus as tc
from models.training.data.text_paragraphs import is_prose

INSTALLED = [s for s in tc.real_sources() if s.files()]
needs_sources = pytest.mark.skipif(
    len(INSTALLED) < 10, reason="the catalogue's text sources are not installed (make data)")


def test_every_real_text_source_is_described() -> None:
    sources = tc.real_sources()
    assert len({s.family for s in sources}) >= 10
    for source in sources:
        assert source.language == ("en",) and source.debian and source.paths, source.name
        assert str(source.extra.get("kind", "prose")) not in {"markov1", "charlm", "scrambled"}
        assert not any(tc.LICENCE_FILES_RE.search(p) for p in source.paths), source.name


@needs_sources
def test_installed_sources_yield_clean_grouped_paragraphs() -> None:
    families = set()
    for source in INSTALLED:
        found = tc.source_paragraphs(source.name)
        assert len(found) >= 100, source.name
        assert {p.family for p in found} == {source.family}
        assert {p.source for p in found} == {source.name}
        groups = {p.group for p in found}
        assert all(g.startswith(f"{source.name}:") for g in groups)
        assert len(groups) >= 5, source.name  # documents and passages, not one lump
        if source.extra.get("reader") != "fortune":
            assert all(is_prose(p.text) for p in found), source.name
        assert all(p.text == " ".join(p.text.split()) and p.text.isascii() for p in found)
        families.add(source.family)
    assert len(families) >= 10
    every = [p.text for s in INSTALLED for p in tc.source_paragraphs(s.name)]
    assert sorted(p.text for p in tc.paragraphs()) == sorted(set(every))  # each text once


def test_bible_verses_are_parsed_and_joined_by_chapter(tmp_path: Path) -> None:
    tool = tmp_path / "bible"
    tool.write_text("#!/bin/sh\ncat <<'EOF'\n\nRuth 1\n\n  1 Now it came to pass in the days "
                    "when the judges\nruled, that there was a famine.\n  2 And the name of the "
                    "man was Elimelech.\n\nRuth 2\n\n  1 And Naomi had a kinsman.\nEOF\n")
    tool.chmod(tool.stat().st_mode | stat.S_IEXEC)
    assert tc._bible_verses(str(tool)) == [
        ("Ruth 1", "Now it came to pass in the days when the judges ruled, that there was a "
                   "famine."),
        ("Ruth 1", "And the name of the man was Elimelech."),
        ("Ruth 2", "And Naomi had a kinsman."),
    ]
    data = tmp_path / "bible.data"
    data.write_text("x")
    source = catalog.Source("kjv", "kjv", "text", "real", "public domain", "scripture",
                            paths=(str(data),), tool=str(tool), extra={"reader": "bible"})
    documents = tc._bible(source)
    assert [d for d, _ in documents] == ["Ruth", "Ruth"]  # chapters never run together
    assert documents[1][1] == "And Naomi had a kinsman."


def test_licence_files_are_never_read(tmp_path: Path) -> None:
    (tmp_path / "COPYING").write_text("a licence\n\nwith paragraphs")
    (tmp_path / "notes.txt").write_text("one block\n\nand another")
    source = catalog.Source("docs", "docs", "text", "real", "x", "y",
                            paths=(str(tmp_path / "*"),))
    assert tc._documents(source) == [("notes", "one block"), ("notes", "and another")]
