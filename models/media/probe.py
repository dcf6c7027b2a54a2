"""Probe an upload before it is stored: sniff its type from content, check it decodes and fits."""

from __future__ import annotations

import mmap
import re
import struct
import time
from pathlib import Path
from typing import Literal

import cv2
import numpy as np
import soundfile as sf
from pydantic import BaseModel

from config import OPENCV_CAP_ERROR, Limits
from models.media.container import ContainerError, read_header

Modality = Literal["image", "audio", "video", "text"]
TEXT_SUFFIXES = (".txt", ".text", ".md", ".csv")
_HEAD = 64


class MediaError(Exception):
    """Input the detector cannot take: `status` is 415 (type), 413 (too large) or 422 (broken)."""

    def __init__(self, message: str, status: int = 422):
        super().__init__(message)
        self.message = message
        self.status = status


class MediaInfo(BaseModel):
    """What probing found; the fields that do not apply to the modality stay None."""

    modality: Modality
    mime: str
    width: int | None = None
    height: int | None = None
    duration_s: float | None = None
    fps: float | None = None
    frames: int | None = None
    chars: int | None = None
    sample_rate: int | None = None
    channels: int | None = None

    def as_dict(self) -> dict:
        """The fields that apply, JSON-able."""
        return self.model_dump(exclude_none=True)


def sniff(head: bytes) -> tuple[Modality, str] | None:
    """(modality, mime) from a file's first bytes, or None when no known signature matches.

    Raises MediaError(415) for recognised types the detector does not take (PDF, archives ...).
    """
    if head.startswith(b"\xff\xd8\xff"):
        return "image", "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image", "image/png"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image", "image/gif"
    if head.startswith(b"BM") and len(head) >= 26 and head[6:10] == b"\0\0\0\0":
        return "image", "image/bmp"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "image", "image/tiff"
    if head.startswith(b"RIFF") or head.startswith(b"RF64"):
        riff = {b"WEBP": ("image", "image/webp"), b"WAVE": ("audio", "audio/wav"),
                b"AVI ": ("video", "video/x-msvideo")}
        if head[8:12] in riff:
            return riff[head[8:12]]
    if head.startswith(b"fLaC"):
        return "audio", "audio/flac"
    if head.startswith(b"OggS"):
        return "audio", "audio/ogg"
    if head.startswith(b"FORM") and head[8:12] in (b"AIFF", b"AIFC"):
        return "audio", "audio/aiff"
    if head.startswith(b"ID3") or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE6 == 0xE2):
        return "audio", "audio/mpeg"  # MPEG-1/2 layer III frame sync
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "video", "video/webm" if b"webm" in head else "video/x-matroska"
    if head[4:8] == b"ftyp":
        return _iso_media(head[8:12])
    if head[4:8] in (b"moov", b"mdat", b"wide", b"free", b"skip"):
        return "video", "video/quicktime"
    _reject_known(head)
    return None


def _iso_media(brand: bytes) -> tuple[Modality, str]:
    if brand in (b"heic", b"heix", b"mif1", b"msf1", b"avif", b"avis"):
        raise MediaError("HEIF/AVIF images are not supported; send JPEG, PNG or WebP", 415)
    if brand in (b"M4A ", b"M4B ", b"M4P "):
        raise MediaError("AAC/M4A audio is not supported; send WAV, FLAC, OGG or MP3", 415)
    return "video", "video/quicktime" if brand == b"qt  " else "video/mp4"


_REJECTED = {
    b"%PDF": "PDF documents",
    b"PK\x03\x04": "ZIP archives (and office documents)",
    b"\x1f\x8b": "gzip archives",
    b"7z\xbc\xaf": "7-Zip archives",
    b"Rar!": "RAR archives",
    b"\x7fELF": "executables",
    b"MZ": "executables",
}


def _reject_known(head: bytes) -> None:
    for magic, what in _REJECTED.items():
        if head.startswith(magic):
            raise MediaError(f"{what} are not supported", 415)


