"""Whether decoded media is something a detector was built for; if not, a (code, reason) pair."""

from __future__ import annotations

import re
from typing import Any

import cv2
import numpy as np

from models.features.audio import SEGMENT_S
from models.features.image import PATCH

NotApplicable = tuple[str, str]
"""(machine `reason_code`, short human `reason`)."""

# ----------------------------------------------------------------------------- image

MIN_IMAGE_SIDE = PATCH
"""The image model reads PATCH x PATCH patches; a smaller side would be mostly padding."""
ANALYSIS_SIDE = 1024
"""Flatness is measured on every n-th pixel so the longest side is at most this: a subsample
keeps each pixel's noise (a resize would average it away) and bounds the cost (~2 ms)."""
TILE = 32
"""Texture is judged per TILE x TILE tile: half a model patch, so a flat patch shows."""
TEXTURE_STD_FLOOR = 2.0
"""A tile with a grey-level standard deviation at or below this is flat. Camera noise alone
keeps photo tiles above ~2 (opencv-doc photos: >= 80% of tiles textured); a flat colour,
even JPEG-compressed, stays below 1."""
MIN_TEXTURED_SHARE = 0.05
"""Below this share of textured tiles the picture is a blank, a flat colour or a tiny mark on
one: nothing for the patch model to read."""
BACKGROUND_TOLERANCE = 2
"""Grey levels either side of the most common one that count as that flat background."""
SCREEN_BACKGROUND_SHARE = 0.5
"""A screenshot or drawing: at least this share of all pixels is one exact flat colour. No
opencv-doc photograph goes above 0.38 (sensor noise spreads any colour over many levels);
rendered text and logos are 0.5-0.9."""
SCREEN_MARKS_SHARE = 0.5
"""...and even the textured tiles are mostly that background: thin sharp marks (glyphs, lines)
on it, unlike a photographed object on a studio backdrop (textured tiles mostly object)."""


def image(bgr: np.ndarray) -> NotApplicable | None:
    """None for an image the image model applies to, else why not."""
    if bgr.ndim < 2 or bgr.size == 0:
        raise ValueError("an image needs at least one pixel")
    height, width = bgr.shape[:2]
    if min(height, width) < MIN_IMAGE_SIDE:
        return ("image_too_small",
                f"The image is {width}x{height} pixels; the detector needs at least "
                f"{MIN_IMAGE_SIDE} on each side.")
    textured, background, marks = _texture(bgr)
    if textured < MIN_TEXTURED_SHARE:
        return ("image_flat",
                "The image is blank or almost one flat colour: there is no texture to examine.")
    if background >= SCREEN_BACKGROUND_SHARE and marks >= SCREEN_MARKS_SHARE:
        return ("image_screenshot",
                "The image is mostly one flat colour with sharp marks on it (a screenshot of "
                "text or a drawing), not a photograph.")
    return None


