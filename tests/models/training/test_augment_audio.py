"""Audio channel augmentation: each effect does what it says and keeps the audio form."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from models.media.decode import SAMPLE_RATE
from models.training.data import augment_audio as A

needs_ffmpeg = pytest.mark.skipif(shutil.which("ffmpeg") is None,
                                  reason="ffmpeg not installed (make data)")


def _voice(seconds: float = 1.0, pause: float = 0.0) -> np.ndarray:
    """A voiced harmonic sound (120 Hz, partials to 7 kHz) followed by `pause` s of zeros."""
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    tone = sum(np.sin(2 * np.pi * 120 * k * t) / k for k in range(1, 58))
    tone = 0.5 * tone / np.abs(tone).max()
    return np.concatenate([tone, np.zeros(int(pause * SAMPLE_RATE))]).astype(np.float32)


def _band_share(samples: np.ndarray, low: float, high: float) -> float:
    power = np.abs(np.fft.rfft(samples)) ** 2
    freq = np.fft.rfftfreq(len(samples), 1 / SAMPLE_RATE)
    return float(power[(freq >= low) & (freq < high)].sum() / power.sum())


def _rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(samples.astype(np.float64) ** 2)))


def _assert_form(out: tuple, length: int) -> None:
    samples, rate = out
    assert rate == SAMPLE_RATE and samples.dtype == np.float32 and samples.shape == (length,)
    assert np.isfinite(samples).all()


def test_resample_to_8k_removes_the_band_above_4k() -> None:
    voice = _voice()
    before = _band_share(voice, 4200, 8000)
    assert before > 0.005
    out = A.resample_round_trip((voice, SAMPLE_RATE), 8000)
    _assert_form(out, len(voice))
    assert _band_share(out[0], 4200, 8000) < before / 100


def test_telephone_keeps_only_the_voice_band() -> None:
    voice = _voice()
    out = A.telephone((voice, SAMPLE_RATE))
    _assert_form(out, len(voice))
    assert _band_share(voice, 0, 200) > 0.3  # the 120 Hz fundamental carries most power
    assert _band_share(out[0], 0, 200) < 0.05 and _band_share(out[0], 4200, 8000) < 1e-3


@needs_ffmpeg
@pytest.mark.parametrize("codec", sorted(A.CODECS))
def test_codec_round_trip_is_lossy_but_keeps_the_sound(codec: str) -> None:
    voice = _voice()
    kbps = min(A.CODECS[codec][2])
    out = A.codec_round_trip((voice, SAMPLE_RATE), codec, kbps)
    _assert_form(out, len(voice))
    assert not np.allclose(out[0], voice, atol=1e-3)  # coded, not copied
    assert 0.5 < _rms(out[0]) / _rms(voice) < 1.5


def test_codec_round_trip_rejects_unknown_codecs() -> None:
    with pytest.raises(ValueError, match="unknown codec"):
        A.codec_round_trip((_voice(), SAMPLE_RATE), "wma", 64)


def test_gain_scales_the_level() -> None:
    voice = _voice()
    out = A.gain((voice, SAMPLE_RATE), -20.0)
    _assert_form(out, len(voice))
    assert _rms(out[0]) / _rms(voice) == pytest.approx(0.1, rel=1e-4)


def test_noise_gate_makes_pauses_digital_zeros_and_keeps_the_voice() -> None:
    rng = np.random.default_rng(0)
    voice = _voice(0.5, pause=0.5)
    floor = (voice + rng.normal(0, 1e-3, len(voice))).astype(np.float32)
    out = A.noise_gate((floor, SAMPLE_RATE), -40.0)
    _assert_form(out, len(voice))
    half = len(voice) // 2
    assert (out[0][half + A.GATE_FRAME :] == 0).all()
    np.testing.assert_array_equal(out[0][: half - A.GATE_FRAME], floor[: half - A.GATE_FRAME])


def test_noise_floor_fills_digital_silence_at_its_level() -> None:
    voice = _voice(0.5, pause=0.5)
    out = A.noise_floor((voice, SAMPLE_RATE), np.random.default_rng(1), -60.0)
    _assert_form(out, len(voice))
    pause = out[0][len(voice) // 2 :]
    assert (pause != 0).all()
    level_db = 20 * np.log10(_rms(pause) / np.abs(voice).max())
    assert -63 < level_db < -57


def test_add_noise_sits_at_the_asked_snr() -> None:
    voice = _voice()
    out = A.add_noise((voice, SAMPLE_RATE), np.random.default_rng(2), 20.0)
    _assert_form(out, len(voice))
    assert 20 * np.log10(_rms(voice) / _rms(out[0] - voice)) == pytest.approx(20.0, abs=0.5)


def test_reverb_leaves_a_decaying_tail_in_the_pause() -> None:
    voice = _voice(0.5, pause=0.5)
    out = A.reverb((voice, SAMPLE_RATE), np.random.default_rng(3), 0.4)
    _assert_form(out, len(voice))
    start = len(voice) // 2
    early, late = out[0][start : start + 1600], out[0][start + 4800 : start + 6400]
    assert _rms(early) > 10 * _rms(late) > 0  # the room rings on, then dies away


def test_stereo_mixdown_comb_filters() -> None:
    rng = np.random.default_rng(4)
    noise = rng.standard_normal(SAMPLE_RATE).astype(np.float32) * 0.1
    out = A.stereo_mixdown((noise, SAMPLE_RATE), np.random.default_rng(5))
    _assert_form(out, len(noise))
    spectrum = np.abs(np.fft.rfft(out[0])) ** 2
    bands = spectrum[: len(spectrum) // 64 * 64].reshape(64, -1).mean(axis=1)
    assert bands.max() / bands.min() > 4  # notches where the delayed copy cancels


def test_normalise_peak_sets_the_peak() -> None:
    out = A.normalise_peak((_voice(), SAMPLE_RATE), -6.0)
    assert np.abs(out[0]).max() == pytest.approx(10 ** (-6 / 20), rel=1e-5)


@needs_ffmpeg
def test_augment_keeps_the_form_is_seeded_and_varies() -> None:
    voice = _voice(1.0, pause=0.5)
    outs = [A.augment(np.random.default_rng(seed), (voice, SAMPLE_RATE)) for seed in range(12)]
    for out in outs:
        _assert_form(out, len(voice))
        assert 10 ** (A.PEAK_DBFS[0] / 20) - 1e-6 <= np.abs(out[0]).max() <= 1.0
    again = A.augment(np.random.default_rng(3), (voice, SAMPLE_RATE))
    np.testing.assert_array_equal(again[0], outs[3][0])
    assert len({round(float(np.abs(o[0]).max()), 4) for o in outs}) > 6


@pytest.mark.parametrize("bad", [(np.zeros((2, 100), np.float32), SAMPLE_RATE),
                                 (np.zeros(100, np.float32), 8000),
                                 (np.zeros(0, np.float32), SAMPLE_RATE)])
def test_bad_audio_is_refused(bad: tuple) -> None:
    with pytest.raises(ValueError):
        A.augment(np.random.default_rng(0), bad)


@needs_ffmpeg
@pytest.mark.parametrize("name", sorted(A.ROBUSTNESS))
def test_robustness_transforms_are_deterministic_and_change_the_audio(name: str) -> None:
    voice = _voice()
    first = A.ROBUSTNESS[name]((voice, SAMPLE_RATE))
    _assert_form(first, len(voice))
    np.testing.assert_array_equal(first[0], A.ROBUSTNESS[name]((voice, SAMPLE_RATE))[0])
    assert not np.allclose(first[0], voice, atol=1e-4)


def test_robustness_set_is_small_and_covers_codec_rate_noise_level() -> None:
    assert 4 <= len(A.ROBUSTNESS) <= 6
    assert {"mp3-32k", "resample-8k", "noise-20db", "gain-minus-20db"} <= set(A.ROBUSTNESS)