def probe_media(path: Path, filename: str, limits: Limits,
                decode_images: bool = True, header_only: bool = False) -> MediaInfo:
    """Sniff, decode and check `path` against `limits`; raise MediaError when it will not do.

    Sizes come from headers first (image sides, audio rate, channels and length, video frame
    size and count): a decompression bomb is refused with a 413 before anything is decoded.

    `decode_images=False`: a JPEG or PNG whose structure is complete (every segment or chunk
    present, end marker included) and whose header gives its size is not decoded (~10-40 ms
    for a 1024x768 JPEG). For callers that decode the image right after and report a failure
    as bad input (the inference service, and the API's sync path that hands it the file).

    `header_only=True` decodes nothing at all (the API, which holds secrets): images and video
    from their headers and structure (MP4/MOV boxes, AVI's main header; Matroska/WebM only by
    size), audio from the header libsndfile reads; the full probe runs in the workers'
    preprocess step. Files are memory-mapped or read in part, never loaded whole to probe."""
    path = Path(path)
    size = path.stat().st_size
    if size == 0:
        raise MediaError("the file is empty", 422)
    if size > limits.max_upload_bytes:
        raise MediaError(f"the file is {size} bytes; the limit is {limits.max_upload_bytes}", 413)
    with path.open("rb") as fh:
        head = fh.read(_HEAD)
    kind = sniff(head)
    if kind is None:
        return _probe_text(path, filename, limits)
    modality, mime = kind
    if modality == "image":
        return _probe_image(path, mime, limits, decode_images and not header_only, header_only)
    if modality == "audio":
        return _probe_audio(path, mime, limits, header_only)
    if header_only:
        return _video_from_header(path, mime, limits)
    return _probe_video(path, mime, limits)


# -- images ---------------------------------------------------------------------------------


def _probe_image(path: Path, mime: str, limits: Limits, decode: bool = True,
                 header_only: bool = False) -> MediaInfo:
    with path.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
        try:
            truncated = _truncated_image(data, mime)
        except struct.error:
            truncated = True
        if truncated:
            raise MediaError(f"the {mime} file is truncated", 422)
        dims = _header_size(data, mime)
    if dims is None:  # no size, no decode: the decoder would allocate whatever it finds
        raise MediaError(f"the {mime} file's header gives no image size", 422)
    _check_pixels(*dims, limits)
    if header_only or (not decode and mime in _HEADER_ONLY):
        return MediaInfo(modality="image", mime=mime, width=dims[0], height=dims[1])
    image = decode_image_bytes(path.read_bytes(), mime, limits)
    height, width = image.shape[:2]
    _check_pixels(width, height, limits)
    return MediaInfo(modality="image", mime=mime, width=width, height=height)


def decode_image_bytes(data: bytes | mmap.mmap, mime: str, limits: Limits) -> np.ndarray:
    """Decode with OpenCV, whose own cap (OPENCV_IO_MAX_IMAGE_PIXELS, set by `config`) is a
    413 too; MediaError(422) when it will not decode."""
    try:
        image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    except cv2.error as exc:
        if OPENCV_CAP_ERROR in str(exc):
            raise MediaError(f"the {mime} image is larger than the decoder's limit of "
                             f"{limits.max_image_pixels} pixels", 413) from exc
        raise MediaError(f"the {mime} file cannot be decoded (corrupt or truncated)",
                         422) from exc
    if image is None or image.size == 0:
        raise MediaError(f"the {mime} file cannot be decoded (corrupt or truncated)", 422)
    return image


def _check_pixels(width: int, height: int, limits: Limits) -> None:
    if width * height > limits.max_image_pixels:
        raise MediaError(
            f"the image is {width}x{height}; the limit is {limits.max_image_pixels} pixels "
            "(MAX_IMAGE_PIXELS)", 413
        )
    if min(width, height) < limits.min_image_side:
        raise MediaError(
            f"the image is {width}x{height}; each side needs {limits.min_image_side} pixels", 422
        )


def _truncated_image(data: bytes | mmap.mmap, mime: str) -> bool:
    if mime == "image/jpeg":
        return not _jpeg_complete(data)
    if mime == "image/png":
        return not _png_complete(data)
    if mime == "image/gif":
        return not bytes(data[-_GIF_TAIL:]).rstrip(b"\0").endswith(b";")
    if mime == "image/webp":
        return struct.unpack_from("<I", data, 4)[0] + 8 > len(data)
    if mime == "image/bmp":
        return struct.unpack_from("<I", data, 2)[0] > len(data)
    return False