def _texture(bgr: np.ndarray) -> tuple[float, float, float]:
    """(share of textured tiles, share of pixels on the flat background colour, share of the
    textured tiles' pixels on that colour)."""
    grey = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY) if bgr.ndim == 3 else bgr
    step = max(1, -(-max(grey.shape) // ANALYSIS_SIDE))
    grey = grey[::step, ::step]
    rows, cols = max(1, grey.shape[0] // TILE), max(1, grey.shape[1] // TILE)
    th, tw = min(TILE, grey.shape[0]), min(TILE, grey.shape[1])
    grey = np.ascontiguousarray(grey[: rows * th, : cols * tw])
    tiles = grey.reshape(rows, th, cols, tw).astype(np.float32)
    textured = tiles.std(axis=(1, 3)) > TEXTURE_STD_FLOOR
    mode = int(np.bincount(grey.reshape(-1), minlength=256).argmax())
    on_background = np.abs(tiles - mode) <= BACKGROUND_TOLERANCE
    background = float(on_background.mean())
    per_tile = on_background.mean(axis=(1, 3))
    marks = float(per_tile[textured].mean()) if textured.any() else 0.0
    return float(textured.mean()), background, marks


# ----------------------------------------------------------------------------- audio

SILENCE_PEAK = 10 ** (-60 / 20)
"""A clip whose loudest sample is under -60 dBFS is silence (16-bit dither is ~-90 dBFS): no
need to run the speech detector."""
MIN_SPEECH_S = SEGMENT_S
"""Speech needed for a verdict: one audio unit's worth (the model scores 1 s segments) ..."""
MIN_SPEECH_SHARE = 0.5
"""... or, in a clip shorter than 2 s, half of it: a 1.1 s spoken word has 0.8 s of speech."""


def audio(decoded: tuple[np.ndarray, int]) -> NotApplicable | None:
    """None for audio with enough speech in it (Silero VAD), else why not."""
    from models.features.speech import speech_seconds

    samples, sr = decoded
    samples = np.asarray(samples, dtype=np.float32).reshape(-1)
    if sr <= 0 or len(samples) == 0:
        raise ValueError("audio needs a positive sample rate and at least one sample")
    if float(np.max(np.abs(samples))) < SILENCE_PEAK:
        return "audio_silent", "The audio is silent."
    duration = len(samples) / sr
    needed = min(MIN_SPEECH_S, MIN_SPEECH_SHARE * duration)
    found = speech_seconds(samples, sr)
    if found < needed:
        return ("audio_no_speech",
                f"The audio has {found:.1f} s of speech (the detector needs {needed:.1f} s); "
                "music, noise and silence are not what it was built for.")
    return None


# ----------------------------------------------------------------------------- video


def video(decoded: tuple[list[np.ndarray], float]) -> NotApplicable | None:
    """None when at least one sampled frame is a usable picture, else why not."""
    frames, _ = decoded
    if not frames:
        return "video_no_frames", "No frame of the video could be decoded."
    reasons = [image(frame) for frame in frames]
    if any(reason is None for reason in reasons):
        return None
    if all(reason[0] == "image_too_small" for reason in reasons if reason is not None):
        height, width = frames[0].shape[:2]
        return ("video_too_small",
                f"The video is {width}x{height} pixels; the detector needs at least "
                f"{MIN_IMAGE_SIDE} on each side.")
    return ("video_no_usable_frames",
            "Every sampled frame of the video is blank, one flat colour or a screen of text.")


# ----------------------------------------------------------------------------- text

MIN_WORDS = 8
"""Fewer words than this give the text model (sentence units, n-gram and fluency statistics)
too little to read; it was trained on paragraphs of prose."""
MIN_SENTENCE_WORDS = 3
"""A full sentence: at least this many words, then `.`, `!`, `?` or `…`."""
MIN_ENGLISH_SHARE = 0.2
"""English prose: at least this share of its words are common English function words. English
paragraphs score 0.35-0.55; German, French, Spanish and Italian ones 0.0-0.1 (see the tests)."""
MIN_ASCII_LETTER_SHARE = 0.8
"""English letters are ASCII (a few accented loanwords aside); a text with fewer is in another
script (Chinese has no spaces to count words by, so this comes before the word count)."""
ENGLISH_FUNCTION_WORDS = frozenset("""
a about after all also an and any are as at be because been but by can could did do does for
from had has have he her him his how i if in into is it its just me my no not of on one or our
out she so some than that the their them then there these they this those to up was we were
what when which who will with would you your
""".split())
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")
_SENTENCE = re.compile(r"[^\W\d_]+(?:[\s,;:'\"()-]+[^\W\d_]+){" + str(MIN_SENTENCE_WORDS - 1)
                       + r",}\s*[.!?…]")


def text(content: str) -> NotApplicable | None:
    """None for English prose of at least a sentence, else why not."""
    if not isinstance(content, str):
        raise ValueError(f"text must be a str, not {type(content).__name__}")
    letters = [c for c in content if c.isalpha()]
    if letters and sum(c.isascii() for c in letters) < MIN_ASCII_LETTER_SHARE * len(letters):
        return ("text_not_english",
                "The text is not written in the Latin alphabet; the detector was trained on "
                "English prose.")
    words = _WORD.findall(content.lower())
    if len(words) < MIN_WORDS:
        return ("text_too_short",
                f"The text has only {len(words)} word{'s' * (len(words) != 1)}; the detector "
                f"needs at least {MIN_WORDS}.")
    if not _SENTENCE.search(content):
        return ("text_no_sentence",
                "The text has no complete sentence; the detector reads prose.")
    share = sum(w in ENGLISH_FUNCTION_WORDS for w in words) / len(words)
    if share < MIN_ENGLISH_SHARE:
        return ("text_not_english",
                "The text does not read as English; the detector was trained on English prose.")
    return None


# ----------------------------------------------------------------------------- dispatch

_CHECKS: dict[str, Any] = {"image": image, "audio": audio, "video": video, "text": text}


def check(modality: str, decoded: Any) -> NotApplicable | None:
    """None when `modality`'s detector applies to `decoded` (`models.features.decode`'s form),
    else (reason_code, reason)."""
    if modality not in _CHECKS:
        raise ValueError(f"unknown modality {modality!r}")
    return _CHECKS[modality](decoded)
