"""Text augmentations: each transformation, the random chain, and the robustness set."""

from __future__ import annotations

import numpy as np
import pytest

from models.training.data import augment_text as at
from models.training.data.text_paragraphs import to_ascii

TEXT = ('The manual says "use the tool" -- and the tool\'s author agrees... Most users never '
        "read it. Why would they? It is long, dry and full of options nobody needs.")


def _words(text: str) -> list[str]:
    """The words of a text up to case, typography and layout."""
    return to_ascii(text).lower().replace("--", " ").replace(" - ", " ").split()


def test_rewrap_breaks_lines_at_the_width_and_keeps_the_words() -> None:
    wrapped = at.rewrap(TEXT, 40)
    assert "\n" in wrapped
    assert all(len(line) <= 40 for line in wrapped.split("\n"))
    assert wrapped.split() == TEXT.split()
    assert at.rewrap(wrapped, 200) == " ".join(TEXT.split())


def test_double_space_only_between_sentences() -> None:
    spaced = at.double_space("One sentence. Another one! A third? no capital here.")
    assert spaced == "One sentence.  Another one!  A third? no capital here."


def test_tabs_and_crlf() -> None:
    assert at.tab_indent("text") == "\ttext"
    lines = at.crlf("one\ntwo\r\nthree")
    assert lines == "one\r\ntwo\r\nthree\r\n"
    assert "\n" not in lines.replace("\r\n", "")


def test_curly_quotes_open_and_close() -> None:
    curly = at.curly_quotes('He said "it\'s done" (\'really\').')
    assert curly == "He said \u201cit\u2019s done\u201d (\u2018really\u2019)."
    assert to_ascii(curly) == 'He said "it\'s done" (\'really\').'


def test_dashes_and_ellipses() -> None:
    assert at.em_dashes("a -- b") == "a \u2014 b"
    assert at.spaced_hyphens("a--b and c -- d") == "a - b and c - d"
    assert at.ellipses("wait... what") == "wait\u2026 what"


def test_case_variants() -> None:
    assert at.lowercase("Hello World") == "hello world"
    shouted = at.shout_word("the quick brown fox jumps", 0.99)
    assert shouted == "the quick brown fox JUMPS"
    assert at.shout_word("a b c", 0.5) == "a b c"  # no word of four letters: unchanged


def test_augment_is_seeded_keeps_the_words_and_draws_a_fixed_number() -> None:
    for seed in range(200):
        out = at.augment(np.random.default_rng(seed), TEXT)
        assert out == at.augment(np.random.default_rng(seed), TEXT)
        assert _words(out) == _words(TEXT)
        a, b = np.random.default_rng(seed), np.random.default_rng(seed)
        at.augment(a, TEXT)
        at.augment(b, "short")
        assert a.random() == b.random()  # the text never changes how many draws are made


@pytest.mark.parametrize(("mark", "share"), [
    ("\r\n", at.P_CRLF), ("\u201c", at.P_CURLY), ("\u2026", at.P_ELLIPSIS),
])
def test_augment_applies_each_step_at_its_rate(mark: str, share: float) -> None:
    rng = np.random.default_rng(7)
    hits = sum(mark in at.augment(rng, TEXT) for _ in range(2000)) / 2000
    assert abs(hits - share) < 0.03


def test_augment_rewraps_at_about_its_rate() -> None:
    rng = np.random.default_rng(3)
    wrapped = sum("\n" in at.augment(rng, TEXT).rstrip("\r\n") for _ in range(2000)) / 2000
    # every width in WRAP_WIDTHS breaks this 150-character text
    assert abs(wrapped - at.P_REWRAP) < 0.03


def test_robustness_set_is_small_deterministic_and_keeps_the_words() -> None:
    assert 4 <= len(at.ROBUSTNESS) <= 6
    for name, transform in at.ROBUSTNESS.items():
        out = transform(TEXT)
        assert out != TEXT, name
        assert out == transform(TEXT), name
        assert _words(out) == _words(TEXT), name
    assert max(map(len, at.ROBUSTNESS["rewrap-60"].__call__(TEXT).split("\n"))) <= 60
    assert at.ROBUSTNESS["lowercase"](TEXT) == TEXT.lower()
