"""The audio phase-incoherence channel and the LPC vocoder generator."""

import numpy as np

from models.features.audio import HOP, N_FFT, N_MELS, SEGMENT_FRAMES, log_mel, segment_channels
from models.media.decode import SAMPLE_RATE
from models.training.data import audio as audio_data
from models.training.data import speech


def _phase_level(samples: np.ndarray) -> float:
    return float(segment_channels(samples)[1].mean())


def test_segment_channels_shape_and_log_mel_channel() -> None:
    sr = SAMPLE_RATE
    t = np.arange(sr) / sr
    tone = (0.3 * np.sin(2 * np.pi * 300 * t)).astype(np.float32)
    out = segment_channels(tone)
    assert out.shape == (2, N_MELS, SEGMENT_FRAMES) and out.dtype == np.float32
    mel = log_mel(tone)[:, : SEGMENT_FRAMES]
    np.testing.assert_allclose(out[0], (mel - mel.mean()) / (mel.std() + 1e-5), atol=1e-4)


def test_steady_partials_are_coherent_and_scrambled_phase_is_not() -> None:
    """A harmonic tone keeps its phase advancing steadily; the same magnitudes with the phase
    of every frame drawn at random (what a vocoder without phase gives) do not."""
    import librosa

    sr = SAMPLE_RATE
    t = np.arange(sr) / sr
    tone = sum(np.sin(2 * np.pi * 150 * k * t) / k for k in range(1, 8)).astype(np.float32)
    spec = librosa.stft(tone, n_fft=N_FFT, hop_length=HOP)
    rng = np.random.default_rng(0)
    scrambled = np.abs(spec) * np.exp(2j * np.pi * rng.random(spec.shape))
    resynthesised = librosa.istft(scrambled, hop_length=HOP, length=len(tone))
    assert _phase_level(tone) < _phase_level(resynthesised.astype(np.float32)) - 0.3


def test_lpc_vocoder_keeps_length_and_loudness_and_changes_the_waveform() -> None:
    source = next(c for c in speech.collections() if c.source.name == "pocketsphinx-testdata")
    recording, _ = speech.load(source.recordings[0].path)
    chunk = recording[: 2 * SAMPLE_RATE]
    out = audio_data.lpc_vocoder(np.random.default_rng(3), chunk)
    assert out.shape == chunk.shape and out.dtype == np.float32 and np.isfinite(out).all()
    rms_in, rms_out = np.sqrt(np.mean(chunk**2)), np.sqrt(np.mean(out**2))
    assert 0.3 < rms_out / rms_in < 3.0
    assert abs(np.corrcoef(chunk, out)[0, 1]) < 0.5  # a new excitation, not the recording
    again = audio_data.lpc_vocoder(np.random.default_rng(3), chunk)
    np.testing.assert_array_equal(out, again)