_GIF_TAIL = 4096
"""A GIF's trailer (`;`) is looked for in its last bytes (NUL padding allowed)."""


def _jpeg_complete(data: bytes | mmap.mmap) -> bool:
    """Walk the JPEG's segments to its end-of-image marker (data after it is allowed)."""
    pos = 2
    while pos + 2 <= len(data):
        if data[pos] != 0xFF:
            return False
        marker = data[pos + 1]
        if marker == 0xD9:
            return True
        if marker == 0xFF or 0xD0 <= marker <= 0xD8 or marker == 0x01:
            pos += 1 if marker == 0xFF else 2
            continue
        if pos + 4 > len(data):
            return False
        pos += 2 + struct.unpack_from(">H", data, pos + 2)[0]
        if marker == 0xDA:  # entropy-coded data follows: find the next real marker
            while True:
                pos = data.find(b"\xff", pos)
                if pos < 0 or pos + 1 >= len(data):
                    return False
                if data[pos + 1] == 0x00 or 0xD0 <= data[pos + 1] <= 0xD7:
                    pos += 2
                    continue
                break
    return False


def _png_complete(data: bytes | mmap.mmap) -> bool:
    pos = 8
    while pos + 8 <= len(data):
        length, kind = struct.unpack_from(">I4s", data, pos)
        pos += 12 + length
        if kind == b"IEND":
            return pos <= len(data)
    return False


_HEADER_ONLY = ("image/jpeg", "image/png")
"""Image types whose header size and complete structure stand in for a decode when asked."""
_JPEG_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def _exif_orientation(segment: bytes) -> int:
    """The EXIF orientation (1-8) in an APP1 segment's payload; 1 when there is none."""
    if not segment.startswith(b"Exif\0\0") or len(segment) < 14:
        return 1
    tiff = segment[6:]
    order = {b"II": "<", b"MM": ">"}.get(tiff[:2])
    if order is None:
        return 1
    try:
        ifd = struct.unpack_from(f"{order}I", tiff, 4)[0]
        count = struct.unpack_from(f"{order}H", tiff, ifd)[0]
        for index in range(count):
            tag, kind, _, value = struct.unpack_from(f"{order}HHIH", tiff, ifd + 2 + 12 * index)
            if tag == 0x0112 and kind == 3:
                return value if 1 <= value <= 8 else 1
    except struct.error:
        return 1
    return 1


def _jpeg_size(data: bytes | mmap.mmap) -> tuple[int, int] | None:
    """(width, height) from a JPEG's start-of-frame segment (before the first scan), or None
    (no frame header, a height given later by a DNL segment, an odd number of components).

    Width and height are swapped for an EXIF orientation that turns the picture (5-8): the
    decoder (OpenCV) applies it, so this is the size decoding gives."""
    orientation = 1
    pos = 2
    while pos + 4 <= len(data) and data[pos] == 0xFF:
        marker = data[pos + 1]
        if marker == 0xFF:
            pos += 1
            continue
        if marker == 0xDA or marker == 0xD9:
            return None
        if 0xD0 <= marker <= 0xD8 or marker == 0x01:
            pos += 2
            continue
        length = struct.unpack_from(">H", data, pos + 2)[0]
        if marker in _JPEG_SOF:
            if length < 8 or pos + 10 > len(data):
                return None
            height, width = struct.unpack_from(">HH", data, pos + 5)
            components = data[pos + 9]
            if height == 0 or width == 0 or components not in (1, 3, 4):
                return None
            return (height, width) if orientation >= 5 else (width, height)
        if marker == 0xE1 and orientation == 1:
            orientation = _exif_orientation(data[pos + 4 : pos + 2 + length])
        pos += 2 + length
    return None


def _header_size(data: bytes | mmap.mmap, mime: str) -> tuple[int, int] | None:
    """(width, height) from the header, to refuse a decompression bomb before decoding it;
    None when the header gives none."""
    try:
        if mime == "image/jpeg":
            return _jpeg_size(data)
        if mime == "image/png":
            return struct.unpack_from(">II", data, 16) if data[12:16] == b"IHDR" else None
        if mime == "image/gif":
            return struct.unpack_from("<HH", data, 6)
        if mime == "image/bmp":
            return _bmp_size(data)
        if mime == "image/webp":
            return _webp_size(data)
        if mime == "image/tiff":
            return _tiff_size(data)
    except struct.error:
        return None
    return None


