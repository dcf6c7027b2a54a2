"""The data catalogue: every source of training and test media, read from `catalog.toml`.

Runs as a plain script too (`python3 models/data/catalog.py packages`), with the standard
library only, so the Makefile can ask it which Debian packages `make data` installs.
"""

from __future__ import annotations

import glob
import sys
import sysconfig
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
        """The files this source's globs match here, sorted (empty when not installed); a
        relative glob is under the Python environment's site-packages (a PyPI package's files)."""
        site = sysconfig.get_paths()["purelib"]
        found: set[str] = set()
        for pattern in self.paths:
            found.update(glob.glob(str(Path(site, pattern)), recursive=True))
        return sorted(Path(p) for p in found if Path(p).is_file())


def _tuple(value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(str(v) for v in value)  # type: ignore[union-attr]


def load(path: str | Path = CATALOG_PATH) -> list[Source]:
    """Every source in the catalogue, validated (required fields, known modality and class,
    unique names)."""
    raw = tomllib.loads(Path(path).read_text())
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


if __name__ == "__main__":
    if sys.argv[1:] == ["packages"]:
        print(" ".join(debian_packages()))
    else:
        sys.exit("usage: catalog.py packages")
