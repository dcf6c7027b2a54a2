"""Audio data: real speech of many collections and languages vs. text-to-speech (espeak-ng,
flite, festival) and vocoded speech, all through the same channel augmentation."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import numpy as np

from models.media.decode import SAMPLE_RATE
from models.training.data import Sample, speech, tts
from models.training.data.augment_audio import augment, resample_round_trip
from models.training.data.text import fortunes

SYNTHETIC_KINDS = {"espeak": 0.3, "flite": 0.1, "festival": 0.1, "griffinlim": 0.2, "lpc": 0.3}
"""Each synthetic sample's generator, with its probability: text-to-speech (about half) and
re-synthesis of real recordings (the other half, the same voices as the real class)."""
SECONDS = (1.5, 4.0)  # the length of a sample (a shorter recording or utterance stays whole)
MIN_SECONDS = 0.5  # shorter recordings and utterances are drawn again (too little to judge)
MAX_DRAWS = 20  # draws of a recording / utterance long enough before giving up
P_ANY_ESPEAK_LANGUAGE = 0.25  # espeak-ng in any of its languages, not only the real ones'
P_FORTUNE = 0.5  # English text: a fortune (prose, dialogue) rather than a telephone phrase


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


def _chunk(rng: np.random.Generator, samples: np.ndarray, seconds: float) -> np.ndarray:
    n = int(seconds * SAMPLE_RATE)
    if len(samples) <= n:
        return samples
    start = int(rng.integers(0, len(samples) - n))
    return samples[start : start + n]


def _real(rng: np.random.Generator) -> tuple[speech.Recording, np.ndarray, int]:
    """A random real recording at least `MIN_SECONDS` long: (recording, 16 kHz samples,
    the rate it was stored at)."""
    for _ in range(MAX_DRAWS):
        item = speech.draw(rng)
        samples, rate = speech.load(item.path)
        if len(samples) >= MIN_SECONDS * SAMPLE_RATE:
            return item, samples, rate
    raise RuntimeError(f"no real recording of at least {MIN_SECONDS} s in {MAX_DRAWS} draws")


def _english(rng: np.random.Generator) -> str:
    if rng.random() < P_FORTUNE:
        texts = fortunes()
        return " ".join(texts[int(rng.integers(len(texts)))][1].split())[: tts.MAX_TEXT_CHARS]
    return str(rng.choice(tts.PHRASES["en"]))


def _text(rng: np.random.Generator, partner: speech.Recording, language: str) -> str:
    """What to say in `language`: the partner recording's own prompts (letters, syllables)
    when its source lists them and the language is the partner's, else a phrase."""
    words = speech.prompts(partner.source)
    if words and any(tts.primary(lang) == tts.primary(language) for lang in partner.language):
        return str(rng.choice(words))
    if tts.primary(language) == "en":
        return _english(rng)
    phrases = tts.PHRASES.get(tts.primary(language))
    return str(rng.choice(phrases)) if phrases else _english(rng)


def text_to_speech(rng: np.random.Generator, kind: str, partner: speech.Recording,
                   out: Path) -> tts.Speech:
    """An utterance of `kind` ("espeak", "flite", "festival") in the partner recording's
    language where the engine speaks it, saying what the partner's speakers say."""
    language = str(rng.choice(partner.language)) if partner.language else "en"
    if kind == "flite":
        return tts.flite(rng, _text(rng, partner, "en"), out)
    if kind == "festival":
        voices = tts.festival_voices()
        if not voices:
            raise FileNotFoundError("no festival voice installed (make data)")
        same = [v for v in voices if tts.FESTIVAL_VOICES[v] == tts.primary(language)]
        voice = str(rng.choice(same or voices))
        return tts.festival(voice, _text(rng, partner, tts.FESTIVAL_VOICES[voice]), out)
    code = tts.espeak_language(language)
    if code is None or rng.random() < P_ANY_ESPEAK_LANGUAGE:
        code = str(rng.choice(tts.espeak_languages()))
    return tts.espeak(rng, _text(rng, partner, code), code, out)


def _synthetic(rng: np.random.Generator, kind: str, index: int, out: Path) -> Sample:
    """One synthetic sample of `kind`, made alongside a random real partner recording whose
    bandwidth (stored rate) and words it takes on."""
    partner, real, rate = _real(rng)
    seconds = float(rng.uniform(*SECONDS))
    if kind in ("griffinlim", "lpc"):
        vocoder = griffin_lim if kind == "griffinlim" else lpc_vocoder
        audio = vocoder(rng, _chunk(rng, real, seconds))
        if rate < SAMPLE_RATE:  # its recording's band: no invented highs above rate / 2
            audio, _ = resample_round_trip((audio, SAMPLE_RATE), rate)
        return Sample(audio, 1, kind, group=partner.group, family=partner.family,
                      info={"source": "vocoders", "from": partner.source})
    for _ in range(MAX_DRAWS):
        try:
            said = text_to_speech(rng, kind, partner, out)
        except (RuntimeError, subprocess.CalledProcessError):
            continue  # an engine that cannot say this text (festival: some letters): redraw
        if len(said.samples) >= MIN_SECONDS * said.rate:
            break
    else:
        raise RuntimeError(f"{kind}: no utterance of at least {MIN_SECONDS} s")
    import librosa

    audio = librosa.resample(said.samples, orig_sr=said.rate, target_sr=SAMPLE_RATE)
    if rate < min(said.rate, SAMPLE_RATE):  # the partner's band: TTS as narrow as real speech
        audio, _ = resample_round_trip((audio.astype(np.float32), SAMPLE_RATE), rate)
    family = f"{said.tool}:{said.language if said.tool == 'espeak-ng' else said.voice}"
    return Sample(_chunk(rng, audio.astype(np.float32), seconds), 1, kind,
                  group=f"{family}#{index}", family=family,
                  info={"source": said.tool, "voice": said.voice, "language": said.language})


def generate(n_per_class: int, seed: int = 0) -> list[Sample]:
    """`n_per_class` real speech chunks (drawn by catalogue weight over sources, families,
    languages) and as many synthetic ones (`SYNTHETIC_KINDS`), 0.5-4 s each, every one through
    `augment_audio.augment`, as `(float32 samples, 16000)`. A vocoded fake keeps its real
    recording's group and family; a TTS utterance has the family `<tool>:<language|voice>`."""
    if n_per_class < 1:
        raise ValueError(f"n_per_class must be at least 1, got {n_per_class}")
    for tool in ("espeak-ng", "flite", "text2wave", "ffmpeg"):
        tts.require(tool)
    rng = np.random.default_rng(seed)
    kinds, probs = list(SYNTHETIC_KINDS), np.array(list(SYNTHETIC_KINDS.values()))
    samples: list[Sample] = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(n_per_class * 2):
            if i % 2 == 0:
                item, real, _ = _real(rng)
                sample = Sample(_chunk(rng, real, float(rng.uniform(*SECONDS))), 0, "speech",
                                group=item.group, family=item.family,
                                info={"source": item.source})
            else:
                kind = kinds[int(rng.choice(len(kinds), p=probs / probs.sum()))]
                sample = _synthetic(rng, kind, i, Path(tmp) / "tts.wav")
            sample.media = augment(rng, (np.asarray(sample.media, np.float32), SAMPLE_RATE))
            samples.append(sample)
    return samples