def _bmp_size(data: bytes | mmap.mmap) -> tuple[int, int]:
    if struct.unpack_from("<I", data, 14)[0] == _BMP_CORE_HEADER:  # OS/2: 16-bit sides
        return struct.unpack_from("<HH", data, 18)
    width, height = struct.unpack_from("<ii", data, 18)
    return abs(width), abs(height)


_BMP_CORE_HEADER = 12
"""Length of an OS/2 BITMAPCOREHEADER, whose sides are 16-bit (the others' are 32-bit)."""


def _webp_size(data: bytes | mmap.mmap) -> tuple[int, int] | None:
    """The canvas of an extended (VP8X) file, else the lossy (VP8) or lossless (VP8L)
    bitstream's frame size: the first chunk after `RIFF....WEBP`."""
    chunk = data[12:16]
    if chunk == b"VP8X":  # flags, 3 reserved bytes, then 24-bit (width - 1), (height - 1)
        width = int.from_bytes(data[24:27], "little") + 1
        height = int.from_bytes(data[27:30], "little") + 1
        return (width, height) if len(data) >= 30 else None
    if chunk == b"VP8L":  # signature 0x2f, then 14-bit (width - 1), 14-bit (height - 1)
        if data[20:21] != b"\x2f":
            return None
        bits = struct.unpack_from("<I", data, 21)[0]
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8 ":  # 3-byte frame tag, start code 9d 01 2a, 14-bit width and height
        if data[23:26] != b"\x9d\x01\x2a":
            return None
        width, height = struct.unpack_from("<HH", data, 26)
        return width & 0x3FFF, height & 0x3FFF
    return None


_TIFF_WIDTH, _TIFF_LENGTH = 256, 257
_TIFF_SHORT, _TIFF_LONG = 3, 4


def _tiff_size(data: bytes | mmap.mmap) -> tuple[int, int] | None:
    """ImageWidth and ImageLength of the first IFD (the page OpenCV decodes), either byte
    order; None when either is missing."""
    order = "<" if data[:2] == b"II" else ">"
    ifd = struct.unpack_from(f"{order}I", data, 4)[0]
    count = struct.unpack_from(f"{order}H", data, ifd)[0]
    found: dict[int, int] = {}
    for index in range(count):
        entry = ifd + 2 + 12 * index
        tag, kind = struct.unpack_from(f"{order}HH", data, entry)
        if tag in (_TIFF_WIDTH, _TIFF_LENGTH) and kind in (_TIFF_SHORT, _TIFF_LONG):
            fmt = "H" if kind == _TIFF_SHORT else "I"  # left-justified in the value field
            found[tag] = struct.unpack_from(f"{order}{fmt}", data, entry + 8)[0]
    if _TIFF_WIDTH not in found or _TIFF_LENGTH not in found:
        return None
    return found[_TIFF_WIDTH], found[_TIFF_LENGTH]


# -- audio ----------------------------------------------------------------------------------


def _probe_audio(path: Path, mime: str, limits: Limits, header_only: bool = False) -> MediaInfo:
    try:
        with sf.SoundFile(str(path)) as snd:
            frames, rate, channels = snd.frames, snd.samplerate, snd.channels
            if frames <= 0 or rate <= 0 or channels <= 0:
                raise MediaError(f"the {mime} file holds no audio", 422)
            _check_audio_header(frames, rate, channels, limits)
            if header_only:
                raise _HeaderDone
            snd.seek(max(0, frames - 1024))
            if len(snd.read(1024)) == 0:
                raise MediaError(f"the {mime} file is truncated", 422)
    except _HeaderDone:
        pass
    except (RuntimeError, sf.LibsndfileError) as exc:  # its text names the file's path
        raise MediaError(f"the {mime} file cannot be decoded (corrupt, truncated or an "
                         "unsupported encoding)", 422) from exc
    duration = frames / rate
    if duration > limits.max_audio_seconds:
        raise MediaError(
            f"the audio lasts {duration:.1f} s; the limit is {limits.max_audio_seconds} s "
            "(MAX_AUDIO_SECONDS)", 413
        )
    if duration < limits.min_audio_seconds:
        raise MediaError(
            f"the audio lasts {duration:.2f} s; at least {limits.min_audio_seconds} s needed", 422
        )
    return MediaInfo(
        modality="audio", mime=mime, duration_s=round(duration, 3), sample_rate=rate,
        channels=channels, frames=frames,
    )


