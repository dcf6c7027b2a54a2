"""The fast text featuriser (`models.features.text.text_features`) gives exactly what the
original pure-Python one gave: the committed text weights were trained on those numbers.

The reference below is the original implementation, copied unchanged from models/features.py at
commit 4729ccc (the code now lives in models/features/text.py); it must not be edited to follow
the fast one."""

from __future__ import annotations

import math
import random
import re
import threading
import zlib
from pathlib import Path

import numpy as np
import pytest

from models.features import text as F
from models.features.text import (
    MAX_SENTENCES,
    NGRAM_BITS,
    NGRAM_IDS,
    TEXT_DIM,
    TEXT_STATS,
    TEXT_WINDOW,
)
from models.features.types import Features

FORTUNES = Path("/usr/share/games/fortunes")
_local = threading.local()

# ------------------------------------------------------------ reference (4729ccc, unchanged)

_PUNCT = re.compile(r"[^\w\s]")


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Sentence spans with NLTK's untrained Punkt tokenizer (works offline)."""
    from nltk.tokenize.punkt import PunktSentenceTokenizer

    tokenizer = getattr(_local, "punkt", None)
    if tokenizer is None:
        tokenizer = _local.punkt = PunktSentenceTokenizer()
    spans = [(s, e) for s, e in tokenizer.span_tokenize(text) if text[s:e].strip()]
    return spans or [(0, len(text))]


def _bucket(token: str) -> int:
    return TEXT_STATS + zlib.crc32(token.encode("utf-8", "replace")) % (TEXT_DIM - TEXT_STATS)


def sentence_vector(sentence: str) -> np.ndarray:
    """Hashed char 2-4-grams and word 1-2-grams (log counts, L2-normalised) plus 16 statistics."""
    from nltk.tokenize import wordpunct_tokenize

    vec = np.zeros(TEXT_DIM, dtype=np.float32)
    flat = " ".join(sentence.split())
    low = f" {flat.lower()} "
    for n in (2, 3, 4):
        for i in range(len(low) - n + 1):
            vec[_bucket("c" + low[i : i + n])] += 1.0
    words = [w.lower() for w in wordpunct_tokenize(flat)]
    for i, word in enumerate(words):
        vec[_bucket("w" + word)] += 1.0
        if i:
            vec[_bucket("b" + words[i - 1] + " " + word)] += 1.0
    hashed = np.log1p(vec[TEXT_STATS:])
    vec[TEXT_STATS:] = hashed / (np.linalg.norm(hashed) + 1e-6)
    n_chars = max(1, len(flat))
    alpha = [w for w in words if w.isalpha()]
    vec[:TEXT_STATS] = [
        math.log1p(len(words)) / 4,
        math.log1p(n_chars) / 6,
        len(_PUNCT.findall(flat)) / n_chars * 5,
        sum(c.isupper() for c in flat) / n_chars * 5,
        sum(c.isdigit() for c in flat) / n_chars * 5,
        (np.mean([len(w) for w in alpha]) / 8) if alpha else 0.0,
        (flat.count('"') % 2),
        float(flat.count("(") != flat.count(")")),
        float(flat[:1].isupper()),
        float(flat[-1:] in ".!?\"')"),
        flat.count(",") / max(1, len(words)) * 3,
        len(set(alpha)) / max(1, len(alpha)),
        float("--" in flat),
        flat.count(":") / max(1, len(words)) * 5,
        flat.count(";") / max(1, len(words)) * 5,
        float(len(sentence.splitlines()) > 1),
    ]
    return vec


_FUNCTION_WORDS = frozenset(
    "the a an of to in and or but is are was were be been it its this that these those he she "
    "they we you i me my your his her their our not no so as at by for from with on if then "
    "than there what which who when where how all any some".split()
)
_EDGE_PUNCT = re.compile(r"^[^\w]+|[^\w]+$")


