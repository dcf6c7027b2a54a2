"""Decoders and per-unit featurisers (image patches, audio segments, video frames, sentences)."""

from __future__ import annotations

import math
import os
import re
import threading
import zlib
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from config import OPENCV_CAP_ERROR, OPENCV_PIXELS_VAR

Features = dict[str, Any]

FEATURE_VERSION = 4
PATCH = 64  # image patches and video crops are PATCH x PATCH pixels
MAX_PATCHES_PER_REGION = 16
SAMPLE_RATE = 16_000
SEGMENT_S = 1.0
N_MELS = 64
HOP = 160  # 10 ms at 16 kHz
N_FFT = 512
SEGMENT_FRAMES = int(SEGMENT_S * SAMPLE_RATE) // HOP + 1  # 101 mel frames per segment
MAX_SEGMENTS = 240
MAX_VIDEO_FRAMES = 16
VIDEO_SAMPLE_FPS = 2.0
MAX_FRAME_SIDE = 1280
TEXT_DIM = 4096  # hashed n-grams (and 16 statistics) of the sentence and its neighbours
TEXT_STATS = 16
DOC_STATS = 16  # document-level statistics, the same for every sentence of a text
NGRAM_IDS = 128  # word 2-gram ids and word 3-gram ids of the window (each), -1 = padding
NGRAM_BITS = 22  # n-gram ids are hashes in [0, 2**22)
LM_STATS = 24  # `models.text_lm.LM_STATS`: fluency under language models of human text
TEXT_WIDTH = TEXT_DIM + DOC_STATS + 2 * NGRAM_IDS + LM_STATS
TEXT_WINDOW = 1  # a unit is a sentence plus this many sentences either side
MAX_SENTENCES = 256
FACE_DETECT_SIDE = 256  # Haar on a 256-pixel grey copy: ~25 ms on one core

_local = threading.local()


# ----------------------------------------------------------------------------- decoders


class ImageTooLarge(ValueError):
    """The image is over OpenCV's pixel cap (OPENCV_IO_MAX_IMAGE_PIXELS, set by `config`)."""


def decode_image(path: str | Path) -> np.ndarray:
    """Read an image file as a BGR uint8 array (alpha dropped, grey expanded)."""
    data = np.fromfile(str(path), dtype=np.uint8)
    try:
        image = cv2.imdecode(data, cv2.IMREAD_COLOR)
    except cv2.error as exc:  # OpenCV asserts its pixel cap; any other failure is bad input
        if OPENCV_CAP_ERROR in str(exc):
            raise ImageTooLarge(f"the image is over the decoder's limit of "
                                f"{os.environ.get(OPENCV_PIXELS_VAR)} pixels") from exc
        raise ValueError(f"cannot decode image {path}") from exc
    if image is None:
        raise ValueError(f"cannot decode image {path}")
    return image


def decode_audio(path: str | Path) -> tuple[np.ndarray, int]:
    """Read an audio file as mono float32 samples resampled to 16 kHz."""
    import librosa

    samples, sr = librosa.load(str(path), sr=SAMPLE_RATE, mono=True)
    return samples.astype(np.float32), int(sr)


WAVEFORM_BUCKETS = 800
"""Columns of a waveform envelope: (min, max) of the samples in each."""


def waveform_envelope(samples: np.ndarray, rate: int) -> dict[str, Any]:
    """`{"duration_s", "peaks": [[min, max], ...]}` (at most WAVEFORM_BUCKETS columns) of mono
    samples: enough to draw the waveform without the sound itself."""
    buckets = max(1, min(WAVEFORM_BUCKETS, len(samples)))
    peaks = [[round(float(part.min()), 4), round(float(part.max()), 4)]
             for part in np.array_split(samples, buckets) if len(part)]
    return {"duration_s": round(len(samples) / rate, 3) if rate else 0.0, "peaks": peaks}


