"""Human-written paragraphs of every real text source in the data catalogue, by family."""

from __future__ import annotations

import functools
import gzip
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from models.training.data import catalog
from models.training.data.text_paragraphs import (
    blocks,
    clean,
    flatten,
    html_paragraphs,
    info_blocks,
    rst_blocks,
    strip_dict_markup,
    to_ascii,
)

PASSAGE_PARAGRAPHS = 12  # consecutive paragraphs of one document form a group (one topic)
FORTUNE_CHARS = (40, 600)  # fortunes are short by nature: one-liners count, long ones are lists
BIBLE_PARAGRAPH_CHARS = 350  # consecutive verses are joined until a paragraph is this long
BIBLE_TIMEOUT_S = 60  # the whole text prints in well under a second
# licence files (reserved for the independent evaluation) are never read as data
LICENCE_FILES_RE = re.compile(r"(^|/)(copying|licen[cs]e|copyright)[^/]*$", re.IGNORECASE)
_BIBLE_HEADER = re.compile(r"^(\S.*) (\d+)$")
_BIBLE_VERSE = re.compile(r"^\s+(\d+) (.*)$")


@dataclass(frozen=True)
class Paragraph:
    """One human paragraph: its catalogue `source` and `family`, its `group` (document and
    passage), its `kind` (the source's genre) and the flattened ASCII `text`."""

    source: str
    family: str
    group: str
    kind: str
    text: str


def _read(path: Path) -> str:
    """A text file, gzip- or dictzip-compressed ones included."""
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    return data.decode("utf-8", errors="replace")


def _document(path: Path) -> str:
    """A file's document name: its name without compression and format suffixes."""
    name = path.name
    name = re.sub(r"\.info(-\d+)?", "", name)  # the parts of a split Info manual: one document
    for suffix in (".gz", ".dz", ".txt", ".text", ".dict", ".rst", ".html", ".en"):
        name = name.removesuffix(suffix)
    return name


def _raw_blocks(path: Path) -> list[str]:
    """The candidate paragraphs of one file, by its format."""
    name = path.name
    if name.endswith(".html"):
        return html_paragraphs(_read(path))
    if name.endswith(".rst.txt") or name.endswith(".rst"):
        return rst_blocks(_read(path))
    if ".info" in name:
        return info_blocks(_read(path))
    if name.endswith(".dict.dz"):
        return [strip_dict_markup(b) for b in blocks(_read(path))]
    return blocks(_read(path))


def _fortunes(path: Path) -> list[str]:
    """The fortunes of one fortune file (flattened, ASCII, `FORTUNE_CHARS` long)."""
    low, high = FORTUNE_CHARS
    texts = [flatten(to_ascii(t.strip("%\n "))) for t in _read(path).split("\n%\n")]
    return [t for t in texts if low <= len(t) <= high and t.isascii()]


def _bible_verses(tool: str) -> list[tuple[str, str]]:
    """Every verse of the King James Bible as `(book chapter, text)`, printed by `tool`."""
    out = subprocess.run([tool, "Gen1:1-Rev22:21"], capture_output=True, text=True,
                         stdin=subprocess.DEVNULL, timeout=BIBLE_TIMEOUT_S, check=True).stdout
    verses: list[tuple[str, str]] = []
    chapter = ""
    for line in out.splitlines():
        if not line.strip():
            continue
        if (header := _BIBLE_HEADER.match(line)) and not line[:1].isspace():
            chapter = f"{header.group(1)} {header.group(2)}"
        elif verse := _BIBLE_VERSE.match(line):
            verses.append((chapter, verse.group(2)))
        elif verses:
            verses[-1] = (verses[-1][0], f"{verses[-1][1]} {line.strip()}")
    return verses


def _bible(source: catalog.Source) -> list[tuple[str, str]]:
    """Runs of consecutive verses of one chapter, `BIBLE_PARAGRAPH_CHARS` long, by book."""
    tool = shutil.which(source.tool or "bible")
    if tool is None or not source.files():
        return []
    documents: list[tuple[str, str]] = []
    run: list[str] = []
    last = ""
    for chapter, verse in [*_bible_verses(tool), ("", "")]:
        if run and (chapter != last or sum(map(len, run)) >= BIBLE_PARAGRAPH_CHARS):
            documents.append((last.rsplit(" ", 1)[0], " ".join(run)))
            run = []
        run.append(verse)
        last = chapter
    return documents


def _documents(source: catalog.Source) -> list[tuple[str, str]]:
    """`(document, raw paragraph)` pairs of a source, in file order."""
    reader = source.extra.get("reader", "auto")
    if reader == "bible":
        return _bible(source)
    found: list[tuple[str, str]] = []
    for path in source.files():
        if path.suffix == ".dat" or LICENCE_FILES_RE.search(str(path)):
            continue
        if reader == "fortune":
            if not path.suffix:
                found += [(path.name, text) for text in _fortunes(path)]
        else:
            document = _document(path)
            found += [(document, block) for block in _raw_blocks(path)]
    return found


@functools.cache
def source_paragraphs(name: str) -> tuple[Paragraph, ...]:
    """The clean paragraphs of one catalogue source (empty when it is not installed); each
    `PASSAGE_PARAGRAPHS` consecutive paragraphs of a document form one group."""
    source = catalog.by_name(name)
    kind = str(source.extra.get("kind", "prose"))
    fortune = source.extra.get("reader") == "fortune"
    kept: list[Paragraph] = []
    counts: dict[str, int] = {}
    for document, raw in _documents(source):
        text = raw if fortune else clean(raw)
        if text is None:
            continue
        index = counts.get(document, 0)
        counts[document] = index + 1
        group = f"{name}:{document}#{index // PASSAGE_PARAGRAPHS}"
        kept.append(Paragraph(name, source.family, group, kind, text))
    return tuple(kept)


def real_sources() -> list[catalog.Source]:
    """The catalogue's real text sources."""
    return catalog.select("text", "real")


@functools.cache
def paragraphs() -> tuple[Paragraph, ...]:
    """Every clean human paragraph of every installed real text source, in catalogue order;
    a text that occurs more than once (fortunes repeat across files) is kept once."""
    seen: set[str] = set()
    found = tuple(p for s in real_sources() for p in source_paragraphs(s.name)
                  if p.text not in seen and not seen.add(p.text))
    if not found:
        raise FileNotFoundError("no human text installed: install the catalogue's text sources "
                                "(make data)")
    return found
