"""The data catalogue: every source of training and test media, read from `catalog.toml`.

Runs as a plain script too (`python3 models/training/data/catalog.py packages`), with the standard
library only, so the Makefile can ask it which Debian packages `make data` installs.
"""

from __future__ import annotations

import glob
import importlib.metadata
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

CATALOG_PATH = Path(__file__).with_name("catalog.toml")
MODALITIES = ("image", "audio", "video", "text")
CLASSES = ("real", "synthetic", "non-camera")
"""`real`: captures of the world (camera, microphone, human writing). `synthetic`: made by a
generator (the detector's positive class). `non-camera`: renders, drawings, screenshots and
animation: not synthetic media in the deepfake sense, never in the real-capture class either;
reported on their own."""
REQUIRED = ("name", "family", "modality", "class", "licence", "what")
OPTIONAL_EXTRA = ("weight", "speaker", "prompts", "kind", "reader")
"""Fields a data module may read from `Source.extra`: `weight` (the source's share of the real
draws), `speaker` (the one voice of a collection, used as the sample group), `prompts` (the
texts a recording says, for text-to-speech of the same words), `kind` (the genre of a text
source: manual, literature, dialogue ...), `reader` (how its files are parsed)."""


@dataclass(frozen=True)
class Source:
    """One catalogue entry: where media come from, what they are, and their source family.

    Items of one `family` always share a split; `paths` are globs (with `**`) under the
    install location of the Debian `debian` package or PyPI `pypi` package; generators name
    the `tool` that makes them instead.
    """

    name: str
    family: str
    modality: str
    cls: str
    licence: str
    what: str
    debian: tuple[str, ...] = ()
    pypi: tuple[str, ...] = ()
    paths: tuple[str, ...] = ()
    tool: str = ""
    language: tuple[str, ...] = ()
    notes: str = ""
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    def files(self) -> list[Path]:
        """The files this source's globs match here, sorted (empty when not installed). A PyPI
        source's globs are relative to the folder its distribution is installed in."""
        if self.pypi:
            roots = [root for root in map(_installed_root, self.pypi) if root is not None]
            patterns = [str(root / pattern) for root in roots for pattern in self.paths]
        else:
            patterns = list(self.paths)
        found: set[str] = set()
        for pattern in patterns:
            found.update(glob.glob(pattern, recursive=True))
        return sorted(Path(p) for p in found if Path(p).is_file())


def _installed_root(distribution: str) -> Path | None:
    """The folder a PyPI distribution is installed in (site-packages), None when it is not."""
    try:
        return Path(str(importlib.metadata.distribution(distribution).locate_file("")))
    except importlib.metadata.PackageNotFoundError:
        return None


def _tuple(value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(str(v) for v in value)  # type: ignore[union-attr]


def load(path: str | Path = CATALOG_PATH) -> list[Source]:
    """Every source in the catalogue, validated (required fields, known modality and class,
    unique names)."""
    return load_text(Path(path).read_text())


def load_text(text: str) -> list[Source]:
    """The sources of a catalogue's TOML text, validated as `load` does."""
    raw = tomllib.loads(text)
    sources: list[Source] = []
    seen: set[str] = set()
    for entry in raw.get("source", []):
        missing = [k for k in REQUIRED if not entry.get(k)]
        if missing:
            raise ValueError(f"catalogue entry {entry.get('name', '?')!r} lacks {missing}")
        if entry["modality"] not in MODALITIES:
            raise ValueError(f"{entry['name']}: unknown modality {entry['modality']!r}")
        if entry["class"] not in CLASSES:
            raise ValueError(f"{entry['name']}: unknown class {entry['class']!r}")
        if entry["name"] in seen:
            raise ValueError(f"duplicate catalogue entry {entry['name']!r}")
        seen.add(entry["name"])
        known = {"name", "family", "modality", "class", "licence", "what", "debian", "pypi",
                 "paths", "tool", "language", "notes"}
        unknown = set(entry) - known - set(OPTIONAL_EXTRA)
        if unknown:
            raise ValueError(f"{entry['name']}: unknown catalogue fields {sorted(unknown)}")
        sources.append(Source(
            name=entry["name"], family=entry["family"], modality=entry["modality"],
            cls=entry["class"], licence=entry["licence"], what=entry["what"],
            debian=_tuple(entry.get("debian")), pypi=_tuple(entry.get("pypi")),
            paths=_tuple(entry.get("paths")), tool=entry.get("tool", ""),
            language=_tuple(entry.get("language")), notes=entry.get("notes", ""),
            extra={k: v for k, v in entry.items() if k not in known},
        ))
    return sources


def select(modality: str | None = None, cls: str | None = None,
           sources: list[Source] | None = None) -> list[Source]:
    """The catalogue's sources of one modality and/or class, in catalogue order."""
    return [s for s in (load() if sources is None else sources)
            if (modality is None or s.modality == modality) and (cls is None or s.cls == cls)]


def by_name(name: str) -> Source:
    """One source by its name."""
    for source in load():
        if source.name == name:
            return source
    raise KeyError(f"no catalogue source named {name!r}")


def debian_packages(sources: list[Source] | None = None) -> list[str]:
    """Every Debian package the catalogue names, sorted: what `make data` installs."""
    return sorted({p for s in (load() if sources is None else sources) for p in s.debian})


def pypi_packages(sources: list[Source] | None = None) -> list[str]:
    """Every PyPI package the catalogue names, sorted (each must be a project dependency)."""
    return sorted({p for s in (load() if sources is None else sources) for p in s.pypi})


def markdown(sources: list[Source] | None = None) -> str:
    """The catalogue as Markdown tables, one per modality (docs/data-catalogue.md)."""
    sources = load() if sources is None else sources
    lines = ["# Data catalogue", "",
             "Generated from `models/training/data/catalog.toml` by `make catalogue` "
             "(`python3 models/training/data/catalog.py markdown`); a test fails when it is "
             "out of date.",
             "Families are the split unit: `detector evaluate` holds each real family out in turn.",
             ""]
    for modality in MODALITIES:
        chosen = [s for s in sources if s.modality == modality]
        if not chosen:
            continue
        lines += [f"## {modality}", "",
                  "| source | family | class | what | language | package | licence |",
                  "|---|---|---|---|---|---|---|"]
        for s in chosen:
            package = ", ".join([f"deb:{p}" for p in s.debian] + [f"pypi:{p}" for p in s.pypi])
            package = package or (f"tool:{s.tool}" if s.tool else "")
            cells = [s.name, s.family, s.cls, s.what, ", ".join(s.language), package, s.licence]
            lines.append("| " + " | ".join(c.replace("|", "/") for c in cells) + " |")
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    if sys.argv[1:] == ["packages"]:
        print(" ".join(debian_packages()))
    elif sys.argv[1:] == ["markdown"]:
        print(markdown(), end="")
    else:
        sys.exit("usage: catalog.py packages | markdown")
