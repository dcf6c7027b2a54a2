"""What distribution does to a video (re-encoding, frame-rate change, resizing, JPEG, exposure)."""

from __future__ import annotations

import functools
import io
from collections.abc import Callable

import av
import cv2
import numpy as np

Video = tuple[list[np.ndarray], float]
"""A decoded clip as `models.features.featurize("video", ...)` takes it: BGR uint8 frames of
one shape, and the frame rate of the sequence."""

BITS_PER_PIXEL = (0.05, 1.0)
"""Encoder bit rate per pixel per frame drawn (log-uniform) for re-encoding. Clips are sampled
at 2 fps, so consecutive frames share little and each needs about what an intra frame costs:
0.05 is starved (blocky, smeared faces), 1.0 close to transparent."""
LOW_BITS_PER_PIXEL = 0.08  # the robustness table's low-bit-rate H.264: visibly blocky
X264_OPTIONS = {"preset": "veryfast", "x264-params": "threads=1:lookahead-threads=1:"
                "sliced-threads=0:sync-lookahead=0:rc-lookahead=0:mbtree=0"}
"""x264 on one thread without its look-ahead: with them, the same clip encoded twice in one
process came out differently (measured); the 6-frame clips gain nothing from look-ahead."""
MIN_BIT_RATE = 8_000  # bits/s: below this the encoders' rate control gives up
CODECS = ("libx264", "mpeg4")  # H.264 as platforms deliver it; MPEG-4 part 2 as old cameras do
MIN_FRAMES_TO_DROP = 4  # halving the frame rate keeps at least 2 frames
RESIZE_SCALE = (0.5, 0.9)  # platforms' downscaling, drawn per clip
MIN_SIDE = 64  # never resized below the detector's crop size (features.PATCH)
JPEG_QUALITY = (50, 95)  # per-frame JPEG (frame grabs, MJPEG cameras), drawn per clip
BRIGHTNESS_GAIN = (0.75, 1.25)  # exposure / tone change, drawn per clip
BRIGHTNESS_GAMMA = (0.8, 1.25)

P_ENCODE = 0.6  # probability of each step of `augment`, the same for both classes
P_FPS_HALF = 0.2
P_RESIZE = 0.3
P_JPEG = 0.35
P_BRIGHTNESS = 0.3


def _check(media: Video) -> tuple[list[np.ndarray], float]:
    frames, fps = media
    if not frames or any(f.ndim != 3 or f.dtype != np.uint8 or f.shape != frames[0].shape
                         for f in frames):
        raise ValueError("a video needs one or more uint8 BGR frames of one shape")
    if not fps > 0:
        raise ValueError(f"a video needs a positive frame rate, got {fps}")
    return list(frames), float(fps)


def reencode(media: Video, codec: str = "libx264", bits_per_pixel: float = 0.1) -> Video:
    """The clip encoded with `codec` (yuv420p) at `bits_per_pixel` per frame, decoded back.
    Odd sizes are edge-padded for the encoder and cropped back: the shape is kept."""
    frames, fps = _check(media)
    if codec not in CODECS:
        raise ValueError(f"unknown codec {codec!r}; expected one of {CODECS}")
    if bits_per_pixel <= 0:
        raise ValueError("bits_per_pixel must be positive")
    h, w = frames[0].shape[:2]
    ph, pw = h + h % 2, w + w % 2
    rate = max(1, round(fps))
    bits = str(max(MIN_BIT_RATE, round(bits_per_pixel * pw * ph * rate)))
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4") as container:
        stream = container.add_stream(codec, rate=rate)
        stream.width, stream.height, stream.pix_fmt = pw, ph, "yuv420p"
        stream.codec_context.thread_count = 1
        stream.options = {"b": bits, "maxrate": bits, "bufsize": str(2 * int(bits)),
                          **(X264_OPTIONS if codec == "libx264" else {})}
        alive = []  # PyAV frames may share the arrays' memory: both kept until the flush
        for k, frame in enumerate(frames):
            padded = cv2.copyMakeBorder(frame, 0, ph - h, 0, pw - w, cv2.BORDER_REPLICATE)
            yuv = cv2.cvtColor(padded, cv2.COLOR_BGR2YUV_I420)  # not FFmpeg's scaler (threaded)
            picture = av.VideoFrame.from_ndarray(yuv, format="yuv420p")
            picture.pts = k
            picture.pict_type = av.video.frame.PictureType.NONE  # the encoder chooses
            alive.append((yuv, picture))
            container.mux(stream.encode(picture))
        container.mux(stream.encode())
    buffer.seek(0)
    with av.open(buffer) as container:
        container.streams.video[0].thread_type = "NONE"
        decoded = [cv2.cvtColor(f.to_ndarray(format="yuv420p"), cv2.COLOR_YUV2BGR_I420)[:h, :w]
                   for f in container.decode(video=0)]
    if len(decoded) != len(frames):
        raise RuntimeError(f"{codec} round trip returned {len(decoded)} of {len(frames)} frames")
    return decoded, fps