class _HeaderDone(Exception):
    """Leaves the audio probe's `with` block once the header is checked (header_only)."""


def _check_audio_header(frames: int, rate: int, channels: int, limits: Limits) -> None:
    """Refuse, from the header alone, audio whose decoded samples would not fit."""
    if rate > limits.max_audio_sample_rate:
        raise MediaError(f"the audio is sampled at {rate} Hz; the limit is "
                         f"{limits.max_audio_sample_rate} Hz (MAX_AUDIO_SAMPLE_RATE)", 413)
    if channels > limits.max_audio_channels:
        raise MediaError(f"the audio has {channels} channels; the limit is "
                         f"{limits.max_audio_channels} (MAX_AUDIO_CHANNELS)", 413)
    if frames * channels > limits.max_audio_samples:
        raise MediaError(f"the audio holds {frames * channels} samples; the limit is "
                         f"{limits.max_audio_samples} (MAX_AUDIO_SAMPLES)", 413)


# -- video ----------------------------------------------------------------------------------


def _video_from_header(path: Path, mime: str, limits: Limits) -> MediaInfo:
    """What the container's header declares, checked against the limits; nothing decoded."""
    try:
        header = read_header(path, mime)
    except (ContainerError, ValueError) as exc:
        raise MediaError(f"the {mime} file's header cannot be read ({exc})", 422) from exc
    if header is None:  # Matroska/WebM: the size limit only; the worker's probe decodes
        return MediaInfo(modality="video", mime=mime)
    _check_frame_pixels(header.width, header.height, limits)
    if header.frames > limits.max_video_frames:
        raise MediaError(f"the video declares {header.frames} frames; the limit is "
                         f"{limits.max_video_frames} (MAX_VIDEO_FRAMES)", 413)
    if header.duration_s > limits.max_video_seconds:
        raise MediaError(f"the video declares {header.duration_s:.1f} s; the limit is "
                         f"{limits.max_video_seconds} s (MAX_VIDEO_SECONDS)", 413)
    fps = header.frames / header.duration_s if header.frames and header.duration_s else None
    return MediaInfo(modality="video", mime=mime, width=header.width or None,
                     height=header.height or None, frames=header.frames or None,
                     duration_s=round(header.duration_s, 3) or None,
                     fps=round(fps, 3) if fps and fps <= _MAX_FPS else None)


def _probe_video(path: Path, mime: str, limits: Limits) -> MediaInfo:
    _video_from_header(path, mime, limits)  # a bomb's header is refused before any decode
    cap = cv2.VideoCapture(str(path))
    try:
        if not cap.isOpened():
            raise MediaError(f"the {mime} file cannot be decoded (corrupt or truncated)", 422)
        fps = cap.get(cv2.CAP_PROP_FPS)
        fps = fps if 0 < fps <= _MAX_FPS else _DEFAULT_FPS
        declared = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        _check_video_header(cap, declared, fps, limits)  # before any frame is decoded
        ok, frame = cap.read()
        if not ok or frame is None:
            raise MediaError(f"the {mime} file cannot be decoded (corrupt or truncated)", 422)
        height, width = frame.shape[:2]
        _check_frame_pixels(width, height, limits)
        most = min(int(limits.max_video_seconds * fps) + 2, limits.max_video_frames)
        frames = declared if declared > 0 and _last_frame_reads(cap, declared) else 0
    finally:
        cap.release()
    if frames == 0:  # no usable frame count (some webm/mkv), or the last frame is missing
        frames = _count_frames(path, min(most, declared) if declared > 0 else most, limits)
        # mp4/mov/avi headers count frames exactly; matroska's count is estimated
        exact = mime not in ("video/webm", "video/x-matroska")
        if declared > 0 and frames < (1.0 if exact else 0.9) * min(most, declared):
            raise MediaError(
                f"the {mime} file is truncated: {frames} of {declared} frames decode", 422
            )
    duration = frames / fps
    if duration > limits.max_video_seconds:
        raise MediaError(
            f"the video lasts {duration:.1f} s; the limit is {limits.max_video_seconds} s "
            "(MAX_VIDEO_SECONDS)", 413
        )
    return MediaInfo(
        modality="video", mime=mime, width=width, height=height, fps=round(fps, 3),
        frames=frames, duration_s=round(duration, 3),
    )


