"""probe_media: good media of every modality (made here) and every kind of bad input."""

from __future__ import annotations

import io
import zipfile
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest
import soundfile as sf

from config import Limits
from models.media.probe import MediaError, MediaInfo, probe_media, sniff

LIMITS = Limits()
TEXT = "A short paragraph written by a person, long enough to be scored. " * 3


def _image(ext: str, width: int = 64, height: int = 48) -> bytes:
    y, x = np.mgrid[0:height, 0:width]
    img = np.dstack([x * 4 % 256, y * 5 % 256, (x + y) % 256]).astype(np.uint8)
    ok, buf = cv2.imencode(ext, img)
    assert ok
    return buf.tobytes()


def _audio(fmt: str, seconds: float = 1.0, rate: int = 16000) -> bytes:
    t = np.arange(int(seconds * rate)) / rate
    out = io.BytesIO()
    sf.write(out, (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), rate, format=fmt)
    return out.getvalue()


def _video(tmp_path: Path, fourcc: str = "mp4v", ext: str = ".mp4", frames: int = 10) -> bytes:
    path = tmp_path / f"clip{ext}"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), 10.0, (64, 48))
    assert writer.isOpened()
    rng = np.random.default_rng(0)
    for _ in range(frames):  # noise, so that every frame takes room in the file
        writer.write(rng.integers(0, 256, (48, 64, 3), dtype=np.uint8))
    writer.release()
    return path.read_bytes()


def _zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("a.txt", TEXT)
    return out.getvalue()


def _probe(tmp_path: Path, data: bytes, name: str, limits: Limits = LIMITS) -> MediaInfo:
    path = tmp_path / "upload.bin"
    path.write_bytes(data)
    return probe_media(path, name, limits)


@pytest.mark.parametrize(
    ("ext", "mime"),
    [(".png", "image/png"), (".jpg", "image/jpeg"), (".webp", "image/webp"),
     (".bmp", "image/bmp"), (".tiff", "image/tiff"), (".gif", "image/gif")],
)
def test_images(tmp_path: Path, ext: str, mime: str) -> None:
    info = _probe(tmp_path, _image(ext), "x" + ext)
    assert (info.modality, info.mime, info.width, info.height) == ("image", mime, 64, 48)


@pytest.mark.parametrize(("fmt", "mime"), [("WAV", "audio/wav"), ("FLAC", "audio/flac"),
                                           ("OGG", "audio/ogg"), ("MP3", "audio/mpeg")])
def test_audio(tmp_path: Path, fmt: str, mime: str) -> None:
    info = _probe(tmp_path, _audio(fmt), "speech")
    assert (info.modality, info.mime, info.sample_rate) == ("audio", mime, 16000)
    assert info.duration_s == pytest.approx(1.0, abs=0.1)


@pytest.mark.parametrize(("fourcc", "ext", "mime"),
                         [("mp4v", ".mp4", "video/mp4"), ("MJPG", ".avi", "video/x-msvideo"),
                          ("MJPG", ".mkv", "video/x-matroska")])
def test_video(tmp_path: Path, fourcc: str, ext: str, mime: str) -> None:
    info = _probe(tmp_path, _video(tmp_path, fourcc, ext), "clip" + ext)
    assert (info.modality, info.mime, info.width, info.height) == ("video", mime, 64, 48)
    assert info.frames == 10 and info.fps == pytest.approx(10.0)
    assert info.duration_s == pytest.approx(1.0)


@pytest.mark.parametrize("name", ["note.txt", "pasted"])
def test_text(tmp_path: Path, name: str) -> None:
    info = _probe(tmp_path, ("\ufeff" + TEXT + " é ✓").encode(), name)
    assert (info.modality, info.mime) == ("text", "text/plain")
    assert info.as_dict() == {"modality": "text", "mime": "text/plain", "chars": info.chars}


def test_content_wins_over_extension(tmp_path: Path) -> None:
    assert _probe(tmp_path, _image(".png"), "photo.txt").modality == "image"


def _small(**kw) -> Limits:
    return replace(LIMITS, **kw)


