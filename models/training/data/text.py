"""Text data: human paragraphs of many catalogue families vs. Markov-chain, dadadodo, polygen,
char-LM and scrambled text (and any extra machine-text sources a caller passes)."""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import tempfile
import zlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from models.training.data import Sample
from models.training.data.augment_text import augment
from models.training.data.text_corpus import Paragraph, paragraphs

FORTUNE_DIR = Path("/usr/share/games/fortunes")
POLYGEN = "/usr/games/polygen"
POLYGEN_DIR = Path("/usr/share/polygen/eng")
POLYGEN_GRAMMARS = ("bio", "genius", "manager", "ms", "paper2", "photoshop", "pythoniser",
                    "reviews", "payoff")
DRAWN_KINDS = ("markov1", "markov2", "markov3", "dadadodo", "polygen", "scrambled")  # main rng
NEURAL_KINDS = ("charlm",)  # `models.training.data.neural_text`, drawn by a separate rng
LLM_KINDS = ("smollm2",)  # committed LM-written texts (`models.training.data.llm_extra`)
SYNTHETIC_KINDS = (*DRAWN_KINDS, *NEURAL_KINDS, *LLM_KINDS)
NEURAL_SHARE = 0.2  # of machine samples sampled from the character language model instead
NEURAL_FULL_FROM = 50  # data sets with fewer samples per class use the quick generator
MARKOV_ORDERS = {"markov1": 1, "markov2": 2, "markov3": 3}
REFERENCE_SHARE = 3  # one group in this many is reference text (never a human sample)
REFERENCE_PER_FAMILY = 400  # reference paragraphs kept per family: bounds the LM tables' size
GENERATOR_FAMILIES = {"polygen": "polygen", "charlm": "text-generators"}  # tied to no family
GENERATOR_SOURCES = {"dadadodo": "dadadodo", "polygen": "polygen"}  # else "text-generators"
AUGMENT_STREAM = 0xA06  # the per-sample augmentation rngs' stream
REFERENCE_STREAM = 0x9EF  # the rng that picks which reference paragraphs a family keeps
EXTRA_STREAM = 0xE77A  # the rng that picks the samples extra machine-text sources replace
MARKOV_TRIES = 4  # draws of a chain before a lower order is used (see `_Generators.write`)
OVERSHOOT = 1.3  # Markov and dadadodo texts run this much past the length, then end a sentence
MIN_KEPT_SHARE = 0.5  # `end_at_sentence` cuts a machine text to a sentence end above this
_TAG = re.compile(r"<[^>]+>")
_SENTENCE_END = re.compile(r"[.!?][\"')]*(?=\s|$)")


@functools.cache
def fortunes() -> tuple[tuple[str, str], ...]:
    """Human-written fortunes (40-600 characters) as `(file:index, text)`."""
    found = []
    for path in sorted(FORTUNE_DIR.iterdir()):
        if path.suffix or not path.is_file():
            continue
        try:
            body = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        for i, text in enumerate(body.split("\n%\n")):
            text = text.strip("%\n ")
            if 40 <= len(text) <= 600 and text.isascii():
                found.append((f"{path.name}:{i}", text))
    if not found:
        raise FileNotFoundError(f"no fortunes under {FORTUNE_DIR}; install fortunes (make data)")
    return tuple(found)


class Markov:
    """A word-level Markov chain of a given order over whitespace tokens."""

    def __init__(self, texts: list[str], order: int) -> None:
        self.order = order
        self.table: dict[tuple[str, ...], list[str]] = defaultdict(list)
        self.starts: list[tuple[str, ...]] = []
        for text in texts:
            words = text.split()
            if len(words) <= order:
                continue
            self.starts.append(tuple(words[:order]))
            for i in range(len(words) - order):
                self.table[tuple(words[i : i + order])].append(words[i + order])
            self.table[tuple(words[-order:])].append("")

    def generate(self, rng: np.random.Generator, max_words: int) -> str:
        """Up to `max_words` words; where the chain reaches the end of a training text before
        `min_words` (half of `max_words`), it starts a new one, as a paragraph goes on."""
        min_words = max_words // 2
        state = self.starts[int(rng.integers(len(self.starts)))]
        words = list(state)
        while len(words) < max_words:
            options = self.table.get(state)
            word = options[int(rng.integers(len(options)))] if options else ""
            if not word:
                if len(words) >= min_words:
                    break
                state = self.starts[int(rng.integers(len(self.starts)))]
                words += state
                continue
            words.append(word)
            state = tuple(words[-self.order :])
        return " ".join(words[:max_words])


