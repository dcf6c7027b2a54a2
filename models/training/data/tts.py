"""Text-to-speech engines (espeak-ng, flite, festival) speaking a text in a chosen language."""

from __future__ import annotations

import functools
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

TTS_TIMEOUT_S = 60  # festival loads its voice per call (~1-2 s); a hang is an error
MAX_TEXT_CHARS = 200  # ~10 s of speech: longer texts are cut (samples are at most 4 s)

FLITE_VOICES = ("kal", "kal16", "awb", "rms", "slt", "awb_time")
FESTIVAL_VOICES = {  # festival voice -> language it speaks (the festvox packages installed)
    "kal_diphone": "en", "ked_diphone": "en", "cmu_us_slt_arctic_hts": "en",
    "lp_diphone": "it", "pc_diphone": "it",
    "suo_fi_lj_diphone": "fi", "hy_fi_mv_diphone": "fi", "upc_ca_ona_hts": "ca",
    "czech_dita": "cs",
}
PHRASES = {
    # a few everyday and telephone-menu sentences per language, for voices of that language
    "en": ("Please enter your account number followed by the pound key.",
           "The person you are calling is not available.", "Thank you for calling, goodbye.",
           "It will rain in the north this afternoon.", "Press one to repeat this message."),
    "es": ("Por favor, introduzca su número de cuenta.", "La persona que llama no está "
           "disponible.", "Gracias por llamar, hasta luego.", "Mañana hará sol en la costa."),
    "fr": ("Veuillez entrer votre numéro de compte.", "Votre correspondant n'est pas "
           "disponible.", "Merci de votre appel, au revoir.", "Il pleuvra demain sur Paris."),
    "it": ("Per favore, inserisca il numero del suo conto.", "L'utente chiamato non è "
           "raggiungibile.", "Grazie per la chiamata, arrivederci.", "Domani farà bel tempo."),
    "ru": ("Пожалуйста, введите номер вашего счёта.", "Абонент временно недоступен.",
           "Спасибо за звонок, до свидания.", "Завтра будет тёплая погода."),
    "de": ("Bitte geben Sie Ihre Kundennummer ein.", "Der Teilnehmer ist nicht erreichbar.",
           "Vielen Dank für Ihren Anruf, auf Wiederhören.", "Morgen wird es sonnig."),
    "cs": ("Prosím zadejte číslo svého účtu.", "Volaný účastník není dostupný.",
           "Děkujeme za zavolání, na shledanou."),
    "fi": ("Ole hyvä ja anna tilinumerosi.", "Tavoittelemasi henkilö ei ole tavoitettavissa.",
           "Kiitos soitostasi, näkemiin."),
    "ca": ("Si us plau, introduïu el vostre número de compte.", "Gràcies per trucar, adéu."),
    "pt": ("Por favor, digite o número da sua conta.", "Obrigado pela sua ligação, até logo."),
    "nl": ("Voer alstublieft uw rekeningnummer in.", "Bedankt voor uw oproep, tot ziens."),
}


@dataclass(frozen=True)
class Speech:
    """What an engine said: samples at their own `rate`, the voice and its language."""

    samples: np.ndarray
    rate: int
    tool: str
    voice: str
    language: str


def require(tool: str) -> str:
    """The path of an installed engine, or a clear error naming the package to install."""
    path = shutil.which(tool)
    if path is None:
        raise FileNotFoundError(f"{tool} not found; install the catalogue's audio packages "
                                "(make data)")
    return path


@functools.cache
def espeak_languages() -> tuple[str, ...]:
    """Every language code espeak-ng speaks here (`espeak-ng --voices`)."""
    out = subprocess.run([require("espeak-ng"), "--voices"], capture_output=True, text=True,
                         check=True, timeout=TTS_TIMEOUT_S).stdout
    return tuple(sorted({line.split()[1] for line in out.splitlines()[1:] if line.split()}))


@functools.cache
def espeak_variants() -> tuple[str, ...]:
    """Every espeak-ng voice variant (`espeak-ng --voices=variant`): '+name' suffixes."""
    out = subprocess.run([require("espeak-ng"), "--voices=variant"], capture_output=True,
                         text=True, check=True, timeout=TTS_TIMEOUT_S).stdout
    names = [tok[3:] for line in out.splitlines()[1:] for tok in line.split()
             if tok.startswith("!v/")]
    return tuple(sorted(set(names)))


def primary(language: str) -> str:
    """The primary subtag of a language tag, lower-case ('pt-BR' -> 'pt')."""
    return language.replace("_", "-").split("-")[0].lower()


def espeak_language(language: str) -> str | None:
    """espeak-ng's code for a language tag (exact, else the first of the same primary
    language), or None when espeak-ng does not speak it."""
    known = espeak_languages()
    tag = language.replace("_", "-").lower()
    if tag in known:
        return tag
    same = [k for k in known if primary(k) == primary(tag)]
    return same[0] if same else None


def _read(path: Path) -> tuple[np.ndarray, int]:
    import soundfile

    if not path.is_file() or path.stat().st_size == 0:
        raise RuntimeError(f"text-to-speech wrote no audio to {path}")
    data, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    if data.size == 0:
        raise RuntimeError(f"text-to-speech wrote no audio to {path}")
    return data.mean(axis=1), int(rate)


def espeak(rng: np.random.Generator, text: str, language: str, out: Path) -> Speech:
    """`text` spoken by espeak-ng in `language` (an espeak code) with a random variant, speed,
    pitch and gap between words."""
    variant = str(rng.choice(("", *espeak_variants())))
    voice = language + (f"+{variant}" if variant else "")
    args = ["-s", str(int(rng.integers(110, 230))), "-p", str(int(rng.integers(15, 85))),
            "-g", str(int(rng.integers(0, 6)))]
    subprocess.run([require("espeak-ng"), "-v", voice, *args, "-w", str(out), "--",
                    text[:MAX_TEXT_CHARS]], check=True, capture_output=True,
                   timeout=TTS_TIMEOUT_S)
    samples, rate = _read(out)
    return Speech(samples, rate, "espeak-ng", voice, language)


def flite(rng: np.random.Generator, text: str, out: Path) -> Speech:
    """`text` spoken by flite with a random built-in (English) voice."""
    voice = str(rng.choice(FLITE_VOICES))
    subprocess.run([require("flite"), "-voice", voice, "-t", text[:MAX_TEXT_CHARS], "-o",
                    str(out)], check=True, capture_output=True, timeout=TTS_TIMEOUT_S)
    samples, rate = _read(out)
    return Speech(samples, rate, "flite", voice, "en")


@functools.cache
def festival_voices() -> tuple[str, ...]:
    """The `FESTIVAL_VOICES` installed here."""
    root = Path("/usr/share/festival/voices")
    return tuple(v for v in FESTIVAL_VOICES if any(root.glob(f"*/{v}")))


def festival(voice: str, text: str, out: Path) -> Speech:
    """`text` spoken by festival's `voice` (text2wave, which reads Latin-1 text)."""
    if voice not in FESTIVAL_VOICES:
        raise ValueError(f"unknown festival voice {voice!r}")
    subprocess.run([require("text2wave"), "-eval", f"(voice_{voice})", "-o", str(out)],
                   input=text[:MAX_TEXT_CHARS].encode("latin-1", errors="replace"),
                   check=True, capture_output=True,
                   timeout=TTS_TIMEOUT_S)
    samples, rate = _read(out)
    return Speech(samples, rate, "festival", voice, FESTIVAL_VOICES[voice])