def decode_video(
    path: str | Path, max_frames: int = MAX_VIDEO_FRAMES
) -> tuple[list[np.ndarray], float]:
    """Read up to `max_frames` BGR frames sampled evenly (at most 2 per second).

    The returned rate is that of the sampled sequence: frame `i` is at `i / fps` seconds.
    Frames larger than 1280 pixels on a side are downscaled.
    """
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise ValueError(f"cannot open video {path}")
    try:
        fps = cap.get(cv2.CAP_PROP_FPS) or 25.0
        if not math.isfinite(fps) or fps <= 0:
            fps = 25.0
        count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        step = max(1.0, fps / VIDEO_SAMPLE_FPS)
        if count > 0:
            wanted_n = min(max_frames, max(1, int(count / step)))
            step = max(step, count / wanted_n)
        wanted = {int(round(i * step)) for i in range(max_frames)}
        frames: list[np.ndarray] = []
        index = 0
        last = max(wanted)
        while index <= last and len(frames) < max_frames:
            if not cap.grab():
                break
            if index in wanted:
                ok, frame = cap.retrieve()
                if ok and frame is not None:
                    frames.append(_limit_side(frame, MAX_FRAME_SIDE))
            index += 1
    finally:
        cap.release()
    if not frames:
        raise ValueError(f"no frames decoded from {path}")
    return frames, float(fps / step)


def read_text(path: str | Path) -> str:
    """Read a text file as UTF-8 (undecodable bytes replaced)."""
    return Path(path).read_bytes().decode("utf-8", errors="replace")


# ----------------------------------------------------------------------------- helpers


def _limit_side(image: np.ndarray, side: int) -> np.ndarray:
    h, w = image.shape[:2]
    scale = side / max(h, w)
    if scale >= 1:
        return image
    return cv2.resize(image, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)


def _cascade() -> cv2.CascadeClassifier:
    cascade = getattr(_local, "cascade", None)
    if cascade is None:
        path = Path(cv2.data.haarcascades) / "haarcascade_frontalface_default.xml"
        cascade = cv2.CascadeClassifier(str(path))
        if cascade.empty():
            raise RuntimeError(f"cannot load Haar cascade {path}")
        _local.cascade = cascade
    return cascade


def detect_faces(image: np.ndarray, max_faces: int = 2) -> list[list[int]]:
    """Frontal faces as `[x, y, w, h]` in `image` pixels, largest first (Haar, downscaled grey)."""
    grey = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    h, w = grey.shape
    scale = min(1.0, FACE_DETECT_SIDE / max(h, w))
    small = grey if scale == 1.0 else cv2.resize(
        grey, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA
    )
    small = cv2.equalizeHist(small)
    found = _cascade().detectMultiScale(small, scaleFactor=1.2, minNeighbors=5, minSize=(20, 20))
    boxes = [[int(v / scale) for v in box] for box in (found if len(found) else [])]
    boxes.sort(key=lambda b: b[2] * b[3], reverse=True)
    return boxes[:max_faces]


def _enlarge(box: list[int], factor: float, w: int, h: int) -> list[int]:
    x, y, bw, bh = box
    cx, cy = x + bw / 2, y + bh / 2
    nw, nh = bw * factor, bh * factor
    x0, y0 = max(0, round(cx - nw / 2)), max(0, round(cy - nh / 2))
    x1, y1 = min(w, round(cx + nw / 2)), min(h, round(cy + nh / 2))
    return [x0, y0, x1 - x0, y1 - y0]


def _grid(start: int, length: int, size: int, n_max: int) -> list[int]:
    if length <= size:
        return [start]
    n = min(n_max, math.ceil(length / size))
    return [start + round(i * (length - size) / max(1, n - 1)) for i in range(n)]


NOISE_GRID = 8  # `noise_level` samples NOISE_GRID x NOISE_GRID tiles ...
NOISE_TILE = 34  # ... of this many pixels a side (the 32 x 32 inside each is measured)
_GREY = np.array([0.114, 0.587, 0.299], dtype=np.float32) / 255.0  # BGR weights, as OpenCV's


def noise_level(image_bgr: np.ndarray) -> float:
    """The image's typical high-pass residual: the median |grey - 3x3 Gaussian blur| (0-1 grey
    scale), i.e. its sensor-noise and fine-texture level, measured inside a regular grid of
    NOISE_GRID x NOISE_GRID tiles spread over the whole image (at most ~65k pixels whatever its
    size, so the cost does not grow with the photo)."""
    h, w = image_bgr.shape[:2]
    side = min(NOISE_TILE, h, w)
    ys = np.unique(np.linspace(0, h - side, NOISE_GRID).round().astype(int))
    xs = np.unique(np.linspace(0, w - side, NOISE_GRID).round().astype(int))
    tiles = np.stack([image_bgr[y : y + side, x : x + side] for y in ys for x in xs])
    grey = tiles.astype(np.float32) @ _GREY if tiles.ndim == 4 else tiles / np.float32(255)
    if side < 3:
        return 0.0
    across = 0.25 * grey[:, :, :-2] + 0.5 * grey[:, :, 1:-1] + 0.25 * grey[:, :, 2:]
    blur = 0.25 * across[:, :-2] + 0.5 * across[:, 1:-1] + 0.25 * across[:, 2:]
    return float(np.median(np.abs(grey[:, 1:-1, 1:-1] - blur)))


