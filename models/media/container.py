"""Video container headers (MP4/MOV boxes, AVI's main header) read without decoding a frame."""

from __future__ import annotations

import mmap
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

MAX_BOXES = 10_000
"""Boxes walked in one file at most: a file of millions of empty boxes stops here."""


class ContainerError(ValueError):
    """The container's header is missing, cut short or inconsistent."""


@dataclass(frozen=True)
class VideoHeader:
    """What a container declares; 0 where it declares nothing."""

    width: int = 0
    height: int = 0
    frames: int = 0
    duration_s: float = 0.0


def read_header(path: Path, mime: str) -> VideoHeader | None:
    """The header of an MP4/MOV or AVI file (memory-mapped: pages are read as the walk touches
    them, never the whole file); None for containers read by the decoder only (Matroska/WebM)."""
    if mime in ("video/mp4", "video/quicktime"):
        reader = _mp4
    elif mime == "video/x-msvideo":
        reader = _avi
    else:
        return None
    with path.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
        try:
            return reader(data)
        except (struct.error, IndexError) as exc:
            raise ContainerError("the container header is cut short") from exc


def _boxes(data: mmap.mmap, start: int, end: int, budget: list[int]) -> Iterator[
        tuple[bytes, int, int]]:
    """(type, payload start, box end) of each ISO BMFF box between `start` and `end`."""
    pos = start
    while pos + 8 <= end:
        budget[0] -= 1
        if budget[0] < 0:
            raise ContainerError(f"the container holds more than {MAX_BOXES} boxes")
        size, kind = struct.unpack_from(">I4s", data, pos)
        header = 8
        if size == 1:
            size, header = struct.unpack_from(">Q", data, pos + 8)[0], 16
        elif size == 0:
            size = end - pos
        if size < header or pos + size > end:
            raise ContainerError(f"the {kind!r} box runs past its container")
        yield kind, pos + header, pos + size
        pos += size


def _child(data: mmap.mmap, start: int, end: int, kind: bytes,
           budget: list[int]) -> tuple[int, int] | None:
    for found, body, stop in _boxes(data, start, end, budget):
        if found == kind:
            return body, stop
    return None


def _mp4(data: mmap.mmap) -> VideoHeader:
    budget = [MAX_BOXES]
    moov = _child(data, 0, len(data), b"moov", budget)
    if moov is None:
        raise ContainerError("the file has no movie header (moov box)")
    best = VideoHeader()
    for kind, body, stop in _boxes(data, *moov, budget):
        if kind != b"trak":
            continue
        track = _track(data, body, stop, budget)
        if track is not None and track.width * track.height >= best.width * best.height:
            best = track
    return best


def _track(data: mmap.mmap, start: int, end: int, budget: list[int]) -> VideoHeader | None:
    """A video track's size (tkhd), duration (mdhd) and sample count (stsz); None otherwise."""
    mdia = _child(data, start, end, b"mdia", budget)
    if mdia is None:
        return None
    hdlr = _child(data, *mdia, b"hdlr", budget)
    if hdlr is None or data[hdlr[0] + 8 : hdlr[0] + 12] != b"vide":
        return None
    width = height = frames = 0
    duration = 0.0
    tkhd = _child(data, start, end, b"tkhd", budget)
    if tkhd is not None:  # version 0: 84-byte payload, 1: 96; size is 16.16 fixed point last
        offset = tkhd[0] + (88 if data[tkhd[0]] == 1 else 76)
        width, height = (v >> 16 for v in struct.unpack_from(">II", data, offset))
    mdhd = _child(data, *mdia, b"mdhd", budget)
    if mdhd is not None:
        if data[mdhd[0]] == 1:
            scale, length = struct.unpack_from(">IQ", data, mdhd[0] + 20)
        else:
            scale, length = struct.unpack_from(">II", data, mdhd[0] + 12)
        duration = length / scale if scale else 0.0
    minf = _child(data, *mdia, b"minf", budget)
    stbl = _child(data, *minf, b"stbl", budget) if minf else None
    stsz = _child(data, *stbl, b"stsz", budget) if stbl else None
    if stsz is not None:
        frames = struct.unpack_from(">I", data, stsz[0] + 8)[0]
    return VideoHeader(width, height, frames, duration)


_AVIH_FRAMES, _AVIH_WIDTH = 16, 32
"""Offsets in AVI's main header (avih): dwTotalFrames, then dwWidth and dwHeight."""


def _avi(data: mmap.mmap) -> VideoHeader:
    at = data.find(b"avih", 12, 4096)
    if at < 0:
        raise ContainerError("the AVI file has no main header (avih)")
    body = at + 8
    usec = struct.unpack_from("<I", data, body)[0]
    frames = struct.unpack_from("<I", data, body + _AVIH_FRAMES)[0]
    width, height = struct.unpack_from("<II", data, body + _AVIH_WIDTH)
    return VideoHeader(width, height, frames, frames * usec / 1e6)
