"""Paragraph cleaning: markup stripped, typography to ASCII, only English prose kept."""

from __future__ import annotations

from models.training.data import text_paragraphs as tp

PROSE = ("The package maintainer is responsible for keeping the package in good shape. "
         "When a new upstream version is released, the maintainer should check whether it "
         "builds and works, and then upload it to the archive as soon as it is ready.")


def test_prose_is_kept_and_flattened() -> None:
    wrapped = PROSE.replace(". ", ".\n    ")
    assert tp.clean(wrapped) == PROSE


def test_typography_becomes_ascii() -> None:
    assert tp.to_ascii("\u201cIt\u2019s\u201d \u2014 done\u2026") == '"It\'s" -- done...'


def test_non_prose_is_dropped() -> None:
    code = "int main(int argc, char **argv) { return run(argv[1], &config) == 0 ? 0 : 1; }" * 3
    table = "| directory | usage |\n|---|---|\n| /etc/ | system wide configuration files |" * 3
    heading = "Chapter 4. Required files under the debian directory"
    listing = "apt-get install foo bar baz qux quux corge grault garply waldo fred plugh xyzzy " * 3
    licence = ("Permission is granted to copy, distribute and/or modify this document under the "
               "terms of the GNU Free Documentation License, Version 1.3 or any later version.")
    run_on = " ".join(["It works."] * 20)
    for text in (code, table, heading, listing, licence, run_on, PROSE[:-1] + " and"):
        assert tp.clean(text) is None, text[:40]
    assert tp.clean(PROSE + " Il est tr\u00e8s bien fait.") is None  # not ASCII after mapping
    assert tp.clean(" ".join([PROSE] * 10)) is None  # longer than MAX_CHARS


def test_licence_paragraphs_are_recognised() -> None:
    defined_terms = ("We wrote these terms so that anyone who receives a copy of the Document "
                     "may pass it on, and a Modified Version must say what it changed.")
    notice = "This document is in the public domain, to be freely used, shared and modified."
    assert tp.is_licence(defined_terms) and tp.is_licence(notice)
    assert tp.clean(defined_terms * 2) is None
    about = ("The MIT license is short and permissive; many projects choose it because a "
             "document that nobody reads cannot confuse anybody.")
    assert not tp.is_licence(about) and not tp.is_licence(PROSE)


def test_sentences_are_counted() -> None:
    assert tp.sentences("One. Two! Three? four.") == 3
    assert tp.sentences("Version 2.3 is out.") == 1


def test_dict_markup_is_stripped() -> None:
    entry = "   <programming, humour> A variant of the {Brainfuck} {esoteric\nlanguage}."
    stripped = tp.flatten(tp.strip_dict_markup(entry))
    assert stripped == "A variant of the Brainfuck esoteric language."


def test_rst_blocks_drop_literals_directives_and_headings() -> None:
    raw = """.. _sanity:

Testing the package
===================

Run ``lintian`` over the package, see :ref:`the checks <lintian>` and
*always* read `its manual <https://x>`__ first::

     lintian -v foo.changes

-  a list item

Plain prose closes the section."""
    kept = [tp.flatten(b) for b in tp.rst_blocks(raw)]
    assert kept == ["Run lintian over the package, see the checks and always read its manual "
                    "first:", "Plain prose closes the section."]


def test_html_paragraphs_skip_code_and_tables() -> None:
    html = ("<html><body><h1>Title</h1><p>First <b>bold</b> paragraph.</p><pre>code here</pre>"
            "<table><tr><td><p>cell</p></td></tr></table><p>Second &amp; last.</p></body></html>")
    assert tp.html_paragraphs(html) == ["First bold paragraph.", "Second & last."]


def test_info_blocks_skip_headers_menus_and_licence_nodes() -> None:
    raw = ("This is x.info.\n\x1f\nFile: x.info,  Node: Top,  Next: Intro\n\nA notice.\n"
           "\x1f\nFile: x.info,  Node: Intro,  Next: Copying\n\n1 Intro\n*******\n\n"
           "The tool reads lines.\n\n* Menu:\n\n* Usage::   how\n"
           "\x1f\nFile: x.info,  Node: GNU Free Documentation License,  Prev: Intro\n\n"
           "The terms.\n")
    assert [tp.flatten(b) for b in tp.info_blocks(raw)] == [
        "1 Intro *******", "The tool reads lines."]