_SEED_SHIM = r"""
#include <stdlib.h>
#include <sys/time.h>
#include <unistd.h>
int gettimeofday(struct timeval *tv, void *tz) {
    const char *s = getenv("DADADODO_SEED");
    (void)tz;
    if (tv) { tv->tv_sec = s ? atol(s) : 0; tv->tv_usec = 0; }
    return 0;
}
pid_t getpid(void) { return 1; }
"""


def _seed_shim(directory: Path) -> Path | None:
    """A tiny LD_PRELOAD library that pins the clock and pid dadadodo seeds itself from (it has
    no seed option), so that its output follows our seed; None without a C compiler."""
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        return None
    source, library = directory / "shim.c", directory / "shim.so"
    source.write_text(_SEED_SHIM)
    done = subprocess.run([compiler, "-shared", "-fPIC", "-O1", "-o", str(library), str(source)],
                          capture_output=True, timeout=60, check=False)
    return library if done.returncode == 0 and library.exists() else None


def _dadadodo(corpus: list[str], count: int, seed: int, shim: Path | None,
              directory: Path) -> list[str]:
    """`count` dadadodo sentences from `corpus` (written under `directory`), reproducible for
    a seed with the `shim` (see `_seed_shim`)."""
    corpus_path = directory / "corpus.txt"
    corpus_path.write_text("\n\n".join(corpus))
    env = dict(os.environ, DADADODO_SEED=str(1_000_003 + seed))
    if shim is not None:
        env["LD_PRELOAD"] = str(shim)
    out = subprocess.run(["dadadodo", "-c", str(count), "-p", "0", "-w", "10000",
                          str(corpus_path)], capture_output=True, text=True, timeout=60,
                         check=False, env=env).stdout
    return [" ".join(p.split()) for p in out.split("\n\n") if len(p.split()) > 3]


def _dadadodo_pools(corpora: dict[str, tuple[str, ...]], count: int,
                    seed: int) -> dict[str, list[str]]:
    """Per family, `count` dadadodo sentences learned from its corpus (the seed shim compiled
    once); empty pools without dadadodo."""
    if shutil.which("dadadodo") is None:
        return {family: [] for family in corpora}
    with tempfile.TemporaryDirectory() as tmp:
        shim = _seed_shim(Path(tmp))
        return {family: _dadadodo(list(texts), count, seed + j, shim, Path(tmp))
                for j, (family, texts) in enumerate(sorted(corpora.items()))}


def _polygen(grammar: str, count: int, seed: int) -> list[str]:
    path = POLYGEN_DIR / f"{grammar}.grm"
    if not Path(POLYGEN).exists() or not path.exists():
        return []
    out = subprocess.run([POLYGEN, "-seed", str(seed), "-X", str(count), str(path)],
                         capture_output=True, text=True, timeout=60, check=False).stdout
    lines = [" ".join(_TAG.sub("", line).split()) for line in out.splitlines()]
    return [line for line in lines if len(line) >= 20]


def scramble(rng: np.random.Generator, text: str) -> str:
    """A self-supervised pseudo-fake: the words of a human text in a random order.

    It keeps the human vocabulary, word lengths, punctuation and length and only breaks the
    local word order, so it is disfluent in the direction opposite to a Markov chain (which
    re-uses seen transitions): it teaches the detector that text *less* predictable than human
    text is machine text too. It imitates no generator of the test set (none shuffles words).
    """
    words = text.split()
    return " ".join(words[j] for j in rng.permutation(len(words)))


def is_reference(group: str, seed: int = 0) -> bool:
    """One group (a passage of a document) in `REFERENCE_SHARE` of every family is reference
    text: what the Markov chains, dadadodo and the character LM learn from and the detector's
    n-gram tables and language models of human text are built from. Reference text is never a
    human sample, so human samples are text the tables have not seen."""
    return zlib.crc32(f"ref:{seed}:{group}".encode()) % REFERENCE_SHARE == 0


