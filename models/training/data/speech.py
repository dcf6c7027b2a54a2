"""Real speech recordings of the catalogue's audio sources: listing, weighted draws, decoding."""

from __future__ import annotations

import functools
import subprocess
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from models.media.decode import SAMPLE_RATE
from models.training.data import catalog

DECODE_CACHE_SIZE = 512  # decoded 16 kHz recordings kept (~2 s each: ~64 MB at most)
FFMPEG_TIMEOUT_S = 30  # decoding one prompt takes ~50 ms; a hang is an error
FFMPEG_FORMATS = {".gsm": "gsm"}  # raw telephone codecs libsndfile cannot read: via ffmpeg


@dataclass(frozen=True)
class Recording:
    """One real speech file of a catalogue source."""

    path: Path
    source: str
    family: str
    group: str
    language: tuple[str, ...]


@dataclass(frozen=True)
class Collection:
    """One real audio source of the catalogue with the files installed here."""

    source: catalog.Source
    recordings: tuple[Recording, ...]
    weight: float


@functools.cache
def collections() -> tuple[Collection, ...]:
    """The catalogue's real audio sources that are installed here (at least one file)."""
    found = []
    for source in catalog.select("audio", "real"):
        speaker = source.extra.get("speaker")
        items = tuple(
            Recording(path=path, source=source.name, family=source.family,
                      group=f"{source.family}:{speaker}" if speaker
                      else f"{source.name}:{path.parent.name}/{path.stem}",
                      language=source.language)
            for path in source.files()
        )
        if items:
            found.append(Collection(source, items, float(source.extra.get("weight", 1.0))))
    if not found:
        raise FileNotFoundError("no real speech installed; install the catalogue's audio "
                                "packages (make data)")
    return tuple(found)


def draw(rng: np.random.Generator) -> Recording:
    """A random recording: a source drawn by catalogue weight, then a file of it."""
    pool = collections()
    weights = np.array([c.weight for c in pool])
    chosen = pool[int(rng.choice(len(pool), p=weights / weights.sum()))]
    return chosen.recordings[int(rng.integers(len(chosen.recordings)))]


def _ffmpeg_decode(path: Path, fmt: str) -> tuple[np.ndarray, int]:
    out = subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-f", fmt, "-i", str(path), "-f", "f32le",
         "-ac", "1", "pipe:1"], capture_output=True, check=True, timeout=FFMPEG_TIMEOUT_S)
    probe = subprocess.run(
        ["ffprobe", "-v", "error", "-f", fmt, "-show_entries", "stream=sample_rate", "-of",
         "csv=p=0", str(path)], capture_output=True, check=True, text=True,
        timeout=FFMPEG_TIMEOUT_S)
    return np.frombuffer(out.stdout, dtype="<f4").copy(), int(probe.stdout.split()[0])


@functools.lru_cache(maxsize=DECODE_CACHE_SIZE)
def load(path: Path) -> tuple[np.ndarray, int]:
    """A recording as mono float32 at 16 kHz, and the rate it was stored at."""
    import librosa
    import soundfile

    fmt = FFMPEG_FORMATS.get(path.suffix.lower())
    if fmt:
        samples, rate = _ffmpeg_decode(path, fmt)
    else:
        data, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
        samples = data.mean(axis=1)
    if samples.size == 0:
        raise ValueError(f"{path}: no audio")
    if rate != SAMPLE_RATE:
        samples = librosa.resample(samples, orig_sr=rate, target_sr=SAMPLE_RATE)
    return samples.astype(np.float32), int(rate)


@functools.cache
def prompts(source_name: str) -> tuple[str, ...]:
    """The words a source's speakers read (a catalogue `prompts` file: KLettres sounds.xml
    names), for text-to-speech of the same words; empty when the source lists none."""
    path = catalog.by_name(source_name).extra.get("prompts")
    if not path or not Path(path).is_file():
        return ()
    names = (el.get("name", "") for el in ET.parse(path).iter("sound"))
    return tuple(sorted({n.strip() for n in names if n and n.strip()}))
