"""Audio data: real speech chunks (augmented) vs. espeak-ng, flite, Griffin-Lim and LPC-vocoded
speech."""

from __future__ import annotations

import functools
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from models.data import Sample
from models.data.text import fortunes
from models.features import SAMPLE_RATE

SPEECH_DIR = Path("/usr/share/pocketsphinx/test/data")
ESPEAK_VOICES = ("en", "en-us", "en-gb", "en-gb-scotland", "en-029", "en-gb-x-rp")
ESPEAK_VARIANTS = ("", "+m1", "+m3", "+m5", "+f1", "+f2", "+f4", "+croak", "+klatt")
FLITE_VOICES = ("kal", "kal16", "awb", "rms", "slt")
SYNTHETIC_KINDS = ("espeak", "flite", "griffinlim", "lpc")
# real recordings: the held-out test and validation files are fixed so that no real voice
# of the test split is ever heard in training
TEST_FILES = ("sense_and_sensibility_01_austen_64kb-0930", "003")
VAL_FILES = ("sense_and_sensibility_01_austen_64kb-0880", "005")


@functools.cache
def recordings() -> tuple[tuple[str, np.ndarray], ...]:
    """Real speech shipped by pocketsphinx-testdata, mono 16 kHz."""
    import librosa

    found = []
    for path in sorted(SPEECH_DIR.glob("**/*.wav")):
        samples, _ = librosa.load(str(path), sr=SAMPLE_RATE, mono=True)
        found.append((path.stem, samples.astype(np.float32)))
    if not found:
        raise FileNotFoundError(f"no speech under {SPEECH_DIR}; install pocketsphinx-testdata")
    return tuple(found)


def split_for(name: str) -> str:
    """Fixed split of a real recording (by file)."""
    return "test" if name in TEST_FILES else "val" if name in VAL_FILES else "train"


def _load_wav(path: Path) -> np.ndarray:
    import librosa

    samples, _ = librosa.load(str(path), sr=SAMPLE_RATE, mono=True)
    return samples.astype(np.float32)