@functools.cache
def _split_corpus(
    seed: int,
) -> tuple[dict[str, tuple[str, ...]], dict[str, tuple[Paragraph, ...]]]:
    """Per family: its reference texts (at most `REFERENCE_PER_FAMILY`, a seeded choice) and
    its human sample pool (every paragraph of its other groups)."""
    reference: dict[str, list[str]] = defaultdict(list)
    pool: dict[str, list[Paragraph]] = defaultdict(list)
    for paragraph in paragraphs():
        if is_reference(paragraph.group, seed):
            reference[paragraph.family].append(paragraph.text)
        else:
            pool[paragraph.family].append(paragraph)
    rng = np.random.default_rng([seed, REFERENCE_STREAM])
    capped = {}
    for family, texts in reference.items():
        keep = sorted(rng.permutation(len(texts))[:REFERENCE_PER_FAMILY].tolist())
        capped[family] = tuple(texts[k] for k in keep)
    return capped, {f: tuple(ps) for f, ps in pool.items() if f in capped}


def reference_texts(seed: int = 0, exclude_families: Sequence[str] = ()) -> list[str]:
    """The reference corpus of every family (see `is_reference`), less `exclude_families`
    (a held-out family's text must not teach the tables what it looks like)."""
    reference, _ = _split_corpus(seed)
    return [t for family, texts in reference.items() if family not in exclude_families
            for t in texts]


def neural_draw(n_per_class: int, seed: int, share: float = NEURAL_SHARE) -> list[bool]:
    """Which samples (machine ones only) the language model writes instead: a draw of its own,
    so that every other sample is the same as without it; sample i's draw does not depend on
    `n_per_class`."""
    side = np.random.default_rng([seed, 0xC4A7])
    return [bool(side.random() < share) and i % 2 == 1 for i in range(n_per_class * 2)]


def _charlm_texts(human: list[str], count: int, n_per_class: int, seed: int) -> list[str]:
    """`count` texts of the character language model, as long (in words) as human samples
    drawn by a separate rng are, give or take three words (as the Markov texts are)."""
    if count == 0:
        return []
    from models.training.data import neural_text

    side = np.random.default_rng([seed, 0x1E9])
    lengths = []
    for _ in range(count):
        words = len(human[int(side.integers(len(human)))].split())
        lengths.append(max(6, words + int(side.integers(-3, 4))))
    settings = neural_text.FULL if n_per_class >= NEURAL_FULL_FROM else neural_text.QUICK
    model = neural_text.load_charlm(seed, settings)
    return neural_text.sample(model, lengths, seed)


def end_at_sentence(text: str) -> str:
    """`text` cut after its last sentence-final punctuation when that keeps at least
    `MIN_KEPT_SHARE` of it (human paragraphs end a sentence; a text cut at a word count would
    not, and that would be a cue of its own)."""
    ends = list(_SENTENCE_END.finditer(text))
    if ends and ends[-1].end() >= MIN_KEPT_SHARE * len(text):
        return text[: ends[-1].end()]
    return text


@dataclass(frozen=True)
class ExtraSynthetic:
    """Machine text from elsewhere (e.g. a committed file of LLM-written paragraphs): `share` of
    the machine samples that the character LM does not write are drawn from `texts` instead,
    as `kind` of catalogue `family` and `source`."""

    kind: str
    family: str
    source: str
    texts: tuple[str, ...]
    share: float


def extra_draw(n_per_class: int, seed: int, extra: Sequence[ExtraSynthetic]) -> list[int]:
    """Per sample, the index of the extra source that replaces it, or -1: a draw of its own
    (machine samples only), so that every other sample is the same as without extras."""
    if any(e.share <= 0 for e in extra) or sum(e.share for e in extra) > 1:
        raise ValueError("extra synthetic shares must be positive and add up to at most 1")
    if any(not e.texts for e in extra):
        raise ValueError("an extra synthetic source has no texts")
    side = np.random.default_rng([seed, EXTRA_STREAM])
    bounds = np.cumsum([e.share for e in extra])
    picks = []
    for i in range(n_per_class * 2):
        u = side.random()
        picks.append(int(np.searchsorted(bounds, u, side="right")) if i % 2 else -1)
    return [p if p < len(extra) else -1 for p in picks]


