"""Decompression bombs of MP4, WAV, FLAC and Ogg, made here from small real files: refused (413,
the limit named) from their headers, by the API's probe and the full one, nothing decoded."""

from __future__ import annotations

import io
import struct
import tempfile
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest
import soundfile as sf

from config import Limits
from models.media.probe import MediaError, probe_media

LIMITS = Limits()


def _audio(fmt: str, rate: int = 8000) -> bytearray:
    out = io.BytesIO()
    t = np.arange(rate) / rate
    sf.write(out, (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), rate, format=fmt)
    return bytearray(out.getvalue())


def _mp4() -> bytearray:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "clip.mp4"
        writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 5.0, (64, 48))
        for i in range(5):
            writer.write(np.full((48, 64, 3), i * 40, np.uint8))
        writer.release()
        return bytearray(path.read_bytes())


def _box(data: bytearray, kind: bytes) -> int:
    """Where the payload of the first `kind` box starts (after its 8-byte header)."""
    at = data.find(kind)
    assert at > 4, kind
    return at + 4


def mp4_frames(count: int) -> bytes:
    data = _mp4()
    struct.pack_into(">I", data, _box(data, b"stsz") + 8, count)  # version/flags, size, count
    return bytes(data)


def mp4_size(width: int, height: int) -> bytes:
    data = _mp4()
    struct.pack_into(">II", data, _box(data, b"tkhd") + 76, width << 16, height << 16)
    return bytes(data)


def mp4_seconds(seconds: int) -> bytes:
    data = _mp4()
    at = _box(data, b"mdhd")
    scale = struct.unpack_from(">I", data, at + 12)[0]
    struct.pack_into(">I", data, at + 16, seconds * scale)
    return bytes(data)


def wav(rate: int | None = None, channels: int | None = None) -> bytes:
    data = _audio("WAV")
    if rate is not None:
        struct.pack_into("<II", data, 24, rate, rate * 2 * (channels or 1))
    if channels is not None:
        struct.pack_into("<H", data, 22, channels)
    return bytes(data)


def flac_samples(total: int) -> bytes:
    """STREAMINFO's 36-bit total sample count (after rate, channels and bits per sample)."""
    data = _audio("FLAC")
    at = 8 + 10  # "fLaC", the block header, then block and frame sizes
    packed = int.from_bytes(data[at : at + 8], "big")
    packed = (packed & ~((1 << 36) - 1)) | (total & ((1 << 36) - 1))
    data[at : at + 8] = packed.to_bytes(8, "big")
    return bytes(data)


def _ogg_crc(page: bytes) -> int:
    crc = 0
    for byte in page:
        crc ^= byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) if crc & 0x80000000 else crc << 1
            crc &= 0xFFFFFFFF
    return crc


def ogg_rate(rate: int) -> bytes:
    """The Vorbis identification header's sample rate (first page), the page's CRC made good.
    (libsndfile counts a Vorbis stream's length from its packets, not from the last page's
    granule position, so a lying granule is no bomb.)"""
    data = _audio("OGG")
    page_end = data.find(b"OggS", 4)
    ident = data.find(b"\x01vorbis")
    assert 0 < ident < page_end
    struct.pack_into("<I", data, ident + 12, rate)  # version (4), channels (1), then the rate
    struct.pack_into("<I", data, 22, 0)
    struct.pack_into("<I", data, 22, _ogg_crc(bytes(data[:page_end])))
    return bytes(data)


BOMBS: list[tuple[str, Callable[[], bytes], str]] = [
    ("mp4 10M frames", lambda: mp4_frames(10_000_000), "MAX_VIDEO_FRAMES"),
    ("mp4 60000x60000", lambda: mp4_size(60_000, 60_000), "MAX_VIDEO_PIXELS"),
    ("mp4 10 hours", lambda: mp4_seconds(36_000), "MAX_VIDEO_SECONDS"),
    ("wav at 2 GHz", lambda: wav(rate=2_000_000_000), "MAX_AUDIO_SAMPLE_RATE"),
    ("wav with 200 channels", lambda: wav(channels=200), "MAX_AUDIO_CHANNELS"),
    ("flac of 2^36 samples", lambda: flac_samples((1 << 36) - 1), "MAX_AUDIO_SAMPLES"),
    ("ogg at 1 GHz", lambda: ogg_rate(1_000_000_000), "MAX_AUDIO_SAMPLE_RATE"),
]


@pytest.fixture
def no_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any decode fails the test: a bomb must be refused from its header."""
    def refuse(*args: object, **kwargs: object) -> None:
        pytest.fail("a bomb was decoded")

    monkeypatch.setattr(cv2, "VideoCapture", refuse)
    monkeypatch.setattr(sf.SoundFile, "read", refuse)
    monkeypatch.setattr(sf.SoundFile, "seek", refuse)


@pytest.mark.parametrize(("make", "limit"), [b[1:] for b in BOMBS], ids=[b[0] for b in BOMBS])
@pytest.mark.parametrize("header_only", [True, False])
def test_bombs_are_refused_from_the_header(tmp_path: Path, make: Callable[[], bytes],
                                           limit: str, header_only: bool,
                                           no_decoding: None) -> None:
    path = tmp_path / "bomb"
    path.write_bytes(make())
    assert path.stat().st_size < 100_000
    with pytest.raises(MediaError) as err:
        probe_media(path, "bomb", LIMITS, header_only=header_only)
    assert err.value.status == 413 and limit in err.value.message, err.value.message


def test_the_seeds_are_good(tmp_path: Path) -> None:
    """Unchanged, the files the bombs are made from pass: the header edits make the bomb."""
    for name, data in (("a.mp4", _mp4()), ("a.wav", _audio("WAV")), ("a.flac", _audio("FLAC")),
                       ("a.ogg", _audio("OGG"))):
        path = tmp_path / name
        path.write_bytes(bytes(data))
        assert probe_media(path, name, LIMITS).modality in ("audio", "video")
        assert probe_media(path, name, LIMITS, header_only=True).modality in ("audio", "video")