def ngram_tokens(text: str) -> list[str]:
    """Lower-cased whitespace tokens with surrounding punctuation removed (the unit a word
    Markov chain works on)."""
    tokens = (_EDGE_PUNCT.sub("", t.lower()) for t in text.split())
    return [t for t in tokens if t]


def ngram_ids(tokens: list[str], n: int) -> list[int]:
    """Hash ids in `[0, 2**NGRAM_BITS)` of the word n-grams of `tokens`."""
    size = 1 << NGRAM_BITS
    return [zlib.crc32(f"{n}|{' '.join(tokens[i : i + n])}".encode("utf-8", "replace")) % size
            for i in range(len(tokens) - n + 1)]


def _padded(ids: list[int], width: int) -> np.ndarray:
    out = np.full(width, -1.0, dtype=np.float32)
    ids = ids[:width]
    out[: len(ids)] = ids
    return out


def document_stats(text: str, spans: list[tuple[int, int]]) -> np.ndarray:
    """16 statistics of the whole text that see incoherence: sentence-length spread,
    function-word rate, type/token ratio, repeated words and bigrams, punctuation balance."""
    words = ngram_tokens(text)
    n = max(1, len(words))
    lengths = np.array([len(text[s:e].split()) for s, e in spans], dtype=np.float64)
    bigrams = list(zip(words, words[1:], strict=False))
    starts_upper = [text[s:e].lstrip()[:1].isupper() for s, e in spans]
    ends_stop = [text[s:e].rstrip()[-1:] in ".!?\"')" for s, e in spans]
    alpha = [w for w in words if w.isalpha()]
    return np.array([
        math.log1p(len(words)) / 5,
        math.log1p(len(spans)) / 3,
        float(lengths.std() / (lengths.mean() + 1e-6)) if len(lengths) > 1 else 0.0,
        math.log1p(float(lengths.mean())) / 4,
        sum(w in _FUNCTION_WORDS for w in words) / n * 2,
        len(set(words)) / n,
        1.0 - len(set(bigrams)) / max(1, len(bigrams)),
        float(np.mean(starts_upper)),
        float(np.mean(ends_stop)),
        float(text.count('"') % 2),
        float(text.count("(") != text.count(")")),
        sum(w in {"i", "you", "we", "me", "my", "your"} for w in words) / n * 5,
        (float(np.mean([len(w) for w in alpha])) / 8) if alpha else 0.0,
        text.count(",") / n * 3,
        sum(c.isupper() for c in text) / max(1, len(text)) * 5,
        float(len(words) < 8),
    ], dtype=np.float32)


def text_features(text: str) -> Features:
    """One vector per sentence that also sees its neighbours (a window of up to 3 sentences).

    `x`: (N, TEXT_WIDTH) float32 (N <= 256, the first sentences) = hashed char/word n-grams of
    the window (`sentence_vector`), `document_stats` of the whole text, then the hash ids of
    the window's word 2-grams and 3-grams (`NGRAM_IDS` each, -1 padded) that the network looks
    up in its tables of n-grams seen in human text. `meta.sentences`: `text`, `start`, `end`
    character offsets per unit (the centre sentence).
    """
    spans = split_sentences(text)[:MAX_SENTENCES]
    doc = document_stats(text, spans)
    rows = []
    for i, _ in enumerate(spans):
        lo, hi = max(0, i - TEXT_WINDOW), min(len(spans) - 1, i + TEXT_WINDOW)
        window = text[spans[lo][0] : spans[hi][1]]
        tokens = ngram_tokens(window)
        rows.append(np.concatenate([
            sentence_vector(window), doc,
            _padded(ngram_ids(tokens, 2), NGRAM_IDS), _padded(ngram_ids(tokens, 3), NGRAM_IDS),
        ]))
    x = np.stack(rows).astype(np.float32)
    sentences = [{"text": text[s:e][:500], "start": s, "end": e} for s, e in spans]
    return {"x": x, "meta": {"sentences": sentences}}


# ------------------------------------------------------------------------------- the tests