def relative_to_noise(high: np.ndarray, level: float) -> np.ndarray:
    """A high-pass residual in units of an image's noise `level` (a median absolute residual,
    x1.4826 as for a normal spread), floored so that a flat image does not blow it up."""
    return high / (1.4826 * level + 2e-3)


def patch_channels(patch_bgr: np.ndarray, level: float | None = None) -> np.ndarray:
    """(5, P, P) float32: the BGR patch with its mean colour removed (x2), so that absolute
    colour and brightness (content) matter less; a high-pass residual of the grey patch (x8)
    where resampling, blurring and blending leave their traces; and that residual relative to
    the whole image's `noise_level` (`level`; the patch's own when None), clipped to +-4: a
    region that is smoother or noisier than the rest of its image (a pasted, blurred or
    re-synthesised region) stands out even where the patch lies wholly inside it."""
    bgr = patch_bgr.astype(np.float32) / 255.0
    grey = cv2.cvtColor(patch_bgr, cv2.COLOR_BGR2GRAY).astype(np.float32) / 255.0
    high = grey - cv2.GaussianBlur(grey, (3, 3), 0)
    if level is None:
        level = float(np.median(np.abs(high)))
    relative = np.clip(relative_to_noise(high, level), -8.0, 8.0) * 0.5
    centred = (bgr - bgr.reshape(-1, 3).mean(0)) * 2.0
    return np.concatenate([centred.transpose(2, 0, 1), high[None] * 8.0, relative[None]], axis=0)


def _pad_to(image: np.ndarray, size: int) -> np.ndarray:
    h, w = image.shape[:2]
    if h >= size and w >= size:
        return image
    return cv2.copyMakeBorder(
        image, 0, max(0, size - h), 0, max(0, size - w), cv2.BORDER_REFLECT_101
    )


# ----------------------------------------------------------------------------- image


def image_features(image: np.ndarray) -> Features:
    """Native-resolution 64x64 patches tiled over the faces found, else over the whole image.

    `x`: (N, 5, 64, 64) float32 = `patch_channels` of each patch, relative to the whole image's
    `noise_level`; N <= 16 per region.
    `meta`: `faces` and `patches` as `[x, y, w, h]` boxes in image pixels.
    """
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    image = _pad_to(image[:, :, :3], PATCH)
    h, w = image.shape[:2]
    faces = detect_faces(image)
    level = noise_level(image)
    regions = [_enlarge(face, 1.2, w, h) for face in faces] or [[0, 0, w, h]]
    side = int(math.isqrt(MAX_PATCHES_PER_REGION))
    units, boxes = [], []
    for rx, ry, rw, rh in regions:
        rx, ry = min(rx, w - PATCH), min(ry, h - PATCH)
        rw, rh = max(rw, PATCH), max(rh, PATCH)
        for py in _grid(ry, min(rh, h - ry), PATCH, side):
            for px in _grid(rx, min(rw, w - rx), PATCH, side):
                units.append(patch_channels(image[py : py + PATCH, px : px + PATCH], level))
                boxes.append([px, py, PATCH, PATCH])
    x = np.stack(units).astype(np.float32)
    return {"x": x, "meta": {"faces": faces, "patches": boxes, "size": [w, h]}}


# ----------------------------------------------------------------------------- audio


DITHER_DBFS = -90.0
"""RMS level of a fixed noise added under every segment before analysis: exact digital zeros
(text-to-speech pauses, noise gates) and a recording's -90 dB noise floor then give the same
log-mel floor and the same (random) phase, so digital silence tells nothing about the source."""
DITHER_SEED = 1_000_003  # the dither is one fixed noise, so features stay deterministic


def _dither(length: int) -> np.ndarray:
    noise = getattr(_local, "dither", None)
    if noise is None or len(noise) < length:
        size = max(length, int(SEGMENT_S * SAMPLE_RATE))
        noise = _local.dither = (np.random.default_rng(DITHER_SEED).standard_normal(size)
                                 * 10 ** (DITHER_DBFS / 20)).astype(np.float32)
    return noise[:length]