_MAX_FPS, _DEFAULT_FPS = 1000.0, 25.0
"""A container's frame rate is believed up to _MAX_FPS; otherwise _DEFAULT_FPS is assumed."""


def _check_video_header(cap: cv2.VideoCapture, declared: int, fps: float,
                        limits: Limits) -> None:
    """Frame size and frame count as the container declares them (0 when it does not)."""
    width = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH))
    height = int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
    _check_frame_pixels(width, height, limits)
    if declared > limits.max_video_frames:
        raise MediaError(f"the video declares {declared} frames; the limit is "
                         f"{limits.max_video_frames} (MAX_VIDEO_FRAMES)", 413)
    if declared / fps > limits.max_video_seconds:
        raise MediaError(f"the video declares {declared / fps:.1f} s; the limit is "
                         f"{limits.max_video_seconds} s (MAX_VIDEO_SECONDS)", 413)


def _check_frame_pixels(width: int, height: int, limits: Limits) -> None:
    if width * height > limits.max_video_pixels:
        raise MediaError(
            f"the video is {width}x{height}; the limit is {limits.max_video_pixels} pixels "
            "a frame (MAX_VIDEO_PIXELS)", 413
        )


def _last_frame_reads(cap: cv2.VideoCapture, frames: int) -> bool:
    if frames > 1:
        cap.set(cv2.CAP_PROP_POS_FRAMES, frames - 1)
    return cap.grab()


def _count_frames(path: Path, most: int, limits: Limits) -> int:
    """Decode up to `most` frames from the start; how many there were. A file that needs more
    than PROBE_MAX_FRAMES frames or PROBE_BUDGET_S seconds to count is refused (413)."""
    cap = cv2.VideoCapture(str(path))
    count = 0
    deadline = time.monotonic() + limits.probe_budget_s
    try:
        while count < most and cap.grab():
            count += 1
            if count >= limits.probe_max_frames and count < most:
                raise MediaError(f"the video cannot be checked within {limits.probe_max_frames}"
                                 " decoded frames (PROBE_MAX_FRAMES)", 413)
            if time.monotonic() > deadline:
                raise MediaError(f"the video cannot be checked within {limits.probe_budget_s} s"
                                 " (PROBE_BUDGET_S)", 413)
    finally:
        cap.release()
    return count


# -- text -----------------------------------------------------------------------------------


_CONTROLS = re.compile("[\x00-\x08\x0e-\x1f]")
"""Control characters other than the whitespace ones (\\t \\n \\v \\f \\r): binary data."""


def _probe_text(path: Path, filename: str, limits: Limits) -> MediaInfo:
    if path.stat().st_size > 4 * limits.max_text_chars + 3:  # UTF-8 uses at most 4 bytes a char
        raise MediaError(f"the text is longer than {limits.max_text_chars} characters", 413)
    named_text = filename.lower().endswith(TEXT_SUFFIXES)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if named_text:
            raise MediaError("the text is not valid UTF-8", 422) from exc
        raise MediaError("unknown or unsupported file type", 415) from exc
    controls = len(_CONTROLS.findall(text))
    if controls > max(2, len(text) // 100):
        raise MediaError("unknown or unsupported file type (binary data)", 415)
    chars = len(text.strip())
    if chars > limits.max_text_chars:
        raise MediaError(f"the text has {chars} characters; the limit is "
                         f"{limits.max_text_chars}", 413)
    if chars < limits.min_text_chars:
        raise MediaError(f"the text has {chars} characters; at least {limits.min_text_chars} "
                         "needed", 422)
    return MediaInfo(modality="text", mime="text/plain", chars=chars)