def fps_half(media: Video) -> Video:
    """Every other frame at half the frame rate (clips of fewer than MIN_FRAMES_TO_DROP frames
    are returned unchanged: the detector needs two)."""
    frames, fps = _check(media)
    if len(frames) < MIN_FRAMES_TO_DROP:
        return frames, fps
    return frames[::2], fps / 2


def resize(media: Video, scale: float) -> Video:
    """Every frame scaled by `scale` (area interpolation down, bicubic up), at least MIN_SIDE
    pixels on the shorter side."""
    frames, fps = _check(media)
    if scale <= 0:
        raise ValueError("scale must be positive")
    h, w = frames[0].shape[:2]
    scale = max(scale, MIN_SIDE / min(h, w)) if min(h, w) > MIN_SIDE else 1.0
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    if size == (w, h):
        return frames, fps
    kernel = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    return [cv2.resize(f, size, interpolation=kernel) for f in frames], fps


def jpeg_frames(media: Video, quality: int) -> Video:
    """Every frame JPEG-compressed at `quality` and decoded."""
    from models.training.data import jpeg

    frames, fps = _check(media)
    return [jpeg(f, quality) for f in frames], fps


def brightness(media: Video, gain: float, gamma: float = 1.0) -> Video:
    """Every frame's levels mapped by `255 * (gain * v / 255) ** gamma` (exposure and tone)."""
    frames, fps = _check(media)
    if gain <= 0 or gamma <= 0:
        raise ValueError("gain and gamma must be positive")
    lut = np.clip(255.0 * np.clip(gain * np.arange(256) / 255.0, 0, 1) ** gamma, 0, 255)
    table = np.round(lut).astype(np.uint8)
    return [cv2.LUT(f, table) for f in frames], fps


def augment(rng: np.random.Generator, media: Video) -> Video:
    """A random chain of what capture and distribution do to a clip: exposure change, frame
    rate halving, downscaling, then a video codec at a random bit rate or per-frame JPEG.
    The probabilities never depend on the clip's label."""
    if rng.random() < P_BRIGHTNESS:
        media = brightness(media, rng.uniform(*BRIGHTNESS_GAIN), rng.uniform(*BRIGHTNESS_GAMMA))
    if rng.random() < P_FPS_HALF:
        media = fps_half(media)
    if rng.random() < P_RESIZE:
        media = resize(media, rng.uniform(*RESIZE_SCALE))
    if rng.random() < P_ENCODE:
        codec = CODECS[int(rng.integers(len(CODECS)))]
        bpp = float(np.exp(rng.uniform(*np.log(BITS_PER_PIXEL))))
        media = reencode(media, codec, bpp)
    if rng.random() < P_JPEG:
        media = jpeg_frames(media, int(rng.integers(JPEG_QUALITY[0], JPEG_QUALITY[1] + 1)))
    return _check(media)


ROBUSTNESS: dict[str, Callable[[Video], Video]] = {
    "reencode-low-bitrate": functools.partial(reencode, codec="libx264",
                                              bits_per_pixel=LOW_BITS_PER_PIXEL),
    "mpeg4": functools.partial(reencode, codec="mpeg4", bits_per_pixel=0.3),
    "fps-half": fps_half,
    "resize-0.5": functools.partial(resize, scale=0.5),
    "jpeg-60": functools.partial(jpeg_frames, quality=60),
    "darker": functools.partial(brightness, gain=0.7, gamma=1.2),
}
"""Deterministic transforms for `detector evaluate`'s robustness table (both classes)."""