def log_mel(samples: np.ndarray, sr: int = SAMPLE_RATE) -> np.ndarray:
    """Log-mel spectrogram (64 mels, 10 ms hop) of mono samples at 16 kHz, over the same
    `DITHER_DBFS` floor as `segment_channels`: (64, frames)."""
    import librosa

    if sr != SAMPLE_RATE:
        samples = librosa.resample(samples, orig_sr=sr, target_sr=SAMPLE_RATE)
    samples = np.asarray(samples, dtype=np.float32)
    mel = librosa.feature.melspectrogram(
        y=samples + _dither(len(samples)), sr=SAMPLE_RATE, n_fft=N_FFT, hop_length=HOP,
        n_mels=N_MELS, fmin=20.0, fmax=SAMPLE_RATE / 2, power=2.0,
    )
    return np.log(mel + 1e-8).astype(np.float32)


def _mel_basis() -> np.ndarray:
    basis = getattr(_local, "mel_basis", None)
    if basis is None:
        import librosa

        basis = _local.mel_basis = librosa.filters.mel(
            sr=SAMPLE_RATE, n_fft=N_FFT, n_mels=N_MELS, fmin=20.0, fmax=SAMPLE_RATE / 2
        ).astype(np.float64)
    return basis


def _wrap(phase: np.ndarray) -> np.ndarray:
    return (phase + np.pi) % (2 * np.pi) - np.pi


def segment_channels(samples: np.ndarray) -> np.ndarray:
    """(2, 64, 101) float32 of one 1 s segment, from one STFT (512-point, 10 ms hop):

    0. the log-mel spectrogram, standardised (loudness removed);
    1. phase incoherence per mel band: how irregularly each bin's phase advances from frame to
       frame (the wrapped second difference of the phase, |.|/pi: ~0 for a steady partial, 0.5
       for random phase), averaged within the band weighted by power. Natural speech keeps
       its partials' phase coherent; a vocoder that re-estimates phase from magnitudes
       (Griffin-Lim) or invents it does not, while the magnitude looks right. Centred on
       0.25 and scaled x4, not standardised, because its level is the evidence.

    A fixed `DITHER_DBFS` noise is added first, so that digital silence is not evidence.
    """
    import librosa

    samples = np.asarray(samples, dtype=np.float32)
    spec = librosa.stft(samples + _dither(len(samples)), n_fft=N_FFT, hop_length=HOP)
    spec = spec[:, :SEGMENT_FRAMES]
    power = np.abs(spec).astype(np.float64) ** 2
    basis = _mel_basis()
    mel = np.log(basis @ power + 1e-8)
    mel = (mel - mel.mean()) / (mel.std() + 1e-5)
    bins = np.arange(spec.shape[0])[:, None]
    advance = _wrap(np.diff(np.angle(spec), axis=1) - 2 * np.pi * bins * HOP / N_FFT)
    irregular = np.abs(_wrap(np.diff(advance, axis=1))) / np.pi
    weight = power[:, 1:-1]
    band = (basis @ (weight * irregular)) / (basis @ weight + 1e-12 * weight.max() + 1e-20)
    band = np.pad(band, ((0, 0), (1, 1)), mode="edge") if band.shape[1] else np.full_like(
        mel, 0.5)
    phase = (band - 0.25) * 4.0
    return np.stack([mel, phase]).astype(np.float32)


def audio_features(decoded: tuple[np.ndarray, int]) -> Features:
    """`segment_channels` per 1 s segment: standardised log-mel and phase incoherence.

    `x`: (N, 2, 64, 101) float32; `meta.segments`: `[start_s, end_s]` per segment (N <= 240,
    spread evenly over long audio).
    """
    samples, sr = decoded
    samples = np.asarray(samples, dtype=np.float32)
    if samples.ndim > 1:
        samples = samples.mean(axis=0 if samples.shape[0] < samples.shape[-1] else 1)
    if sr != SAMPLE_RATE:
        import librosa

        samples = librosa.resample(samples, orig_sr=sr, target_sr=SAMPLE_RATE)
    seg = int(SEGMENT_S * SAMPLE_RATE)
    duration = len(samples) / SAMPLE_RATE
    if len(samples) < seg:
        samples = np.pad(samples, (0, seg - len(samples)))
    n = max(1, len(samples) // seg)
    if len(samples) - n * seg > seg // 2:
        n += 1  # a last, partial segment of more than half a second gets its own unit
    starts = np.linspace(0, len(samples) - seg, n).round().astype(int)
    if n > MAX_SEGMENTS:
        starts = starts[np.linspace(0, n - 1, MAX_SEGMENTS).round().astype(int)]
    units, times = [], []
    for s in starts:
        units.append(segment_channels(samples[s : s + seg]))
        end = min(duration, (s + seg) / SAMPLE_RATE)
        times.append([round(float(s) / SAMPLE_RATE, 3), round(float(end), 3)])
    return {"x": np.stack(units).astype(np.float32), "meta": {"segments": times,
                                                             "duration_s": round(duration, 3)}}


# ----------------------------------------------------------------------------- video


def detail_map(frame: np.ndarray, box: list[int]) -> np.ndarray:
    """(P, P) float32: the magnitude of the frame's native-resolution high-pass residual
    relative to the whole frame's `noise_level`, over `box`, area-resized to PATCH (x0.5,
    clipped to 4). Resizing the crop itself would erase the fine detail that an up-sampled or
    blurred region lacks; resizing the detail *energy* keeps where it is missing."""
    grey = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY).astype(np.float32) / 255.0
    high = np.abs(grey - cv2.GaussianBlur(grey, (3, 3), 0))
    relative = relative_to_noise(high, float(np.median(high)))
    x, y, w, h = box
    local = cv2.resize(relative[y : y + h, x : x + w], (PATCH, PATCH),
                       interpolation=cv2.INTER_AREA)
    return np.minimum(local * 0.5, 4.0).astype(np.float32)


