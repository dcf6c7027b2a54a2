"""Audio data: real speech of many families, TTS of many engines and languages, and the
digital-silence, bandwidth, level and length shortcuts closed on generated data."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from models.features import audio as F
from models.media.decode import SAMPLE_RATE
from models.training.data import audio, catalog, speech

N_PER_CLASS = 24  # enough for a class-separation statistic to show (AUC 0.5 +- ~0.1)
SEPARATION_LIMIT = 0.25  # |AUC - 0.5| a channel statistic may reach on generated data
ZERO_SHARE_GAP = 0.2  # the most the classes' shares of digitally silent samples may differ

needs_speech = pytest.mark.skipif(
    any(shutil.which(t) is None for t in ("espeak-ng", "flite", "text2wave", "ffmpeg"))
    or not any(s.files() for s in catalog.select("audio", "real")),
    reason="speech packages not installed (make data)",
)


@pytest.fixture(scope="module")
def samples() -> list:
    return audio.generate(N_PER_CLASS, seed=11)


def _auc(values: np.ndarray, labels: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(labels, values))


def _zero_share(samples: np.ndarray) -> float:
    return float(np.mean(samples == 0))


def _high_band_share(samples: np.ndarray) -> float:
    power = np.abs(np.fft.rfft(samples)) ** 2
    freq = np.fft.rfftfreq(len(samples), 1 / SAMPLE_RATE)
    return float(power[freq > 4200].sum() / (power.sum() or 1.0))


def test_catalogue_has_six_real_families_in_three_languages() -> None:
    real = catalog.select("audio", "real")
    assert len({s.family for s in real}) >= 6
    assert len({lang.split("-")[0] for s in real for lang in s.language}) >= 3
    for source in real:
        assert source.licence and source.what and source.paths


@needs_speech
def test_samples_have_families_sources_and_the_audio_form(samples: list) -> None:
    names = {s.name for s in catalog.select("audio")} | {"espeak-ng", "flite", "festival"}
    for s in samples:
        media, rate = s.media
        assert rate == SAMPLE_RATE and media.dtype == np.float32 and media.ndim == 1
        assert audio.MIN_SECONDS * rate <= len(media) <= audio.SECONDS[1] * rate + 1
        assert s.family and s.group and s.info["source"] in names
    real = {s.family for s in samples if s.label == 0}
    assert len(real) >= 6  # many sources, not one collection
    assert real <= {c.source.family for c in speech.collections()}
    tts_families = {s.family for s in samples if s.info["source"] != "vocoders" and s.label}
    assert all(":" in f for f in tts_families) and len(tts_families) >= 4


@needs_speech
def test_vocoded_fakes_keep_their_recordings_family(samples: list) -> None:
    vocoded = [s for s in samples if s.info["source"] == "vocoders"]
    assert vocoded
    families = {c.source.name: c.source.family for c in speech.collections()}
    assert all(s.family == families[s.info["from"]] for s in vocoded)


@needs_speech
def test_generate_is_seeded() -> None:
    first, again = audio.generate(2, seed=4), audio.generate(2, seed=4)
    for a, b in zip(first, again, strict=True):
        assert (a.kind, a.family, a.group) == (b.kind, b.family, b.group)
        np.testing.assert_array_equal(a.media[0], b.media[0])


def test_generate_refuses_an_empty_request() -> None:
    with pytest.raises(ValueError, match="n_per_class"):
        audio.generate(0)


@needs_speech
@pytest.mark.parametrize("statistic", [_zero_share, _high_band_share, len,
                                       lambda x: float(np.abs(x).max())],
                         ids=["digital-silence", "band-above-4k", "length", "peak-level"])
def test_channel_statistics_do_not_separate_the_classes(samples: list, statistic) -> None:
    """Digital silence, bandwidth (stored rate), length and level occur in both classes alike
    (text-to-speech pauses are exact zeros; real recordings are often 8 kHz): none of them may
    tell the classes apart on the generated data."""
    labels = np.array([s.label for s in samples])
    values = np.array([statistic(s.media[0]) for s in samples], dtype=np.float64)
    assert abs(_auc(values, labels) - 0.5) < SEPARATION_LIMIT


@needs_speech
def test_as_many_real_as_synthetic_samples_hold_digital_silence(samples: list) -> None:
    """Raw text-to-speech pauses are exact zeros far more often than recordings (without the
    augmentation 38% of synthetic against 8% of real samples here have over 5% zeros); after
    it (noise floors under both classes, noise gates over both) the shares are alike."""
    share = {label: np.mean([_zero_share(s.media[0]) > 0.05 for s in samples
                             if s.label == label]) for label in (0, 1)}
    assert abs(share[0] - share[1]) < ZERO_SHARE_GAP


@needs_speech
def test_digital_silence_and_band_limits_occur_in_both_classes(samples: list) -> None:
    for label in (0, 1):
        media = [s.media[0] for s in samples if s.label == label]
        assert sum(_zero_share(m) > 0.05 for m in media) >= 2
        assert sum(_high_band_share(m) < 1e-4 for m in media) >= 2


def _speech_then_pause() -> np.ndarray:
    """0.5 s of a real recording, then 0.5 s of digital zeros (a gated pause)."""
    source = next(c for c in speech.collections() if c.source.name == "pocketsphinx-testdata")
    recording, _ = speech.load(source.recordings[0].path)
    voice = recording[SAMPLE_RATE // 2 : SAMPLE_RATE].astype(np.float32)
    return np.concatenate([0.5 * voice / np.abs(voice).max(),
                           np.zeros(SAMPLE_RATE // 2, np.float32)])


@pytest.mark.skipif(not any(s.files() for s in catalog.select("audio", "real")
                            if s.name == "pocketsphinx-testdata"),
                    reason="pocketsphinx-testdata not installed (make data)")
def test_digital_zeros_and_a_minus_90_db_floor_give_the_same_features(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A pause of exact zeros (noise gate, TTS) and the same pause holding a -90 dBFS noise
    floor: the fixed dither under the features makes the two look alike; without it the
    phase channel of the pause flips from random (+1) to none at all (-1)."""
    gated = _speech_then_pause()
    rng = np.random.default_rng(0)
    floored = gated.copy()
    floored[len(gated) // 2 :] = rng.normal(0, 10 ** (-90 / 20), len(gated) // 2)
    pause = slice(F.SEGMENT_FRAMES // 2 + 5, None)  # STFT frames wholly inside the pause

    def gap(channel: int) -> float:
        a, b = F.segment_channels(gated), F.segment_channels(floored)
        # per band, the pause's mean level: noise against noise differs only by chance
        return float(np.abs(a[channel][:, pause].mean(1) - b[channel][:, pause].mean(1)).mean())

    assert gap(0) < 0.1 and gap(1) < 0.2
    monkeypatch.setattr(F, "_dither", lambda n: np.zeros(n, np.float32))
    assert gap(1) > 1.0
