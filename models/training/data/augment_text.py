"""What real distribution does to text (layout, whitespace, case, typography), for both classes."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Callable

import numpy as np

WRAP_WIDTHS = (40, 100)  # columns of hard-wrapped text seen in mail, terminals and READMEs
P_REWRAP = 0.35  # hard line breaks at a random width (mail, plain-text docs, fortunes)
P_DOUBLE_SPACE = 0.15  # two spaces after a sentence (typewriter habit, Emacs sentence ends)
P_TABS = 0.05  # a tab-indented first line or tab-indented wrapped lines
P_CRLF = 0.1  # Windows line endings (text pasted from Windows tools and web forms)
P_TRAILING = 0.15  # a trailing newline or trailing spaces (copied from a file or a form)
P_LOWERCASE = 0.05  # all lower case (chat, search boxes)
P_SHOUTED_WORD = 0.05  # one word in capitals for emphasis
P_CURLY = 0.2  # typographic quotes from word processors and publishing tools
P_DASH = 0.15  # "--" written as an em dash or a spaced hyphen
P_ELLIPSIS = 0.1  # "..." written as one ellipsis character
_SENTENCE_GAP = re.compile(r"(?<=[.!?]) (?=[\"'(]?[A-Z])")
_WORD = re.compile(r"\b[a-z]{4,}\b")


def rewrap(text: str, width: int) -> str:
    """`text` hard-wrapped at `width` columns (words never split)."""
    return textwrap.fill(" ".join(text.split()), width, break_long_words=False,
                         break_on_hyphens=False)


def double_space(text: str) -> str:
    """Two spaces between sentences."""
    return _SENTENCE_GAP.sub("  ", text)


def tab_indent(text: str) -> str:
    """A tab before the first line."""
    return "\t" + text


def crlf(text: str) -> str:
    """Windows line endings (a closing one too)."""
    return text.replace("\r\n", "\n").replace("\n", "\r\n") + "\r\n"


def curly_quotes(text: str) -> str:
    """Straight quotes as typographic ones: opening after a space or bracket, else closing."""
    out: list[str] = []
    for i, c in enumerate(text):
        opening = i == 0 or text[i - 1] in " \t\n\r([{-"
        if c == '"':
            out.append("\u201c" if opening else "\u201d")
        elif c == "'":
            out.append("\u2018" if opening else "\u2019")
        else:
            out.append(c)
    return "".join(out)


def em_dashes(text: str) -> str:
    """ASCII double hyphens as em dashes."""
    return text.replace("--", "\u2014")


def spaced_hyphens(text: str) -> str:
    """ASCII double hyphens as a spaced single hyphen."""
    return re.sub(r"\s*--\s*", " - ", text)


def ellipses(text: str) -> str:
    """Three dots as one ellipsis character."""
    return text.replace("...", "\u2026")


def lowercase(text: str) -> str:
    return text.lower()


def shout_word(text: str, where: float) -> str:
    """One word of four or more letters in capitals: the one at fraction `where` (in [0, 1))
    of the text's such words."""
    words = list(_WORD.finditer(text))
    if not words:
        return text
    match = words[min(len(words) - 1, int(where * len(words)))]
    return text[: match.start()] + match.group().upper() + text[match.end() :]


def augment(rng: np.random.Generator, text: str) -> str:
    """A random chain of what copying, pasting, typing and publishing do to text; each step is
    drawn with the same probability whatever the text's class, so none of them is a class cue.
    Every draw is made for every text (the number of draws never depends on the text)."""
    draws = rng.random(12)
    width = int(rng.integers(WRAP_WIDTHS[0], WRAP_WIDTHS[1] + 1))
    dash = em_dashes if rng.random() < 0.5 else spaced_hyphens
    if draws[0] < P_CURLY:
        text = curly_quotes(text)
    if draws[1] < P_DASH:
        text = dash(text)
    if draws[2] < P_ELLIPSIS:
        text = ellipses(text)
    if draws[3] < P_LOWERCASE:
        text = lowercase(text)
    if draws[4] < P_SHOUTED_WORD:
        text = shout_word(text, draws[11])
    if draws[5] < P_DOUBLE_SPACE:
        text = double_space(text)
    if draws[6] < P_REWRAP:
        text = "\n".join(rewrap(line, width) for line in text.split("\n"))
    if draws[7] < P_TABS:
        text = tab_indent(text)
    if draws[8] < P_CRLF:
        text = crlf(text)
    elif draws[9] < P_TRAILING:
        text += "\n" if draws[10] < 0.5 else "  "
    return text


ROBUSTNESS: dict[str, Callable[[str], str]] = {
    "rewrap-60": lambda text: rewrap(text, 60),
    "lowercase": lowercase,
    "curly-quotes": lambda text: em_dashes(ellipses(curly_quotes(text))),
    "extra-whitespace": lambda text: crlf(tab_indent(double_space(text))),
}
"""Named deterministic transformations `detector evaluate` applies to both classes of the test
items (the robustness table): layout, case, typography and whitespace, one each."""