def video_features(decoded: tuple[list[np.ndarray], float]) -> Features:
    """Per sampled frame: the largest face (else a centre square) resized to 64x64 with its mean
    colour removed (x2), plus the grey difference of that crop from the previous sampled frame
    (temporal signal: flicker) and the crop's `detail_map` (native-resolution sharpness).

    `x`: (T, 5, 64, 64) float32; `meta`: `times` (s), `faces` per frame, `crops` boxes.
    """
    frames, fps = decoded
    frames = [f if f.ndim == 3 else cv2.cvtColor(f, cv2.COLOR_GRAY2BGR) for f in frames]
    crops, boxes, faces_per_frame, greys = [], [], [], []
    for frame in frames:
        h, w = frame.shape[:2]
        faces = detect_faces(frame, max_faces=1)
        if faces:
            box = _enlarge(faces[0], 1.3, w, h)
        else:
            side = min(h, w)
            box = [(w - side) // 2, (h - side) // 2, side, side]
        faces_per_frame.append(faces)
        boxes.append(box)
        crops.append(_crop_resize(frame, box))
    for i in range(len(frames)):
        j = i - 1 if i > 0 else min(1, len(frames) - 1)
        other = _crop_resize(frames[j], boxes[i]) if j != i else crops[i]
        greys.append(
            (cv2.cvtColor(crops[i], cv2.COLOR_BGR2GRAY).astype(np.float32)
             - cv2.cvtColor(other, cv2.COLOR_BGR2GRAY).astype(np.float32)) / 64.0
        )
    units = [
        np.concatenate([_centred(crop), diff[None], detail_map(frame, box)[None]])
        for crop, diff, frame, box in zip(crops, greys, frames, boxes, strict=True)
    ]
    times = [round(i / fps, 3) if fps > 0 else float(i) for i in range(len(frames))]
    return {
        "x": np.stack(units).astype(np.float32),
        "meta": {"times": times, "faces": faces_per_frame, "crops": boxes, "fps": float(fps)},
    }


def _centred(crop: np.ndarray) -> np.ndarray:
    """BGR / 255 with the crop's mean colour removed, x2: (3, P, P)."""
    bgr = crop.astype(np.float32) / 255.0
    return ((bgr - bgr.reshape(-1, 3).mean(0)) * 2.0).transpose(2, 0, 1)


def _crop_resize(frame: np.ndarray, box: list[int]) -> np.ndarray:
    x, y, w, h = box
    crop = frame[y : y + h, x : x + w]
    return cv2.resize(crop, (PATCH, PATCH), interpolation=cv2.INTER_AREA)


# ----------------------------------------------------------------------------- text

_PUNCT = re.compile(r"[^\w\s]")


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Sentence spans with NLTK's untrained Punkt tokenizer (works offline)."""
    from nltk.tokenize.punkt import PunktSentenceTokenizer

    tokenizer = getattr(_local, "punkt", None)
    if tokenizer is None:
        tokenizer = _local.punkt = PunktSentenceTokenizer()
    spans = [(s, e) for s, e in tokenizer.span_tokenize(text) if text[s:e].strip()]
    return spans or [(0, len(text))]


def _bucket(token: str) -> int:
    return TEXT_STATS + zlib.crc32(token.encode("utf-8", "replace")) % (TEXT_DIM - TEXT_STATS)


HASH_CACHE_SIZE = 200_000
"""Tokens whose bucket (or n-gram id) is remembered per process; the caches are emptied when
they reach this size. Each text unit is a window of 3 sentences, so every n-gram is hashed ~3
times, and common n-grams recur across texts: the crc32 calls were ~30% of text featurising."""
_buckets: dict[str, int] = {}
_ngram_hashes: dict[str, int] = {}


def _bucket_ids(tokens: list[str]) -> list[int]:
    """`_bucket` of each token, through the per-process cache."""
    cache = _buckets
    if len(cache) > HASH_CACHE_SIZE:
        cache.clear()
    out = []
    for token in tokens:
        bucket = cache.get(token)
        if bucket is None:
            bucket = cache[token] = _bucket(token)
        out.append(bucket)
    return out


def _wordpunct() -> Any:
    """NLTK's `wordpunct_tokenize` pattern, compiled by the same `regex` engine with the same
    flags (NLTK depends on `regex`), without NLTK's per-call timeout wrapper: ~5x faster."""
    pattern = getattr(_local, "wordpunct", None)
    if pattern is None:
        import regex

        pattern = _local.wordpunct = regex.compile(
            r"\w+|[^\w\s]+", regex.UNICODE | regex.MULTILINE | regex.DOTALL)
    return pattern


def _crc_table() -> np.ndarray:
    table = np.zeros(256, dtype=np.uint32)
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ (0xEDB88320 if c & 1 else 0)
        table[i] = c
    return table


_CRC_TABLE = _crc_table()
"""The table of zlib's CRC-32 (reflected polynomial 0xEDB88320), for `_char_gram_ids`."""


def _char_gram_ids(low: str, n: int) -> np.ndarray:
    """`_bucket("c" + low[i : i + n])` for every i, as int64.

    For ASCII text (one byte a character) zlib's CRC-32 is computed for all positions at once,
    byte by byte with numpy: the same numbers as `zlib.crc32`, ~50x faster than a Python loop.
    Other text goes through `_bucket_ids`."""
    count = len(low) - n + 1
    if count <= 0:
        return np.zeros(0, dtype=np.int64)
    if not low.isascii():
        return np.fromiter(_bucket_ids([f"c{low[i : i + n]}" for i in range(count)]),
                           dtype=np.int64, count=count)
    data = np.frombuffer(low.encode("ascii"), dtype=np.uint8).astype(np.uint32)
    table = _CRC_TABLE
    start = int(table[(0xFFFFFFFF ^ ord("c")) & 0xFF] ^ (0xFFFFFFFF >> 8))  # after the "c"
    crc = np.full(count, start, dtype=np.uint32)
    for k in range(n):
        crc = table[(crc ^ data[k : k + count]) & 0xFF] ^ (crc >> 8)
    crc ^= np.uint32(0xFFFFFFFF)
    return TEXT_STATS + (crc.astype(np.int64) % (TEXT_DIM - TEXT_STATS))


class _CharGrams:
    """The hashed char 2-4-grams of a whole text, so that each window's are a slice of them.

    A window's char n-grams are those of `" " + its flattened, lower-cased text + " "`. Where
    that string occurs in the same form of the whole text, its n-grams are the ones starting
    there: each n-gram is then hashed once, not once for each of the 3 windows that hold it.
    `counts` checks the strings are equal and answers None when they are not (e.g. a window
    that begins inside a word), and the caller hashes that window itself.
    """

    def __init__(self, text: str) -> None:
        self.low = f" {' '.join(text.split()).lower()} "
        self.ids = {n: _char_gram_ids(self.low, n) for n in (2, 3, 4)}
        self._hint = 0

    def counts(self, low: str) -> np.ndarray | None:
        """Counts per bucket of the char n-grams of `low` (a window's padded lower-case text)."""
        pos = self.low.find(low, max(0, self._hint - 1))
        if pos < 0:
            pos = self.low.find(low)
        if pos < 0:
            return None
        self._hint = pos
        ids = [self.ids[n][pos : pos + len(low) - n + 1] for n in (2, 3, 4)]
        return np.bincount(np.concatenate(ids), minlength=TEXT_DIM)


def sentence_vector(sentence: str, grams: _CharGrams | None = None) -> np.ndarray:
    """Hashed char 2-4-grams and word 1-2-grams (log counts, L2-normalised) plus 16 statistics.

    Counts are integers, so counting them with `np.bincount` gives the very float32 values that
    adding 1.0 per n-gram gave (the committed weights were trained on those). `grams` (the
    whole text's, from `text_features`) spares hashing the char n-grams again."""
    flat = " ".join(sentence.split())
    low = f" {flat.lower()} "
    words = [w.lower() for w in _wordpunct().findall(flat)]
    tokens = [f"w{w}" for w in words]
    tokens += [f"b{a} {b}" for a, b in zip(words, words[1:], strict=False)]
    counts = grams.counts(low) if grams is not None else None
    if counts is None:
        counts = np.bincount(np.concatenate([_char_gram_ids(low, n) for n in (2, 3, 4)]),
                             minlength=TEXT_DIM)
    ids = np.fromiter(_bucket_ids(tokens), dtype=np.int64, count=len(tokens))
    vec = (counts + np.bincount(ids, minlength=TEXT_DIM)).astype(np.float32)
    hashed = np.log1p(vec[TEXT_STATS:])
    vec[TEXT_STATS:] = hashed / (np.linalg.norm(hashed) + 1e-6)
    n_chars = max(1, len(flat))
    alpha = [w for w in words if w.isalpha()]
    vec[:TEXT_STATS] = [
        math.log1p(len(words)) / 4,
        math.log1p(n_chars) / 6,
        len(_PUNCT.findall(flat)) / n_chars * 5,
        sum(map(str.isupper, flat)) / n_chars * 5,
        sum(map(str.isdigit, flat)) / n_chars * 5,
        (sum(map(len, alpha)) / len(alpha) / 8) if alpha else 0.0,  # = np.mean: exact int sum
        (flat.count('"') % 2),
        float(flat.count("(") != flat.count(")")),
        float(flat[:1].isupper()),
        float(flat[-1:] in ".!?\"')"),
        flat.count(",") / max(1, len(words)) * 3,
        len(set(alpha)) / max(1, len(alpha)),
        float("--" in flat),
        flat.count(":") / max(1, len(words)) * 5,
        flat.count(";") / max(1, len(words)) * 5,
        float(len(sentence.splitlines()) > 1),
    ]
    return vec


_FUNCTION_WORDS = frozenset(
    "the a an of to in and or but is are was were be been it its this that these those he she "
    "they we you i me my your his her their our not no so as at by for from with on if then "
    "than there what which who when where how all any some".split()
)
_EDGE_PUNCT = re.compile(r"^[^\w]+|[^\w]+$")


def ngram_tokens(text: str) -> list[str]:
    """Lower-cased whitespace tokens with surrounding punctuation removed (the unit a word
    Markov chain works on)."""
    tokens = (_EDGE_PUNCT.sub("", t.lower()) for t in text.split())
    return [t for t in tokens if t]


def ngram_ids(tokens: list[str], n: int) -> list[int]:
    """Hash ids in `[0, 2**NGRAM_BITS)` of the word n-grams of `tokens`."""
    size = 1 << NGRAM_BITS
    cache = _ngram_hashes
    if len(cache) > HASH_CACHE_SIZE:
        cache.clear()
    out = []
    for i in range(len(tokens) - n + 1):
        key = f"{n}|{' '.join(tokens[i : i + n])}"
        value = cache.get(key)
        if value is None:
            value = cache[key] = zlib.crc32(key.encode("utf-8", "replace")) % size
        out.append(value)
    return out


def document_stats(text: str, spans: list[tuple[int, int]]) -> np.ndarray:
    """16 statistics of the whole text that see incoherence: sentence-length spread,
    function-word rate, type/token ratio, repeated words and bigrams, punctuation balance."""
    words = ngram_tokens(text)
    n = max(1, len(words))
    lengths = np.array([len(text[s:e].split()) for s, e in spans], dtype=np.float64)
    bigrams = list(zip(words, words[1:], strict=False))
    starts_upper = [text[s:e].lstrip()[:1].isupper() for s, e in spans]
    ends_stop = [text[s:e].rstrip()[-1:] in ".!?\"')" for s, e in spans]
    alpha = [w for w in words if w.isalpha()]
    return np.array([
        math.log1p(len(words)) / 5,
        math.log1p(len(spans)) / 3,
        float(lengths.std() / (lengths.mean() + 1e-6)) if len(lengths) > 1 else 0.0,
        math.log1p(float(lengths.mean())) / 4,
        sum(w in _FUNCTION_WORDS for w in words) / n * 2,
        len(set(words)) / n,
        1.0 - len(set(bigrams)) / max(1, len(bigrams)),
        float(np.mean(starts_upper)),
        float(np.mean(ends_stop)),
        float(text.count('"') % 2),
        float(text.count("(") != text.count(")")),
        sum(w in {"i", "you", "we", "me", "my", "your"} for w in words) / n * 5,
        (float(np.mean([len(w) for w in alpha])) / 8) if alpha else 0.0,
        text.count(",") / n * 3,
        sum(map(str.isupper, text)) / max(1, len(text)) * 5,
        float(len(words) < 8),
    ], dtype=np.float32)


def text_features(text: str) -> Features:
    """One vector per sentence that also sees its neighbours (a window of up to 3 sentences).

    `x`: (N, TEXT_WIDTH) float32 (N <= 256, the first sentences) = hashed char/word n-grams of
    the window (`sentence_vector`), `document_stats` of the whole text, then the hash ids of
    the window's word 2-grams and 3-grams (`NGRAM_IDS` each, -1 padded) that the network looks
    up in its tables of n-grams seen in human text, then `LM_STATS` fluency statistics of the
    window and the document under language models of human text (`models.text_lm`).
    `meta.sentences`: `text`, `start`, `end` character offsets per unit (the centre sentence).
    """
    from models.text_lm import lm_features

    spans = split_sentences(text)[:MAX_SENTENCES]
    doc = document_stats(text, spans)
    grams = _CharGrams(text[: spans[-1][1]])
    words = _WordGrams(text, spans)
    x = np.full((len(spans), TEXT_WIDTH), -1.0, dtype=np.float32)
    x[:, TEXT_DIM : TEXT_DIM + DOC_STATS] = doc
    for i, _ in enumerate(spans):
        lo, hi = max(0, i - TEXT_WINDOW), min(len(spans) - 1, i + TEXT_WINDOW)
        window = text[spans[lo][0] : spans[hi][1]]
        x[i, :TEXT_DIM] = sentence_vector(window, grams)
        tokens = ngram_tokens(window)
        ids = words.ids(lo, tokens)
        for k, n in enumerate((2, 3)):
            found = ids[n] if ids is not None else ngram_ids(tokens, n)
            found = found[:NGRAM_IDS]
            start = TEXT_DIM + DOC_STATS + k * NGRAM_IDS
            x[i, start : start + len(found)] = found
    x[:, TEXT_WIDTH - LM_STATS :] = lm_features(text, spans, TEXT_WINDOW)
    sentences = [{"text": text[s:e][:500], "start": s, "end": e} for s, e in spans]
    return {"x": x, "meta": {"sentences": sentences}}


class _WordGrams:
    """The word 2-gram and 3-gram ids of a whole text, so that each window's are a slice.

    The text is cut at the sentence starts; where a window's `ngram_tokens` are the tokens of
    those pieces from its first sentence on (checked: a word cut by a sentence start would
    differ), its ids are the ones starting there, each hashed once instead of 3 times.
    """

    def __init__(self, text: str, spans: list[tuple[int, int]]) -> None:
        starts = [s for s, _ in spans]
        ends = starts[1:] + [spans[-1][1]]
        self.tokens: list[str] = []
        self.first: list[int] = []
        for start, end in zip(starts, ends, strict=True):
            self.first.append(len(self.tokens))
            self.tokens += ngram_tokens(text[start:end])
        self._ids = {n: np.array(ngram_ids(self.tokens, n), dtype=np.int64) for n in (2, 3)}

    def ids(self, sentence: int, tokens: list[str]) -> dict[int, np.ndarray] | None:
        """The 2-gram and 3-gram ids of `tokens`, a window's tokens from `sentence` on; None
        when they are not the whole text's tokens there."""
        first = self.first[sentence]
        if self.tokens[first : first + len(tokens)] != tokens:
            return None
        return {n: self._ids[n][first : first + max(0, len(tokens) - n + 1)] for n in (2, 3)}


_FEATURIZERS = {
    "image": image_features,
    "audio": audio_features,
    "video": video_features,
    "text": text_features,
}


def featurize(modality: str, decoded: Any) -> Features:
    """Features of decoded media: `x` (float32 model input, one row per unit) and `meta`."""
    if modality not in _FEATURIZERS:
        raise ValueError(f"unknown modality {modality!r}")
    return _FEATURIZERS[modality](decoded)


def decode(modality: str, path: str | Path) -> Any:
    """Decode a file of the given modality into what `featurize` expects."""
    decoders = {"image": decode_image, "audio": decode_audio, "video": decode_video,
                "text": read_text}
    if modality not in decoders:
        raise ValueError(f"unknown modality {modality!r}")
    return decoders[modality](path)