def espeak(rng: np.random.Generator, text: str, out: Path) -> np.ndarray:
    """Speak `text` with espeak-ng (random voice, variant, speed and pitch)."""
    voice = str(rng.choice(ESPEAK_VOICES)) + str(rng.choice(ESPEAK_VARIANTS))
    speed, pitch = int(rng.integers(120, 220)), int(rng.integers(20, 80))
    subprocess.run(
        ["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch), "-w", str(out), text],
        check=True, capture_output=True, timeout=30,
    )
    return _load_wav(out)


def flite(rng: np.random.Generator, text: str, out: Path) -> np.ndarray:
    """Speak `text` with flite (random voice)."""
    voice = str(rng.choice(FLITE_VOICES))
    subprocess.run(["flite", "-voice", voice, "-t", text, "-o", str(out)], check=True,
                   capture_output=True, timeout=30)
    return _load_wav(out)


def griffin_lim(rng: np.random.Generator, samples: np.ndarray) -> np.ndarray:
    """Re-synthesise real speech from its STFT magnitude (phase lost, vocoder-like)."""
    import librosa

    n_fft = int(rng.choice([256, 512, 1024]))
    magnitude = np.abs(librosa.stft(samples, n_fft=n_fft, hop_length=n_fft // 4))
    out = librosa.griffinlim(magnitude, n_iter=int(rng.integers(4, 24)), hop_length=n_fft // 4,
                             n_fft=n_fft, random_state=int(rng.integers(1 << 30)))
    return out.astype(np.float32)


def lpc_vocoder(rng: np.random.Generator, samples: np.ndarray) -> np.ndarray:
    """Re-synthesise real speech with a source-filter (LPC) vocoder, the parametric family
    behind classic vocoders: per 20 ms frame an all-pole filter (order 12-20) fitted to the
    frame is driven by a pulse train at the frame's pitch (YIN; optionally shifted 0.8-1.25x,
    as voice conversion does) mixed with some noise when voiced, and by noise when not; the
    frame's loudness is kept. The speaker's spectral envelope survives; the excitation and
    the phase of the partials are invented."""
    import librosa
    from scipy.signal import lfilter

    frame, hop = 320, 160
    x = np.asarray(samples, dtype=np.float64)
    if len(x) < 2 * frame:
        return samples.astype(np.float32)
    order = int(rng.integers(12, 21))
    shift = float(rng.uniform(0.8, 1.25)) if rng.random() < 0.5 else 1.0
    breath = float(rng.uniform(0.0, 0.3))
    f0 = librosa.yin(x, fmin=60, fmax=400, sr=SAMPLE_RATE, frame_length=1024, hop_length=hop)
    rms = librosa.feature.rms(y=x, frame_length=frame, hop_length=hop)[0]
    zcr = librosa.feature.zero_crossing_rate(x, frame_length=frame, hop_length=hop)[0]
    window = np.hanning(frame)
    out = np.zeros(len(x) + frame)
    next_pulse = 0.0
    for i, start in enumerate(range(0, len(x) - frame, hop)):
        piece = x[start : start + frame] * window
        energy = float(np.sqrt(np.mean(piece**2)))
        if energy < 1e-6:
            next_pulse = max(0.0, next_pulse - hop)
            continue
        coeffs = librosa.lpc(piece + 1e-6 * rng.standard_normal(frame), order=order)
        j = min(i, len(f0) - 1, len(rms) - 1, len(zcr) - 1)
        voiced = rms[j] > 0.05 * rms.max() and zcr[j] < 0.2 and f0[j] < 390
        if voiced:
            period = SAMPLE_RATE / (f0[j] * shift)
            excitation = breath * rng.standard_normal(frame)
            t = next_pulse
            while t < frame:
                excitation[int(t)] += np.sqrt(period)
                t += period
            next_pulse = t - hop
        else:
            excitation = rng.standard_normal(frame)
            next_pulse = 0.0
        if not np.isfinite(coeffs).all():
            continue
        voiced_frame = lfilter([1.0], coeffs, excitation) * window
        level = float(np.sqrt(np.mean(voiced_frame**2)))
        if not np.isfinite(level) or level < 1e-12:
            continue
        out[start : start + frame] += voiced_frame * (energy / level)
    return out[: len(x)].astype(np.float32)


def augment(rng: np.random.Generator, samples: np.ndarray) -> np.ndarray:
    """Channel augmentation applied to both classes: resampling, noise, gain."""
    import librosa

    if rng.random() < 0.3:
        rate = int(rng.choice([8000, 11025, 22050]))
        samples = librosa.resample(samples, orig_sr=SAMPLE_RATE, target_sr=rate)
        samples = librosa.resample(samples, orig_sr=rate, target_sr=SAMPLE_RATE)
    peak = float(np.abs(samples).max()) or 1.0
    samples = samples / peak * rng.uniform(0.1, 0.9)
    if rng.random() < 0.5:
        rms = float(np.sqrt(np.mean(samples**2))) + 1e-6
        snr_db = rng.uniform(15, 45)
        samples = samples + rng.normal(0, rms / 10 ** (snr_db / 20), len(samples))
    return samples.astype(np.float32)


def _chunk(rng: np.random.Generator, samples: np.ndarray, seconds: float) -> np.ndarray:
    n = int(seconds * SAMPLE_RATE)
    if len(samples) <= n:
        return samples
    start = int(rng.integers(0, len(samples) - n))
    return samples[start : start + n]


def _sentence(rng: np.random.Generator) -> str:
    texts = fortunes()
    return " ".join(texts[int(rng.integers(len(texts)))][1].split())[:200]


def generate(n_per_class: int, seed: int = 0) -> list[Sample]:
    """Real speech chunks vs. text-to-speech, Griffin-Lim and LPC-vocoded speech, 1.5-4 s
    each, as `(samples, 16000)`. Real chunks keep the split of their file; synthetic speech of
    a real file (Griffin-Lim, LPC) too; TTS utterances are split by hash of their index."""
    for tool in ("espeak-ng", "flite"):
        if shutil.which(tool) is None:
            raise FileNotFoundError(f"{tool} not found; install it (make data)")
    rng = np.random.default_rng(seed)
    real = recordings()
    samples: list[Sample] = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(n_per_class * 2):
            label = i % 2
            seconds = float(rng.uniform(1.5, 4.0))
            name, speech = real[int(rng.integers(len(real)))]
            split = split_for(name)
            if not label:
                kind, audio = "speech", _chunk(rng, speech, seconds)
            else:
                kind = SYNTHETIC_KINDS[int(rng.integers(len(SYNTHETIC_KINDS)))]
                if kind == "griffinlim":
                    audio = griffin_lim(rng, _chunk(rng, speech, seconds))
                elif kind == "lpc":
                    audio = lpc_vocoder(rng, _chunk(rng, speech, seconds))
                else:
                    tts = espeak if kind == "espeak" else flite
                    audio = _chunk(rng, tts(rng, _sentence(rng), Path(tmp) / "tts.wav"), seconds)
                    name = f"{kind}-{i}"
                    split = ("train", "train", "train", "train", "val", "test")[(i // 2) % 6]
            samples.append(Sample((augment(rng, audio), SAMPLE_RATE), label, kind, group=name,
                                  info={"split": split}))
    return samples