def _fortunes(limit: int) -> list[str]:
    """Fortunes from every file of the fortunes package, in a fixed, shuffled order."""
    texts = []
    for path in sorted(FORTUNES.iterdir()):
        if path.suffix or not path.is_file():
            continue
        raw = path.read_bytes().decode("utf-8", "replace")
        texts += [t.strip() for t in raw.split("\n%\n") if len(t.strip()) >= 20]
    random.Random(0).shuffle(texts)
    return texts[:limit]


def _assert_same(text: str) -> None:
    ref, fast = text_features(text), F.text_features(text)
    assert fast["x"].dtype == ref["x"].dtype == np.float32
    width = ref["x"].shape[1]  # the columns before the language-model statistics
    assert fast["x"].shape == (ref["x"].shape[0], width + F.LM_STATS)
    assert np.array_equal(fast["x"][:, :width], ref["x"]), text[:200]
    assert fast["meta"] == ref["meta"]


@pytest.mark.skipif(not FORTUNES.exists(), reason="fortunes not installed (make data)")
def test_identical_on_many_fortunes() -> None:
    texts = _fortunes(1500)
    assert len(texts) >= 1000
    for text in texts:
        _assert_same(text)
    # several fortunes as one document: long windows, repeated sentences, many units
    for i in range(0, 400, 8):
        _assert_same("\n\n".join(texts[i : i + 8]))


EDGE_CASES = [
    "The cat sat on the mat. It was happy! Was it? Yes.",
    "Hi.There is no space after that stop.And here neither,really.",
    "Same sentence. Same sentence. Same sentence. Same sentence.",
    "ΣΟΦΙΑ ΚΑΙ ΛΟΓΟΣ. Η ΟΔΟΣ ΕΙΝΑΙ ΜΑΚΡΙΑ. İstanbul'da KİTAP OKUDUK. Straße ist groß.",
    "Tabs\tand\u00a0non-breaking spaces\u2003and\nnew\nlines. \"Quoted (unbalanced.\" -- dash;"
    " colon:",
    "Combining marks: cafe\u0301, nai\u0308ve. Emoji 🙂 and CJK 漢字かな. Digits 12345 and 3.14!",
    "no punctuation at all just a long run of lower case words without any end " * 5,
    "  Leading and trailing whitespace.   Then more.  ",
    "A. B. C. D. E. F. G. H. I. J. K. L. M. N. O. P.",
    "\u0130\u0130\u0130 \u0130stanbul. \u1e9e big sharp s. \u01c5 titlecase dz.",
]


@pytest.mark.parametrize("text", EDGE_CASES)
def test_identical_on_edge_cases(text: str) -> None:
    _assert_same(text)


def test_identical_on_random_text() -> None:
    rng = random.Random(1)
    alphabet = "abcdefghij KLMNOP .,;:!?\"'()-\n\t0123 éßΣσ漢🙂\u0301\u00a0"
    for _ in range(200):
        _assert_same("".join(rng.choice(alphabet) for _ in range(rng.randint(20, 600))))


def test_long_text_is_cut_at_max_sentences() -> None:
    text = " ".join(f"Sentence number {i} ends here." for i in range(MAX_SENTENCES + 20))
    _assert_same(text)


def test_hash_caches_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(F, "HASH_CACHE_SIZE", 50)
    text = EDGE_CASES[0] + " " + EDGE_CASES[3]
    for _ in range(3):
        _assert_same(text)
    assert len(F._buckets) <= 50 + 2000 and len(F._ngram_hashes) <= 50 + 200


def test_vectorised_crc_matches_zlib() -> None:
    rng = random.Random(2)
    for _ in range(50):
        size = rng.randint(0, 80)
        low = " " + "".join(rng.choice("abc xyz,.!?'0123456789\t~") for _ in range(size))
        for n in (2, 3, 4):
            expected = [F._bucket("c" + low[i : i + n]) for i in range(len(low) - n + 1)]
            assert F._char_gram_ids(low, n).tolist() == expected