BAD = [
    ("empty", lambda p: b"", "a.jpg", LIMITS, 422),
    ("truncated jpeg", lambda p: _image(".jpg")[:-300], "a.jpg", LIMITS, 422),
    ("jpeg without EOI", lambda p: _image(".jpg")[:-2], "a.jpg", LIMITS, 422),
    ("truncated png", lambda p: _image(".png")[:-20], "a.png", LIMITS, 422),
    ("jpeg magic, garbage", lambda p: b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4, "a.jpg",
     LIMITS, 422),
    ("random bytes", lambda p: np.random.default_rng(7).bytes(4096), "a.jpg", LIMITS, 415),
    ("pdf", lambda p: b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n", "a.pdf", LIMITS,
     415),
    ("zip", lambda p: _zip(), "a.zip", LIMITS, 415),
    ("heic", lambda p: b"\0\0\0\x18ftypheic" + bytes(40), "a.heic", LIMITS, 415),
    ("over max_upload_bytes", lambda p: _image(".png"), "a.png", _small(max_upload_bytes=100),
     413),
    ("too many pixels", lambda p: _image(".png"), "a.png", _small(max_image_pixels=1000), 413),
    ("too small image", lambda p: _image(".png", 16, 16), "a.png", LIMITS, 422),
    ("audio too long", lambda p: _audio("WAV", 1.0), "a.wav", _small(max_audio_seconds=0.5), 413),
    ("audio too short", lambda p: _audio("WAV", 0.2), "a.wav", LIMITS, 422),
    ("truncated wav", lambda p: _audio("WAV")[:40], "a.wav", LIMITS, 422),
    ("truncated mp4", lambda p: _video(p)[:-3000], "a.mp4", LIMITS, 422),
    ("truncated avi", lambda p: _video(p, "MJPG", ".avi")[:-3000], "a.avi", LIMITS, 422),
    ("video too long", lambda p: _video(p), "a.mp4", _small(max_video_seconds=0.5), 413),
    ("video too many pixels", lambda p: _video(p), "a.mp4", _small(max_video_pixels=100), 413),
    ("text too short", lambda p: b"tiny", "a.txt", LIMITS, 422),
    ("text too long", lambda p: TEXT.encode(), "a.txt", _small(max_text_chars=50), 413),
    ("latin-1 .txt", lambda p: TEXT.encode() + "caf\xe9".encode("latin-1"), "a.txt", LIMITS,
     422),
    ("binary with NULs", lambda p: b"abc\0\0\0\0def" * 10, "a.dat", LIMITS, 415),
]


@pytest.mark.parametrize(("make", "name", "limits", "status"),
                         [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_inputs(tmp_path: Path, make, name: str, limits: Limits, status: int) -> None:
    with pytest.raises(MediaError) as err:
        _probe(tmp_path, make(tmp_path), name, limits)
    assert err.value.status == status and err.value.message


def test_sniff_unknown_is_none() -> None:
    assert sniff(b"hello world") is None


@pytest.mark.parametrize(("ext", "mime"), [(".png", "image/png"), (".jpg", "image/jpeg")])
def test_header_only_image_probe(tmp_path: Path, ext: str, mime: str) -> None:
    """`decode_images=False` reads a JPEG's or PNG's size from its header, as decoding gives."""
    path = tmp_path / ("x" + ext)
    path.write_bytes(_image(ext, 200, 120))
    fast = probe_media(path, "x" + ext, LIMITS, decode_images=False)
    assert fast == probe_media(path, "x" + ext, LIMITS)
    assert (fast.mime, fast.width, fast.height) == (mime, 200, 120)


@pytest.mark.parametrize(("make", "name", "limits", "status"),
                         [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_inputs_without_image_decode(tmp_path: Path, make, name: str, limits: Limits,
                                         status: int) -> None:
    """The header-only probe refuses every bad input the full probe refuses, the same way."""
    path = tmp_path / "upload.bin"
    path.write_bytes(make(tmp_path))
    with pytest.raises(MediaError) as err:
        probe_media(path, name, limits, decode_images=False)
    assert err.value.status == status and err.value.message


def test_jpeg_only_a_decoder_refuses(tmp_path: Path) -> None:
    """Complete segments but a 13-bit frame: only a decode finds out (the inference service
    does, and answers 422)."""
    data = bytearray(_image(".jpg"))
    sof = data.find(b"\xff\xc0")
    data[sof + 4] = 13
    path = tmp_path / "odd.jpg"
    path.write_bytes(bytes(data))
    assert probe_media(path, "odd.jpg", LIMITS, decode_images=False).width == 64
    with pytest.raises(MediaError) as err:
        probe_media(path, "odd.jpg", LIMITS)
    assert err.value.status == 422


def test_jpeg_size_comes_from_the_frame_header(tmp_path: Path) -> None:
    """A JPEG over the pixel limit is refused from its header, before any decode."""
    path = tmp_path / "big.jpg"
    path.write_bytes(_image(".jpg", 300, 200))
    with pytest.raises(MediaError) as err:
        probe_media(path, "big.jpg", replace(LIMITS, max_image_pixels=300 * 200 - 1),
                    decode_images=False)
    assert err.value.status == 413


@pytest.mark.parametrize(("order", "orientation"), [(">", 6), ("<", 8), (">", 3), ("<", 1)])
def test_header_probe_follows_exif_orientation(tmp_path: Path, order: str,
                                               orientation: int) -> None:
    """OpenCV turns a JPEG by its EXIF orientation when decoding; the header probe reports the
    size decoding gives."""
    import struct

    entry = struct.pack(f"{order}HHIH", 0x0112, 3, 1, orientation) + b"\0\0"
    tiff = ((b"MM\0*" if order == ">" else b"II*\0") + struct.pack(f"{order}I", 8)
            + struct.pack(f"{order}H", 1) + entry + struct.pack(f"{order}I", 0))
    payload = b"Exif\0\0" + tiff
    jpg = _image(".jpg", 64, 48)
    data = jpg[:2] + b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload + jpg[2:]
    path = tmp_path / "turned.jpg"
    path.write_bytes(data)
    fast = probe_media(path, "turned.jpg", LIMITS, decode_images=False)
    assert fast == probe_media(path, "turned.jpg", LIMITS)
    turned = orientation >= 5
    assert (fast.width, fast.height) == ((48, 64) if turned else (64, 48))
