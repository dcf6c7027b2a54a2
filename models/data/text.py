"""Text data: human fortunes vs. Markov-chain, dadadodo, polygen, char-LM and scrambled text."""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import tempfile
import textwrap
import zlib
from collections import defaultdict
from pathlib import Path

import numpy as np

from models.data import Sample, split_of

FORTUNE_DIR = Path("/usr/share/games/fortunes")
POLYGEN = "/usr/games/polygen"
POLYGEN_DIR = Path("/usr/share/polygen/eng")
POLYGEN_GRAMMARS = ("bio", "genius", "manager", "ms", "paper2", "photoshop", "pythoniser",
                    "reviews", "payoff")
DRAWN_KINDS = ("markov1", "markov2", "markov3", "dadadodo", "polygen", "scrambled")  # main rng
NEURAL_KINDS = ("charlm",)  # `models.data.neural_text`, drawn by a separate rng
SYNTHETIC_KINDS = (*DRAWN_KINDS, *NEURAL_KINDS)
NEURAL_SHARE = 0.2  # of machine samples sampled from the character language model instead
NEURAL_FULL_FROM = 50  # data sets with fewer samples per class use the quick generator
MARKOV_ORDERS = {"markov1": 1, "markov2": 2, "markov3": 3}
_TAG = re.compile(r"<[^>]+>")


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
        state = self.starts[int(rng.integers(len(self.starts)))]
        words = list(state)
        while len(words) < max_words:
            options = self.table.get(state)
            if not options:
                break
            word = options[int(rng.integers(len(options)))]
            if not word:
                break
            words.append(word)
            state = tuple(words[-self.order :])
        return " ".join(words)


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


def _dadadodo(corpus: list[str], count: int, seed: int = 0) -> list[str]:
    """`count` dadadodo sentences from `corpus`, reproducible for a seed where a C compiler
    exists (see `_seed_shim`)."""
    if shutil.which("dadadodo") is None:
        return []
    with tempfile.TemporaryDirectory() as tmp:
        corpus_path = Path(tmp) / "corpus.txt"
        corpus_path.write_text("\n\n".join(corpus))
        env = dict(os.environ, DADADODO_SEED=str(1_000_003 + seed))
        shim = _seed_shim(Path(tmp))
        if shim is not None:
            env["LD_PRELOAD"] = str(shim)
        out = subprocess.run(["dadadodo", "-c", str(count), "-p", "0", "-w", "10000",
                              str(corpus_path)], capture_output=True, text=True, timeout=60,
                             check=False, env=env).stdout
    return [" ".join(p.split()) for p in out.split("\n\n") if len(p.split()) > 3]


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


def _layout(rng: np.random.Generator, text: str) -> str:
    """Random line layout applied to both classes: keep, flatten, or re-wrap."""
    choice = rng.random()
    if choice < 0.4:
        return text
    flat = " ".join(text.split())
    return flat if choice < 0.7 else textwrap.fill(flat, int(rng.integers(50, 78)))


def is_reference(group: str, seed: int = 0) -> bool:
    """Half of the training split of the fortunes is the reference corpus: the text the Markov
    chains and dadadodo learn from and the detector's n-gram tables of human text are built
    from. Reference fortunes are never used as human samples, so that human samples in every
    split are text the tables have not seen."""
    return split_of(group, seed) == "train" and zlib.crc32(f"ref:{seed}:{group}".encode()) % 2 == 0


def reference_texts(seed: int = 0) -> list[str]:
    """The reference corpus (see `is_reference`)."""
    return [t for g, t in fortunes() if is_reference(g, seed)]


def neural_draw(n_per_class: int, seed: int, share: float = NEURAL_SHARE) -> list[bool]:
    """Which samples (machine ones only) the language model writes instead: a draw of its own,
    so that every other sample is the same as without it; sample i's draw does not depend on
    `n_per_class`."""
    side = np.random.default_rng([seed, 0xC4A7])
    return [bool(side.random() < share) and i % 2 == 1 for i in range(n_per_class * 2)]


def _charlm_texts(human: list[tuple[str, str]], count: int, n_per_class: int,
                  seed: int) -> list[str]:
    """`count` texts of the character language model, as long (in words) as human samples
    drawn by a separate rng are, give or take three words (as the Markov texts are)."""
    if count == 0:
        return []
    from models.data import neural_text

    side = np.random.default_rng([seed, 0x1E9])
    lengths = []
    for _ in range(count):
        words = len(human[int(side.integers(len(human)))][1].split())
        lengths.append(max(6, words + int(side.integers(-3, 4))))
    settings = neural_text.FULL if n_per_class >= NEURAL_FULL_FROM else neural_text.QUICK
    model = neural_text.load_charlm(seed, settings)
    return neural_text.sample(model, lengths, seed)


def generate(n_per_class: int, seed: int = 0) -> list[Sample]:
    """Human fortunes vs. machine text of similar length; Markov chains (orders 1-3), dadadodo
    and the character language model learn from the reference corpus only (`is_reference`),
    and human samples are drawn from the other fortunes. About `NEURAL_SHARE` of the machine
    samples are language-model text instead of the drawn generator's (`neural_draw`); that
    generator's draws are still made, so the other samples do not change."""
    rng = np.random.default_rng(seed)
    human = [(g, t) for g, t in fortunes() if not is_reference(g, seed)]
    train_texts = reference_texts(seed)
    chains = {order: Markov(train_texts, order) for order in MARKOV_ORDERS.values()}
    pool_size = max(8, n_per_class // 4 + 8)
    dodo = _dadadodo(train_texts[:3000], pool_size, seed)
    poly: list[str] = []
    for j, grammar in enumerate(POLYGEN_GRAMMARS):
        poly += _polygen(grammar, max(2, pool_size // len(POLYGEN_GRAMMARS) + 2), seed + j)
    neural = neural_draw(n_per_class, seed)
    lm_texts = iter(_charlm_texts(human, sum(neural), n_per_class, seed))
    samples: list[Sample] = []
    for i in range(n_per_class * 2):
        label = i % 2
        group, text = human[int(rng.integers(len(human)))]
        kind = "fortune"
        if label:
            kind = DRAWN_KINDS[int(rng.integers(len(DRAWN_KINDS)))]
            n_words = max(6, len(text.split()) + int(rng.integers(-3, 4)))
            if kind == "dadadodo" and dodo:
                text = " ".join(" ".join(dodo[int(rng.integers(len(dodo)))] for _ in range(3))
                                .split()[:n_words])
            elif kind == "polygen" and poly:
                text = " ".join(poly[int(rng.integers(len(poly)))] for _ in range(2))
            elif kind == "scrambled":
                text = scramble(rng, text)
            else:
                kind = kind if kind in MARKOV_ORDERS else "markov1"
                text = chains[MARKOV_ORDERS[kind]].generate(rng, n_words)
            if neural[i]:
                kind, text = "charlm", next(lm_texts)
            group = group if kind == "scrambled" else f"{kind}-{i}"  # shares its source's split
        samples.append(Sample(_layout(rng, text), label, kind, group=group))
    return samples
