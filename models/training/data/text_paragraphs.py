"""Clean prose paragraphs out of raw documents: markup stripped, typography to ASCII, filtered."""

from __future__ import annotations

import re
from html.parser import HTMLParser

MIN_CHARS = 150  # shorter blocks are headings, captions, list items: not paragraphs of prose
MAX_CHARS = 2000  # longer blocks are run-together pages (a bad split), not one paragraph
MAX_SENTENCES = 8  # a prose paragraph; beyond this it is a run-on block or a joined list
MIN_STOPWORD_SHARE = 0.22  # English prose has ~40-50 % function words; tables and code ~0-10 %
MAX_SYMBOL_SHARE = 0.02  # code, paths, options and tables are dense in these characters
MIN_LETTER_SHARE = 0.72  # letters among non-space characters: numbers-and-symbols blocks fail
PROSE_END = ('.', '!', '?', '"', "'", ')')  # a paragraph of prose ends a sentence
SYMBOLS = set("{}[]<>=;$#\\|_/`*@~^%&+")
STOPWORDS = frozenset(
    "a an the and or but if of to in on at by for with from as is are was were be been being "
    "it its this that these those he she they we you i his her their our your my me him them us "
    "not no so than then there which who whom whose what when where why how all any some can "
    "could would should will shall may might must do does did have has had into out up down "
    "about over under also only very more most such one other each".split())
TYPOGRAPHY = {
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u2033": '"',
    "\u2013": "-", "\u2014": "--", "\u2015": "--", "\u2212": "-", "\u2010": "-", "\u2011": "-",
    "\u2026": "...", "\u00a0": " ", "\u2009": " ", "\u202f": " ", "\u00ad": "",
    "\u00b7": "", "\u2022": "*",
}
_TYPOGRAPHY_TABLE = str.maketrans(TYPOGRAPHY)
LICENCE_TEXT = re.compile(
    r"permission is (hereby )?granted|without (any )?warranty|general public licen[cs]e|"
    r"free documentation licen[cs]e|redistribute it and/or modify|invariant sections?|"
    r"copyright \(c\)|all rights reserved|merchantability|cover texts?|secondary sections?|"
    r"modified versions? of the document|sublicen[cs]e|licensee|to be freely used")
"""Searched in lower-cased text (faster than an IGNORECASE pattern)."""
LICENCE_TERMS = re.compile(r"\b(this|the) (License|Licence|Document|Program|Library)\b|"
                           r"\bModified Version\b|\b(Transparent|Opaque) (copy|form)\b")
"""Licences write their defined terms with capitals ("this License", "the Document", "the
Program"): every paragraph of the GPL and GFDL texts that packages copy has one of these."""
_SENTENCE_END = re.compile(r"[.!?][\"')\]]*(?=\s+[\"'(]?[A-Z0-9])")
_WORD = re.compile(r"[A-Za-z']+")
_ONLY_SYMBOLS = str.maketrans("", "", "".join(chr(c) for c in range(128) if chr(c) not in SYMBOLS))
_ONLY_LETTERS = str.maketrans("", "", "".join(chr(c) for c in range(128) if not chr(c).isalpha()))
_CROSS_REF = re.compile(r"\{([^{}]*)\}")  # dictd cross references: {term}
_CATEGORY = re.compile(r"^\s*<[^<>]{1,60}>\s*")  # FOLDOC's leading <category> tags
_RST_ROLE = re.compile(r":[a-z]+:`([^`<]*?)(?:\s*<[^>]*>)?`")  # :ref:`text <target>`
_RST_LITERAL = re.compile(r"``([^`]*)``")
_RST_EMPHASIS = re.compile(r"(?<![\w*])\*{1,2}([^*\n]+?)\*{1,2}(?![\w*])")
_RST_LINK = re.compile(r"`([^`<]+?)\s*<[^>]+>`_{1,2}")
_RST_UNDERLINE = re.compile(r"^\s*([=\-~^\"'`#*+])\1{2,}\s*$")
_INFO_NODE = re.compile(r"^File: [^,]+,\s+Node: ([^,]+)")
_INFO_SKIP = re.compile(r"^Top$|licen[cs]e|copying|index$", re.IGNORECASE)
_BLANK = re.compile(r"\n[ \t]*\n")


def to_ascii(text: str) -> str:
    """Typographic quotes, dashes, ellipses and spaces as their ASCII spelling (so typography
    is never a class cue: `augment_text` puts it back on both classes)."""
    return text.translate(_TYPOGRAPHY_TABLE)


def flatten(text: str) -> str:
    """One line, single spaces."""
    return " ".join(text.split())


