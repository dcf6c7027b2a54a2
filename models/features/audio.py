"""Audio features: per-second log-mel, phase and group-delay channels of 16 kHz mono samples."""

from __future__ import annotations

import threading

import numpy as np

from models.features.types import Features
from models.media.decode import SAMPLE_RATE

_local = threading.local()

SEGMENT_S = 1.0
N_MELS = 64
HOP = 160  # 10 ms at 16 kHz
N_FFT = 512
SEGMENT_FRAMES = int(SEGMENT_S * SAMPLE_RATE) // HOP + 1  # 101 mel frames per segment
MAX_SEGMENTS = 240



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


