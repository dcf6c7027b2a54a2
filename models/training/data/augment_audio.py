"""Channel augmentation of speech: what capture, transmission and editing do to audio."""

from __future__ import annotations

import functools
import shutil
import subprocess
from collections.abc import Callable

import numpy as np

from models.media.decode import SAMPLE_RATE

Audio = tuple[np.ndarray, int]
"""The decoded audio form `models.features.featurize("audio", ...)` takes: float32 mono, rate."""

RATES = (8000, 11025, 12000, 22050, 32000, 44100, 48000)
"""Capture / storage rates of real and generated speech (telephone to studio): round trips
through them band-limit the audio as the rate of the original file would."""
CODECS = {"mp3": ("libmp3lame", "mp3", (24, 32, 48, 64, 96, 128)),
          "ogg": ("libvorbis", "ogg", (24, 32, 48, 64, 96)),  # 16 to 96 kbit/s at 16 kHz mono
          "opus": ("libopus", "ogg", (12, 16, 24, 32, 48))}
"""Lossy codecs (ffmpeg encoder, container, bitrates in kbit/s) that speech is shared in."""
CODEC_TIMEOUT_S = 30  # one encode or decode of a few seconds takes ~0.2 s; a hang is an error
GATE_FRAME = 160  # the noise gate decides per 10 ms at 16 kHz, as editors and VoIP gates do
TELEPHONE_BAND_HZ = (300.0, 3400.0)  # the ITU-T G.712 voice channel
PEAK_DBFS = (-30.0, -1.0)  # output peak level: quiet recordings up to normalised ones

# probabilities of each step of `augment` (the same for real and synthetic speech)
P_REVERB = 0.25
P_STEREO = 0.15
P_RESAMPLE = 0.35
P_TELEPHONE = 0.12
P_CODEC = 0.25
P_NOISE_FLOOR = 0.4  # a quiet floor (-90 to -45 dB): fills digital silence with noise
P_NOISE = 0.2  # audible noise (SNR 10-40 dB)
P_GATE = 0.25  # a noise gate: pauses become exact digital zeros


def _check(audio: Audio) -> np.ndarray:
    samples, rate = audio
    samples = np.asarray(samples)
    if rate != SAMPLE_RATE:
        raise ValueError(f"audio augmentation takes {SAMPLE_RATE} Hz audio, got {rate} Hz")
    if samples.ndim != 1 or samples.size == 0:
        raise ValueError(f"audio augmentation takes non-empty mono samples, got {samples.shape}")
    return samples.astype(np.float32, copy=False)


def _fit(samples: np.ndarray, length: int) -> np.ndarray:
    """`samples` cut or zero-extended to `length` (codec and resampler delays move edges)."""
    if len(samples) >= length:
        return samples[:length]
    return np.pad(samples, (0, length - len(samples)))


def _rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))


def resample_round_trip(audio: Audio, rate: int) -> Audio:
    """Store at `rate` and read back at 16 kHz: below 16 kHz this removes everything above
    rate / 2, as an 8 kHz telephone or 11 kHz file does."""
    import librosa

    samples = _check(audio)
    there = librosa.resample(samples, orig_sr=SAMPLE_RATE, target_sr=rate)
    back = librosa.resample(there, orig_sr=rate, target_sr=SAMPLE_RATE)
    return _fit(back, len(samples)).astype(np.float32), SAMPLE_RATE


def telephone(audio: Audio) -> Audio:
    """A telephone channel: 300-3400 Hz band-pass and G.711 mu-law at 8 kHz."""
    from scipy.signal import butter, sosfiltfilt

    samples = _check(audio)
    sos = butter(4, TELEPHONE_BAND_HZ, btype="bandpass", fs=SAMPLE_RATE, output="sos")
    band = sosfiltfilt(sos, samples).astype(np.float32)
    narrow, _ = resample_round_trip((band, SAMPLE_RATE), 8000)
    mu = 255.0
    peak = float(np.abs(narrow).max()) or 1.0
    x = np.clip(narrow / peak, -1.0, 1.0)
    code = np.round(np.sign(x) * np.log1p(mu * np.abs(x)) / np.log1p(mu) * 127) / 127
    decoded = np.sign(code) * np.expm1(np.abs(code) * np.log1p(mu)) / mu * peak
    return decoded.astype(np.float32), SAMPLE_RATE


