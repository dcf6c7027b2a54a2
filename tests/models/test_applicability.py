"""Applicability on decoded media: music, silence, noise, screenshots, short or foreign text,
blank or tiny images and blank videos are refused with a code; real speech, photos and English
prose are not."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from models import applicability
from models.media.decode import decode

RATE = 16_000
PHOTOS = Path("/usr/share/doc/opencv-doc/examples/data")
SPEECH = sorted(Path("/usr/share/pocketsphinx/test/data").glob("**/*.wav"))
ENGLISH = (
    "The lighthouse keeper wrote to his sister every week. He told her about the storms, the "
    "gulls that nested under the gallery, and the ships that passed without stopping."
)
GERMAN = (
    "Der Leuchtturmwärter schrieb seiner Schwester jede Woche einen langen Brief. Er erzählte "
    "ihr von den Stürmen, den Möwen unter der Galerie und den Schiffen, die vorbeifuhren."
)
FRENCH = (
    "Le gardien du phare écrivait à sa sœur chaque semaine. Il lui racontait les tempêtes, "
    "les mouettes qui nichaient sous la galerie et les navires qui passaient sans s'arrêter."
)
SPANISH = (
    "El guardián del faro escribía a su hermana cada semana. Le contaba las tormentas, las "
    "gaviotas que anidaban bajo la galería y los barcos que pasaban sin detenerse."
)


def _code(modality: str, decoded: object) -> str | None:
    refused = applicability.check(modality, decoded)
    if refused is not None:
        code, reason = refused
        assert reason.endswith(".") and len(reason) > 10  # a sentence for a person
        return code
    return None


# ----------------------------------------------------------------------------- audio


def _melody(seconds: float = 8.0) -> np.ndarray:
    """Piano-like notes (three harmonics, decaying) over a sustained C major chord."""
    t = np.arange(int(RATE * 0.5)) / RATE
    notes = [261.63, 329.63, 392.0, 523.25, 440.0, 349.23, 293.66, 246.94]
    melody = np.concatenate([
        sum(0.2 / k * np.sin(2 * np.pi * f * k * t) for k in (1, 2, 3)) * np.exp(-3 * t)
        for f in notes * int(seconds)
    ])[: int(RATE * seconds)]
    tt = np.arange(len(melody)) / RATE
    chord = sum(0.08 * np.sin(2 * np.pi * f * tt) for f in (130.81, 164.81, 196.0))
    return (melody + chord).astype(np.float32)


def _speech(seconds: float | None = None) -> np.ndarray:
    if not SPEECH:
        pytest.skip("pocketsphinx-testdata is not installed (make data)")
    samples = np.concatenate([decode("audio", p)[0] for p in SPEECH])
    return samples if seconds is None else samples[: int(RATE * seconds)]


@pytest.mark.parametrize("make,code", [
    (lambda: _melody(), "audio_no_speech"),
    (lambda: np.zeros(RATE * 3, np.float32), "audio_silent"),
    (lambda: np.random.default_rng(0).normal(0, 0.1, RATE * 5).astype(np.float32),
     "audio_no_speech"),
    (lambda: (0.3 * np.sin(2 * np.pi * 440 * np.arange(RATE * 2) / RATE)).astype(np.float32),
     "audio_no_speech"),
], ids=["music", "silence", "white-noise", "tone"])
def test_audio_without_speech_is_refused(make, code: str) -> None:
    assert _code("audio", (make(), RATE)) == code


@pytest.mark.parametrize("index", range(3))
def test_real_speech_applies(index: int) -> None:
    if len(SPEECH) <= index:
        pytest.skip("pocketsphinx-testdata is not installed (make data)")
    assert _code("audio", decode("audio", SPEECH[index])) is None


def test_a_short_spoken_word_applies_but_the_same_length_of_music_does_not() -> None:
    word = _speech(1.2)  # under MIN_SPEECH_S of speech, yet most of the clip
    assert _code("audio", (word, RATE)) is None
    assert _code("audio", (_melody(1.2), RATE)) == "audio_no_speech"


def test_speech_under_music_is_still_speech() -> None:
    speech = _speech(6.0)
    mixed = speech + 0.3 * _melody(len(speech) / RATE)[: len(speech)]
    assert _code("audio", (mixed.astype(np.float32), RATE)) is None


def test_one_second_of_speech_in_a_long_clip_of_music_is_not_enough() -> None:
    music = _melody(20.0)
    music[RATE : RATE + int(0.5 * RATE)] += _speech(0.5)
    assert _code("audio", (music, RATE)) == "audio_no_speech"


def test_other_rates_are_resampled() -> None:
    speech = _speech(3.0)
    at_8k = speech[::2].copy()
    assert _code("audio", (at_8k, 8_000)) is None


def test_empty_audio_is_an_error() -> None:
    with pytest.raises(ValueError, match="sample"):
        applicability.check("audio", (np.zeros(0, np.float32), RATE))


# ----------------------------------------------------------------------------- image


def _screenshot(width: int = 800, height: int = 600, jpeg: bool = False) -> np.ndarray:
    image = np.full((height, width, 3), 250, np.uint8)
    lines = ["def score(modality, features, loaded):", "    probs = loaded.predict(x)",
             "    return aggregate(probs)", "Results: 12 passed, 0 failed in 3.1 s",
             "The quick brown fox jumps over the lazy dog."]
    for i in range(14):
        cv2.putText(image, lines[i % len(lines)], (20, 36 + 40 * i), cv2.FONT_HERSHEY_SIMPLEX,
                    0.8, (30, 30, 30), 2, cv2.LINE_AA)
    if jpeg:
        image = cv2.imdecode(cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 90])[1], 1)
    return image


def _photo(name: str) -> np.ndarray:
    image = cv2.imread(str(PHOTOS / name), cv2.IMREAD_COLOR)
    if image is None:
        pytest.skip("opencv-doc is not installed (make data)")
    return image


@pytest.mark.parametrize("make,code", [
    (lambda: np.zeros((480, 640, 3), np.uint8), "image_flat"),
    (lambda: np.full((480, 640, 3), (40, 120, 200), np.uint8), "image_flat"),
    (lambda: np.random.default_rng(0).integers(0, 255, (40, 40, 3), dtype=np.uint8),
     "image_too_small"),
    (lambda: np.random.default_rng(0).integers(0, 255, (48, 300, 3), dtype=np.uint8),
     "image_too_small"),
    (lambda: _screenshot(), "image_screenshot"),
    (lambda: _screenshot(jpeg=True), "image_screenshot"),
], ids=["black", "flat-colour", "tiny-icon", "thin-strip", "text-screenshot", "screenshot-jpeg"])
def test_images_without_evidence_are_refused(make, code: str) -> None:
    assert _code("image", make()) == code


def test_a_small_mark_on_a_blank_page_is_flat() -> None:
    page = np.full((600, 800, 3), 255, np.uint8)
    cv2.circle(page, (400, 300), 20, (0, 0, 255), -1)
    assert _code("image", page) == "image_flat"


@pytest.mark.parametrize("name", ["messi5.jpg", "baboon.jpg", "home.jpg", "fruits.jpg",
                                  "building.jpg", "Blender_Suzanne1.jpg", "smarties.png"])
def test_real_photos_apply(name: str) -> None:
    assert _code("image", _photo(name)) is None


def test_real_text_images_are_screenshots() -> None:
    assert _code("image", _photo("imageTextN.png")) == "image_screenshot"


def test_a_large_photo_applies_and_grey_images_are_read() -> None:
    big = cv2.resize(_photo("messi5.jpg"), (4000, 2500), interpolation=cv2.INTER_NEAREST)
    assert _code("image", big) is None
    assert _code("image", cv2.cvtColor(_photo("baboon.jpg"), cv2.COLOR_BGR2GRAY)) is None


def test_empty_image_is_an_error() -> None:
    with pytest.raises(ValueError, match="pixel"):
        applicability.check("image", np.zeros((0, 0, 3), np.uint8))


# ----------------------------------------------------------------------------- video


def test_blank_video_is_refused() -> None:
    frames = [np.full((240, 320, 3), 16 * i, np.uint8) for i in range(8)]
    assert _code("video", (frames, 2.0)) == "video_no_usable_frames"


def test_a_decoded_mp4_of_blank_frames_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "blank.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10.0, (320, 240))
    for i in range(30):
        writer.write(np.full((240, 320, 3), 8 * i, np.uint8))
    writer.release()
    assert _code("video", decode("video", path)) == "video_no_usable_frames"


def test_video_without_frames_or_too_small_is_refused() -> None:
    assert _code("video", ([], 2.0)) == "video_no_frames"
    tiny = np.random.default_rng(0).integers(0, 255, (48, 48, 3), dtype=np.uint8)
    assert _code("video", ([tiny, tiny], 2.0)) == "video_too_small"


def test_video_with_one_real_frame_applies() -> None:
    photo = cv2.resize(_photo("messi5.jpg"), (320, 240))
    blank = np.zeros_like(photo)
    assert _code("video", ([blank, blank, photo], 2.0)) is None


# ----------------------------------------------------------------------------- text


@pytest.mark.parametrize("content,code", [
    ("Hello", "text_too_short"),
    ("Antidisestablishmentarianism.", "text_too_short"),
    ("The cat sat on the mat.", "text_too_short"),
    ("apple banana cherry grape melon lemon lime kiwi plum pear", "text_no_sentence"),
    (GERMAN, "text_not_english"),
    (FRENCH, "text_not_english"),
    (SPANISH, "text_not_english"),
    ("这是一个关于灯塔看守人的故事。他每个星期都给他的妹妹写信，告诉她风暴和海鸥的事情。"
     "她把信放在饼干盒里，每年冬天都会重新读一遍。", "text_not_english"),
    ("Привет, как дела? Сегодня хорошая погода, и мы идём гулять в парк.", "text_not_english"),
], ids=["one-word", "one-long-word", "six-words", "word-list", "german", "french", "spanish",
        "chinese", "russian"])
def test_texts_the_model_does_not_know_are_refused(content: str, code: str) -> None:
    assert _code("text", content) == code


def test_english_prose_applies() -> None:
    assert _code("text", ENGLISH) is None
    assert _code("text", "I think that we should go to the park today, if it is not raining!") \
        is None


def test_wrong_inputs_are_errors() -> None:
    with pytest.raises(ValueError, match="str"):
        applicability.check("text", b"bytes")
    with pytest.raises(ValueError, match="modality"):
        applicability.check("smell", "x")