def blocks(raw: str) -> list[str]:
    """Blank-line separated blocks of a plain-text document."""
    return [b for b in _BLANK.split(raw.replace("\r\n", "\n")) if b.strip()]


def strip_dict_markup(block: str) -> str:
    """A dictd entry block without cross-reference braces or a leading category tag."""
    block = _CROSS_REF.sub(r"\1", _CROSS_REF.sub(r"\1", block))
    return _CATEGORY.sub("", block)


def strip_rst(block: str) -> str:
    """A reStructuredText block with roles, literals, links and emphasis as plain words."""
    block = _RST_LINK.sub(r"\1", block)
    block = _RST_ROLE.sub(r"\1", block)
    block = _RST_LITERAL.sub(r"\1", block)
    return _RST_EMPHASIS.sub(r"\1", block).replace("\\ ", "")


def rst_blocks(raw: str) -> list[str]:
    """Prose blocks of an rST document: literal blocks (after `::`), directives, comments,
    headings and list items left out."""
    kept: list[str] = []
    literal = False
    for block in blocks(raw):
        first = block.lstrip()
        indented = block[:1] in " \t"
        if literal and indented:
            continue
        literal = block.rstrip().endswith("::")
        if first.startswith(("..", "-", "*", "#", "|", "+", "=")) or indented:
            continue
        if any(_RST_UNDERLINE.match(line) for line in block.splitlines()):
            continue  # a heading
        kept.append(re.sub(r"::\s*$", ":", strip_rst(block)))
    return kept


def info_blocks(raw: str) -> list[str]:
    """Blocks of a GNU Info file's nodes: node headers, menus and the nodes that hold a
    licence or its notice (the Top node's and the licence appendix) left out."""
    kept: list[str] = []
    for node in raw.split("\x1f"):
        header, _, body = node.strip("\n").partition("\n")
        name = _INFO_NODE.search(header)
        if name is None or _INFO_SKIP.search(name.group(1)):
            continue
        kept += [b for b in blocks(body) if not b.lstrip().startswith("* ")]
    return kept


class _ParagraphParser(HTMLParser):
    """Collects the text of each <p> element, outside <pre>, <code>, <table> and <script>."""

    SKIP = {"pre", "code", "table", "script", "style"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.paragraphs: list[str] = []
        self._current: list[str] | None = None
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.SKIP:
            self._skip += 1
        elif tag == "p":
            self._close()
            self._current = []

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP:
            self._skip = max(0, self._skip - 1)
        elif tag == "p":
            self._close()

    def handle_data(self, data: str) -> None:
        if self._current is not None and not self._skip:
            self._current.append(data)

    def _close(self) -> None:
        if self._current:
            self.paragraphs.append("".join(self._current))
        self._current = None


def html_paragraphs(html: str) -> list[str]:
    """The text of an HTML document's <p> paragraphs (code and tables left out)."""
    parser = _ParagraphParser()
    parser.feed(html)
    parser.close()
    return parser.paragraphs


def sentences(text: str) -> int:
    """About how many sentences `text` has (sentence-final punctuation before a capital)."""
    return len(_SENTENCE_END.findall(text)) + 1


def is_licence(text: str) -> bool:
    """Whether a paragraph is (part of) a licence text: licence texts are reserved for the
    independent evaluation and are never training data."""
    return bool(LICENCE_TERMS.search(text) or LICENCE_TEXT.search(text.lower()))


def is_prose(text: str) -> bool:
    """Whether a flattened block reads as an English prose paragraph: its length, its
    number of sentences, its share of function words, letters and code-like symbols, and no
    licence text (licences are reserved for the independent evaluation)."""
    if not MIN_CHARS <= len(text) <= MAX_CHARS or not text.isascii():
        return False
    if not text.endswith(PROSE_END) or not text[:1].isalnum() and text[:1] not in "\"'(":
        return False
    if sentences(text) > MAX_SENTENCES:
        return False
    visible = len(text) - text.count(" ")
    if len(text.translate(_ONLY_SYMBOLS)) > MAX_SYMBOL_SHARE * visible:
        return False
    if len(text.translate(_ONLY_LETTERS)) < MIN_LETTER_SHARE * visible:
        return False
    words = _WORD.findall(text.lower())
    if not words or sum(w in STOPWORDS for w in words) < MIN_STOPWORD_SHARE * len(words):
        return False
    return not is_licence(text)


def clean(block: str) -> str | None:
    """A raw block as one clean prose paragraph, or None when it is not one."""
    if len(block) < MIN_CHARS:
        return None
    text = flatten(to_ascii(block))
    return text if is_prose(text) else None