class _Generators:
    """The machine-text generators of one seed: per family Markov chains and dadadodo pools
    learned from that family's reference text, and polygen sentences."""

    def __init__(self, reference: dict[str, tuple[str, ...]], pool_size: int, seed: int) -> None:
        self.chains = {(family, order): Markov(list(texts), order)
                       for family, texts in reference.items() for order in MARKOV_ORDERS.values()}
        self.reference_text = {family: "\n".join(texts) for family, texts in reference.items()}
        self.dodo = _dadadodo_pools(reference, pool_size, seed)
        self.poly: list[str] = []
        per_grammar = max(2, pool_size * len(reference) // len(POLYGEN_GRAMMARS) // 4 + 2)
        for j, grammar in enumerate(POLYGEN_GRAMMARS):
            self.poly += _polygen(grammar, per_grammar, seed + j)

    def write(
        self, rng: np.random.Generator, kind: str, family: str, text: str
    ) -> tuple[str, str]:
        """`(kind, text)` of a machine text as long as `text` (give or take three words) in the
        manner of `family` (the kind falls back to a Markov chain where a tool is missing). A
        Markov text that is a verbatim piece of its training text is human text, not machine
        text: the chain tries again, then at a lower order."""
        n_words = max(6, len(text.split()) + int(rng.integers(-3, 4)))
        dodo = self.dodo.get(family, [])
        if kind == "dadadodo" and dodo:
            words: list[str] = []
            while len(words) < n_words * OVERSHOOT:
                words += dodo[int(rng.integers(len(dodo)))].split()
            return kind, end_at_sentence(" ".join(words[: int(n_words * OVERSHOOT)]))
        if kind == "polygen" and self.poly:
            return kind, " ".join(self.poly[int(rng.integers(len(self.poly)))] for _ in range(2))
        if kind == "scrambled":
            return kind, scramble(rng, text)
        order = MARKOV_ORDERS.get(kind, 1)
        while True:
            for _ in range(MARKOV_TRIES):
                out = end_at_sentence(self.chains[family, order].generate(
                    rng, int(n_words * OVERSHOOT)))
                if out not in self.reference_text[family]:
                    return f"markov{order}", out
            if order == 1:
                return "markov1", out
            order -= 1  # the chain keeps copying its training text: a lower order mixes more


def generate(
    n_per_class: int, seed: int = 0, extra: Sequence[ExtraSynthetic] = ()
) -> list[Sample]:
    """Human paragraphs vs. machine text of similar length. Each sample first draws a family
    (uniformly, so small families count as much as big ones) and a human paragraph of it; a
    machine sample imitates that paragraph's family and length with a generator drawn from
    `DRAWN_KINDS` (Markov chains, dadadodo: learned from the family's reference text only;
    scrambled: the paragraph's own words) and keeps the family, except polygen (its own family).
    About `NEURAL_SHARE` of the machine samples are character-LM text instead (`neural_draw`),
    and each `extra` source replaces its share (`extra_draw`); the drawn generator's draws are
    still made, so the other samples do not change. Every text, human or machine, then goes
    through `augment_text.augment` with an rng of its own."""
    if n_per_class < 1:
        raise ValueError(f"n_per_class must be positive, got {n_per_class}")
    rng = np.random.default_rng(seed)
    reference, pool = _split_corpus(seed)
    families = sorted(pool)
    generators = _Generators(reference, max(8, n_per_class // (4 * len(families)) + 8), seed)
    neural = neural_draw(n_per_class, seed)
    human_texts = [p.text for f in families for p in pool[f]]
    lm_texts = iter(map(end_at_sentence,
                        _charlm_texts(human_texts, sum(neural), n_per_class, seed)))
    extras = extra_draw(n_per_class, seed, extra)
    extra_rng = np.random.default_rng([seed, EXTRA_STREAM, 1])
    samples: list[Sample] = []
    for i in range(n_per_class * 2):
        label = i % 2
        family = families[int(rng.integers(len(families)))]
        paragraph = pool[family][int(rng.integers(len(pool[family])))]
        kind, text, group = paragraph.kind, paragraph.text, paragraph.group
        source = paragraph.source
        if label:
            kind, text = generators.write(rng, DRAWN_KINDS[int(rng.integers(len(DRAWN_KINDS)))],
                                          family, text)
            family = GENERATOR_FAMILIES.get(kind, family)
            source = GENERATOR_SOURCES.get(kind, "text-generators")
            if neural[i]:
                kind, text, family, source = ("charlm", next(lm_texts),
                                              GENERATOR_FAMILIES["charlm"], "text-generators")
                group = f"{kind}-{i}"
            elif extras[i] >= 0:
                chosen = extra[extras[i]]
                kind, family, source = chosen.kind, chosen.family, chosen.source
                j = int(extra_rng.integers(len(chosen.texts)))
                text, group = chosen.texts[j], f"{kind}-text-{j}"  # a text drawn twice: one group
            elif kind != "scrambled":  # scrambled text shares its source's split
                group = f"{kind}-{i}"
        augmented = augment(np.random.default_rng([seed, AUGMENT_STREAM, i]), text)
        samples.append(Sample(augmented, label, kind, group=group, family=family,
                              info={"source": source}))
    return samples