@functools.cache
def _ffmpeg() -> str:
    path = shutil.which("ffmpeg")
    if path is None:
        raise FileNotFoundError("ffmpeg not found; install the Debian package ffmpeg")
    return path


def codec_round_trip(audio: Audio, codec: str, kbps: int) -> Audio:
    """Encode with a lossy codec (`CODECS`) at `kbps` and decode again, through ffmpeg pipes."""
    if codec not in CODECS:
        raise ValueError(f"unknown codec {codec!r}; known: {sorted(CODECS)}")
    samples = _check(audio)
    encoder, container, _ = CODECS[codec]
    raw = ["-f", "f32le", "-ar", str(SAMPLE_RATE), "-ac", "1"]
    encoded = subprocess.run(
        [_ffmpeg(), "-nostdin", "-v", "error", *raw, "-i", "pipe:0", "-c:a", encoder,
         "-b:a", f"{int(kbps)}k", "-f", container, "pipe:1"],
        input=np.ascontiguousarray(samples, dtype="<f4").tobytes(), capture_output=True,
        check=True, timeout=CODEC_TIMEOUT_S).stdout
    decoded = subprocess.run(
        [_ffmpeg(), "-nostdin", "-v", "error", "-i", "pipe:0", *raw, "pipe:1"],
        input=encoded, capture_output=True, check=True, timeout=CODEC_TIMEOUT_S).stdout
    out = np.frombuffer(decoded, dtype="<f4")
    return _fit(out, len(samples)).astype(np.float32), SAMPLE_RATE


def gain(audio: Audio, db: float) -> Audio:
    """Louder or quieter by `db` decibels (clipped to [-1, 1] as a file would be)."""
    samples = _check(audio)
    return np.clip(samples * 10 ** (db / 20), -1.0, 1.0).astype(np.float32), SAMPLE_RATE


def normalise_peak(audio: Audio, dbfs: float) -> Audio:
    """Scale so that the peak sits at `dbfs` decibels below full scale."""
    samples = _check(audio)
    peak = float(np.abs(samples).max())
    if peak == 0.0:
        return samples, SAMPLE_RATE
    return (samples * (10 ** (dbfs / 20) / peak)).astype(np.float32), SAMPLE_RATE


def add_noise(audio: Audio, rng: np.random.Generator, snr_db: float) -> Audio:
    """White noise at `snr_db` below the speech's RMS level (room, microphone, line noise)."""
    samples = _check(audio)
    level = _rms(samples) / 10 ** (snr_db / 20)
    return (samples + rng.normal(0.0, level, len(samples))).astype(np.float32), SAMPLE_RATE


def noise_floor(audio: Audio, rng: np.random.Generator, level_db: float) -> Audio:
    """A quiet noise floor at `level_db` below the peak, gently low-passed like microphone
    self-noise: digital silence becomes noise, speech is unchanged to the ear."""
    from scipy.signal import lfilter

    samples = _check(audio)
    peak = float(np.abs(samples).max()) or 1.0
    colour = float(rng.uniform(0.0, 0.9))  # 0 = white; towards 1 = more low-frequency hiss
    hiss = lfilter([1.0], [1.0, -colour], rng.standard_normal(len(samples)))
    hiss *= peak * 10 ** (level_db / 20) / (_rms(hiss) or 1.0)
    return (samples + hiss).astype(np.float32), SAMPLE_RATE


def noise_gate(audio: Audio, threshold_db: float) -> Audio:
    """Zero every 10 ms frame whose RMS is `threshold_db` below the loudest frame's: pauses
    become exact digital zeros, as VoIP, editors and text-to-speech leave them."""
    samples = _check(audio)
    n = len(samples) // GATE_FRAME * GATE_FRAME
    frames = samples[:n].reshape(-1, GATE_FRAME).astype(np.float64)
    if not len(frames):
        return samples, SAMPLE_RATE
    level = np.sqrt(np.mean(frames**2, axis=1))
    keep = level >= level.max() * 10 ** (threshold_db / 20)
    out = samples.copy()
    out[:n] = (frames * keep[:, None]).reshape(-1)
    if n < len(samples) and not keep[-1]:
        out[n:] = 0.0
    return out, SAMPLE_RATE


