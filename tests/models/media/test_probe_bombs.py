"""Decompression bombs, made here a few bytes long: refused from their headers, never decoded."""

from __future__ import annotations

import io
import os
import struct
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest
import soundfile as sf

from config import OPENCV_PIXELS_VAR, Limits
from models.media import probe
from models.media.probe import MediaError, probe_media

LIMITS = Limits()
ROOT = Path(__file__).resolve().parents[3]


def _riff_webp(chunk: bytes, payload: bytes) -> bytes:
    body = b"WEBP" + chunk + struct.pack("<I", len(payload)) + payload
    return b"RIFF" + struct.pack("<I", len(body)) + body


def webp_vp8l(width: int, height: int) -> bytes:
    """A lossless WebP header: signature 0x2f, 14-bit (width - 1), 14-bit (height - 1)."""
    bits = (width - 1) | (height - 1) << 14
    return _riff_webp(b"VP8L", b"\x2f" + struct.pack("<I", bits) + bytes(11))


def webp_vp8x(width: int, height: int) -> bytes:
    """An extended WebP: its canvas is 24-bit (width - 1), (height - 1)."""
    payload = bytes(4) + (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
    return _riff_webp(b"VP8X", payload) + webp_vp8l(64, 64)[12:]


def webp_vp8(width: int, height: int) -> bytes:
    """A lossy WebP: frame tag, start code 9d 01 2a, 14-bit width and height."""
    return _riff_webp(b"VP8 ", bytes(3) + b"\x9d\x01\x2a" + struct.pack("<HH", width, height)
                      + bytes(16))


def tiff(width: int, height: int, order: str = "<", kind: int = 4) -> bytes:
    """A TIFF whose first IFD gives ImageWidth and ImageLength (SHORT = 3 or LONG = 4)."""
    magic = b"II*\0" if order == "<" else b"MM\0*"
    fmt = "H2x" if kind == 3 else "I"  # a SHORT is left-justified in the 4-byte field
    entries = b"".join(struct.pack(f"{order}HHI{fmt}", tag, kind, 1, value)
                       for tag, value in ((256, width), (257, height)))
    return magic + struct.pack(f"{order}IH", 8, 2) + entries + struct.pack(f"{order}I", 0)


def png(width: int, height: int) -> bytes:
    ok, buf = cv2.imencode(".png", np.zeros((height, width, 3), np.uint8))
    assert ok
    return buf.tobytes()


@pytest.fixture
def no_decode(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any decode fails the test: the bomb must be refused from its header."""
    def boom(*args: object, **kwargs: object) -> None:
        raise AssertionError("decoding was attempted")

    for name in ("imdecode", "imread", "imreadmulti", "imdecodemulti"):
        monkeypatch.setattr(cv2, name, boom)
    monkeypatch.setattr(sf, "read", boom)
    monkeypatch.setattr(sf.SoundFile, "read", boom)
    monkeypatch.setattr(sf.SoundFile, "seek", boom)

    class NoFrames:
        def __init__(self, path: str) -> None:
            self._cap = real(path)

        def __getattr__(self, name: str) -> object:
            if name in ("read", "grab", "retrieve"):
                return boom
            return getattr(self._cap, name)

    real = cv2.VideoCapture
    monkeypatch.setattr(cv2, "VideoCapture", NoFrames)


def _refused(tmp_path: Path, data: bytes, limits: Limits = LIMITS, name: str = "bomb",
             decode_images: bool = True) -> MediaError:
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(MediaError) as err:
        probe_media(path, name, limits, decode_images=decode_images)
    return err.value


IMAGE_BOMBS = [
    ("webp VP8L 16383x16383", webp_vp8l(16383, 16383)),
    ("webp VP8X 2^24 canvas", webp_vp8x(1 << 24, 1 << 24)),
    ("webp VP8 16383x16383", webp_vp8(16383, 16383)),
    ("tiff II LONG 32768x32768", tiff(32768, 32768)),
    ("tiff MM LONG 32768x32768", tiff(32768, 32768, ">")),
    ("tiff II SHORT 65535x65535", tiff(65535, 65535, "<", 3)),
    ("tiff MM SHORT 65535x65535", tiff(65535, 65535, ">", 3)),
    ("png 100000x100000", png(64, 48)[:16] + struct.pack(">II", 100_000, 100_000)
     + png(64, 48)[24:]),
]


@pytest.mark.parametrize("data", [b[1] for b in IMAGE_BOMBS], ids=[b[0] for b in IMAGE_BOMBS])
@pytest.mark.parametrize("decode_images", [True, False])
def test_image_bomb_refused_from_header(tmp_path: Path, no_decode: None, data: bytes,
                                        decode_images: bool) -> None:
    err = _refused(tmp_path, data, decode_images=decode_images)
    assert err.status == 413
    assert str(LIMITS.max_image_pixels) in err.message and "MAX_IMAGE_PIXELS" in err.message


@pytest.mark.parametrize("data", [tiff(64, 48)[:10] + bytes(24), webp_vp8l(64, 48)[:20]
                                  + b"\x00" + bytes(15)], ids=["tiff no sides", "webp no sig"])
def test_image_without_header_size_is_not_decoded(tmp_path: Path, no_decode: None,
                                                  data: bytes) -> None:
    assert _refused(tmp_path, data).status == 422


WRITTEN = [("webp lossy", ".webp", []), ("webp lossless", ".webp", [cv2.IMWRITE_WEBP_QUALITY, 101]),
           ("tiff", ".tiff", []), ("bmp", ".bmp", []), ("gif", ".gif", []), ("png", ".png", [])]


@pytest.mark.parametrize(("ext", "params"), [w[1:] for w in WRITTEN], ids=[w[0] for w in WRITTEN])
def test_header_size_is_the_decoded_size(ext: str, params: list[int]) -> None:
    ok, buf = cv2.imencode(ext, np.full((37, 91, 3), 128, np.uint8), params)
    assert ok
    data = buf.tobytes()
    mime = probe.sniff(data[:64])[1]
    assert probe._header_size(data, mime) == (91, 37)


def test_os2_bmp_size() -> None:
    header = b"BM" + struct.pack("<I4xI", 26 + 6, 26) + struct.pack("<IHHHH", 12, 300, 200, 1,
                                                                     24)
    assert probe._header_size(header + bytes(6), "image/bmp") == (300, 200)


def _sound(rate: int, channels: int, fmt: str, frames: int = 16) -> bytes:
    out = io.BytesIO()
    sf.write(out, np.zeros((frames, channels), np.float32), rate, format=fmt)
    return out.getvalue()


AUDIO_BOMBS = [
    ("flac 655350 Hz x 8", _sound(655_350, 8, "FLAC"), LIMITS, "MAX_AUDIO_SAMPLE_RATE"),
    ("wav 655350 Hz", _sound(655_350, 1, "WAV"), LIMITS, "MAX_AUDIO_SAMPLE_RATE"),
    ("wav 64 channels", _sound(16_000, 64, "WAV"), LIMITS, "MAX_AUDIO_CHANNELS"),
    ("flac over the sample budget", _sound(16_000, 2, "FLAC", 16_000),
     replace(LIMITS, max_audio_samples=31_999), "MAX_AUDIO_SAMPLES"),
]


@pytest.mark.parametrize(("data", "limits", "named"), [b[1:] for b in AUDIO_BOMBS],
                         ids=[b[0] for b in AUDIO_BOMBS])
def test_audio_bomb_refused_from_header(tmp_path: Path, no_decode: None, data: bytes,
                                        limits: Limits, named: str) -> None:
    err = _refused(tmp_path, data, limits)
    assert err.status == 413 and named in err.message


def test_audio_within_limits_still_probes(tmp_path: Path) -> None:
    path = tmp_path / "ok.flac"
    path.write_bytes(_sound(16_000, 2, "FLAC", 16_000))
    limits = replace(LIMITS, max_audio_samples=32_000, max_audio_channels=2,
                     max_audio_sample_rate=16_000)
    assert probe_media(path, "ok.flac", limits).channels == 2


def _video(tmp_path: Path, frames: int = 10) -> bytes:
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (64, 48))
    for index in range(frames):
        writer.write(np.full((48, 64, 3), index * 20, np.uint8))
    writer.release()
    return path.read_bytes()


VIDEO_BOMBS = [
    ("frame size", {"max_video_pixels": 64 * 48 - 1}, "MAX_VIDEO_PIXELS"),
    ("frame count", {"max_video_frames": 9}, "MAX_VIDEO_FRAMES"),
    ("declared length", {"max_video_seconds": 0.5}, "MAX_VIDEO_SECONDS"),
]


@pytest.mark.parametrize(("limits", "named"), [b[1:] for b in VIDEO_BOMBS],
                         ids=[b[0] for b in VIDEO_BOMBS])
def test_video_refused_from_container_header(tmp_path: Path, limits: dict, named: str,
                                             request: pytest.FixtureRequest) -> None:
    data = _video(tmp_path)
    request.getfixturevalue("no_decode")  # after the clip is written: no frame read from here
    err = _refused(tmp_path, data, replace(LIMITS, **limits), "clip.avi")
    assert err.status == 413 and named in err.message


def test_video_within_limits_still_probes(tmp_path: Path) -> None:
    path = tmp_path / "clip.avi"
    path.write_bytes(_video(tmp_path))
    limits = replace(LIMITS, max_video_pixels=64 * 48, max_video_frames=10, max_video_seconds=1.0)
    assert probe_media(path, "clip.avi", limits).frames == 10


@pytest.mark.parametrize("package", ["steps", "models", "cli", "api"])
def test_opencv_pixel_cap_is_set_before_cv2_loads(package: str) -> None:
    """Importing an entry package first sets OPENCV_IO_MAX_IMAGE_PIXELS from MAX_IMAGE_PIXELS;
    OpenCV then refuses to decode a larger image (3072 pixels over 1000), a 413."""
    script = f"""
import {package}, cv2, numpy as np
from config import Limits
from models.media.probe import MediaError, decode_image_bytes
ok, buf = cv2.imencode(".png", np.zeros((48, 64, 3), np.uint8))
try:
    decode_image_bytes(buf.tobytes(), "image/png", Limits.from_env())
except MediaError as exc:
    print(exc.status, exc.message)
"""
    env = {k: v for k, v in os.environ.items() if k != OPENCV_PIXELS_VAR}
    env["MAX_IMAGE_PIXELS"] = "1000"
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, text=True,
                          capture_output=True, timeout=120, check=True)
    assert done.stdout.startswith("413 ") and "1000 pixels" in done.stdout, done.stderr


def test_scorer_decoder_reports_opencv_cap() -> None:
    """models.features.decode_image turns OpenCV's cap into ImageTooLarge (a 413 there)."""
    script = """
import models, sys, tempfile, cv2, numpy as np
from models.media.decode import ImageTooLarge, decode_image
path = tempfile.mktemp(suffix=".png")
cv2.imwrite(path, np.zeros((48, 64, 3), np.uint8))
try:
    decode_image(path)
except ImageTooLarge as exc:
    print("too large:", exc)
"""
    env = {k: v for k, v in os.environ.items() if k != OPENCV_PIXELS_VAR}
    env["MAX_IMAGE_PIXELS"] = "1000"
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, text=True,
                          capture_output=True, timeout=120, check=True)
    assert done.stdout.startswith("too large:") and "1000" in done.stdout, done.stderr