def reverb(audio: Audio, rng: np.random.Generator, rt60_s: float, wet: float = 0.5) -> Audio:
    """A room: convolution with a synthetic impulse response (direct sound plus exponentially
    decaying noise reaching -60 dB after `rt60_s`), `wet` of it mixed with the dry sound."""
    from scipy.signal import fftconvolve

    samples = _check(audio)
    length = max(1, int(rt60_s * SAMPLE_RATE))
    t = np.arange(length) / SAMPLE_RATE
    response = rng.standard_normal(length) * np.exp(-6.908 * t / rt60_s)  # ln(1000) = 6.908
    response[0] = 0.0
    response /= np.sqrt(np.sum(response**2)) or 1.0
    tail = fftconvolve(samples, response)[: len(samples)]
    dry_rms, tail_rms = _rms(samples), _rms(tail) or 1.0
    out = (1.0 - wet) * samples + wet * tail * (dry_rms / tail_rms)
    return out.astype(np.float32), SAMPLE_RATE


def stereo_mixdown(audio: Audio, rng: np.random.Generator) -> Audio:
    """A stereo capture mixed down to mono: the second microphone hears the voice 0.1-2 ms
    later and 0-6 dB quieter, and the two channels are averaged (comb filtering)."""
    samples = _check(audio)
    delay = int(rng.integers(2, 33))
    other = np.concatenate([np.zeros(delay, np.float32), samples[:-delay]]) * 10 ** (
        -rng.uniform(0, 6) / 20)
    return (0.5 * (samples + other)).astype(np.float32), SAMPLE_RATE


def augment(rng: np.random.Generator, audio: Audio) -> Audio:
    """A random chain of channel effects (room, stereo mix-down, resampling, telephone, lossy
    codec, noise floor, noise, noise gate, level), drawn with the same probabilities whatever
    the audio is: the channel never tells real from synthetic speech."""
    out = (_check(audio), SAMPLE_RATE)
    if rng.random() < P_REVERB:
        out = reverb(out, rng, float(rng.uniform(0.1, 0.7)), float(rng.uniform(0.1, 0.6)))
    if rng.random() < P_STEREO:
        out = stereo_mixdown(out, rng)
    if rng.random() < P_RESAMPLE:
        out = resample_round_trip(out, int(rng.choice(RATES)))
    if rng.random() < P_TELEPHONE:
        out = telephone(out)
    if rng.random() < P_CODEC:
        codec = str(rng.choice(sorted(CODECS)))
        out = codec_round_trip(out, codec, int(rng.choice(CODECS[codec][2])))
    if rng.random() < P_NOISE_FLOOR:
        out = noise_floor(out, rng, float(rng.uniform(-90, -45)))
    if rng.random() < P_NOISE:
        out = add_noise(out, rng, float(rng.uniform(10, 40)))
    if rng.random() < P_GATE:
        out = noise_gate(out, float(rng.uniform(-60, -30)))
    return normalise_peak(out, float(rng.uniform(*PEAK_DBFS)))


ROBUSTNESS_SEED = 20_240  # the fixed noise / room of the deterministic robustness transforms


ROBUSTNESS: dict[str, Callable[[Audio], Audio]] = {
    "mp3-32k": lambda a: codec_round_trip(a, "mp3", 32),
    "opus-24k": lambda a: codec_round_trip(a, "opus", 24),
    "resample-8k": lambda a: resample_round_trip(a, 8000),
    "noise-20db": lambda a: add_noise(a, np.random.default_rng(ROBUSTNESS_SEED), 20.0),
    "gain-minus-20db": lambda a: gain(a, -20.0),
    "reverb-400ms": lambda a: reverb(a, np.random.default_rng(ROBUSTNESS_SEED), 0.4, 0.5),
}
"""Named deterministic channel changes: `detector evaluate` reports AUC and the real false-
positive rate of real and synthetic test audio under each."""
