"""Text features: hashed n-grams, document statistics and language-model fluency per sentence."""

from __future__ import annotations

import math
import re
import threading
import zlib
from typing import Any

import numpy as np

from models.features.types import Features

_local = threading.local()

TEXT_DIM = 4096  # hashed n-grams (and 16 statistics) of the sentence and its neighbours
TEXT_STATS = 16
DOC_STATS = 16  # document-level statistics, the same for every sentence of a text
NGRAM_IDS = 128  # word 2-gram ids and word 3-gram ids of the window (each), -1 = padding
NGRAM_BITS = 22  # n-gram ids are hashes in [0, 2**22)
LM_STATS = 24  # `models.features.text_lm.LM_STATS`: fluency under language models of human text
TEXT_WIDTH = TEXT_DIM + DOC_STATS + 2 * NGRAM_IDS + LM_STATS
TEXT_WINDOW = 1  # a unit is a sentence plus this many sentences either side
MAX_SENTENCES = 256


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


HASH_CACHE_SIZE = 200_000
"""Tokens whose bucket (or n-gram id) is remembered per process; the caches are emptied when
they reach this size. Each text unit is a window of 3 sentences, so every n-gram is hashed ~3
times, and common n-grams recur across texts: the crc32 calls were ~30% of text featurising."""
_buckets: dict[str, int] = {}
_ngram_hashes: dict[str, int] = {}


def _bucket_ids(tokens: list[str]) -> list[int]:
    """`_bucket` of each token, through the per-process cache."""
    cache = _buckets
    if len(cache) > HASH_CACHE_SIZE:
        cache.clear()
    out = []
    for token in tokens:
        bucket = cache.get(token)
        if bucket is None:
            bucket = cache[token] = _bucket(token)
        out.append(bucket)
    return out


def _wordpunct() -> Any:
    """NLTK's `wordpunct_tokenize` pattern, compiled by the same `regex` engine with the same
    flags (NLTK depends on `regex`), without NLTK's per-call timeout wrapper: ~5x faster."""
    pattern = getattr(_local, "wordpunct", None)
    if pattern is None:
        import regex

        pattern = _local.wordpunct = regex.compile(
            r"\w+|[^\w\s]+", regex.UNICODE | regex.MULTILINE | regex.DOTALL)
    return pattern


def _crc_table() -> np.ndarray:
    table = np.zeros(256, dtype=np.uint32)
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ (0xEDB88320 if c & 1 else 0)
        table[i] = c
    return table


_CRC_TABLE = _crc_table()
"""The table of zlib's CRC-32 (reflected polynomial 0xEDB88320), for `_char_gram_ids`."""


def _char_gram_ids(low: str, n: int) -> np.ndarray:
    """`_bucket("c" + low[i : i + n])` for every i, as int64.

    For ASCII text (one byte a character) zlib's CRC-32 is computed for all positions at once,
    byte by byte with numpy: the same numbers as `zlib.crc32`, ~50x faster than a Python loop.
    Other text goes through `_bucket_ids`."""
    count = len(low) - n + 1
    if count <= 0:
        return np.zeros(0, dtype=np.int64)
    if not low.isascii():
        return np.fromiter(_bucket_ids([f"c{low[i : i + n]}" for i in range(count)]),
                           dtype=np.int64, count=count)
    data = np.frombuffer(low.encode("ascii"), dtype=np.uint8).astype(np.uint32)
    table = _CRC_TABLE
    start = int(table[(0xFFFFFFFF ^ ord("c")) & 0xFF] ^ (0xFFFFFFFF >> 8))  # after the "c"
    crc = np.full(count, start, dtype=np.uint32)
    for k in range(n):
        crc = table[(crc ^ data[k : k + count]) & 0xFF] ^ (crc >> 8)
    crc ^= np.uint32(0xFFFFFFFF)
    return TEXT_STATS + (crc.astype(np.int64) % (TEXT_DIM - TEXT_STATS))


class _CharGrams:
    """The hashed char 2-4-grams of a whole text, so that each window's are a slice of them.

    A window's char n-grams are those of `" " + its flattened, lower-cased text + " "`. Where
    that string occurs in the same form of the whole text, its n-grams are the ones starting
    there: each n-gram is then hashed once, not once for each of the 3 windows that hold it.
    `counts` checks the strings are equal and answers None when they are not (e.g. a window
    that begins inside a word), and the caller hashes that window itself.
    """

    def __init__(self, text: str) -> None:
        self.low = f" {' '.join(text.split()).lower()} "
        self.ids = {n: _char_gram_ids(self.low, n) for n in (2, 3, 4)}
        self._hint = 0

    def counts(self, low: str) -> np.ndarray | None:
        """Counts per bucket of the char n-grams of `low` (a window's padded lower-case text)."""
        pos = self.low.find(low, max(0, self._hint - 1))
        if pos < 0:
            pos = self.low.find(low)
        if pos < 0:
            return None
        self._hint = pos
        ids = [self.ids[n][pos : pos + len(low) - n + 1] for n in (2, 3, 4)]
        return np.bincount(np.concatenate(ids), minlength=TEXT_DIM)


def sentence_vector(sentence: str, grams: _CharGrams | None = None) -> np.ndarray:
    """Hashed char 2-4-grams and word 1-2-grams (log counts, L2-normalised) plus 16 statistics.

    Counts are integers, so counting them with `np.bincount` gives the very float32 values that
    adding 1.0 per n-gram gave (the committed weights were trained on those). `grams` (the
    whole text's, from `text_features`) spares hashing the char n-grams again."""
    flat = " ".join(sentence.split())
    low = f" {flat.lower()} "
    words = [w.lower() for w in _wordpunct().findall(flat)]
    tokens = [f"w{w}" for w in words]
    tokens += [f"b{a} {b}" for a, b in zip(words, words[1:], strict=False)]
    counts = grams.counts(low) if grams is not None else None
    if counts is None:
        counts = np.bincount(np.concatenate([_char_gram_ids(low, n) for n in (2, 3, 4)]),
                             minlength=TEXT_DIM)
    ids = np.fromiter(_bucket_ids(tokens), dtype=np.int64, count=len(tokens))
    vec = (counts + np.bincount(ids, minlength=TEXT_DIM)).astype(np.float32)
    hashed = np.log1p(vec[TEXT_STATS:])
    vec[TEXT_STATS:] = hashed / (np.linalg.norm(hashed) + 1e-6)
    n_chars = max(1, len(flat))
    alpha = [w for w in words if w.isalpha()]
    vec[:TEXT_STATS] = [
        math.log1p(len(words)) / 4,
        math.log1p(n_chars) / 6,
        len(_PUNCT.findall(flat)) / n_chars * 5,
        sum(map(str.isupper, flat)) / n_chars * 5,
        sum(map(str.isdigit, flat)) / n_chars * 5,
        (sum(map(len, alpha)) / len(alpha) / 8) if alpha else 0.0,  # = np.mean: exact int sum
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
    cache = _ngram_hashes
    if len(cache) > HASH_CACHE_SIZE:
        cache.clear()
    out = []
    for i in range(len(tokens) - n + 1):
        key = f"{n}|{' '.join(tokens[i : i + n])}"
        value = cache.get(key)
        if value is None:
            value = cache[key] = zlib.crc32(key.encode("utf-8", "replace")) % size
        out.append(value)
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
        sum(map(str.isupper, text)) / max(1, len(text)) * 5,
        float(len(words) < 8),
    ], dtype=np.float32)


def text_features(text: str) -> Features:
    """One vector per sentence that also sees its neighbours (a window of up to 3 sentences).

    `x`: (N, TEXT_WIDTH) float32 (N <= 256, the first sentences) = hashed char/word n-grams of
    the window (`sentence_vector`), `document_stats` of the whole text, then the hash ids of
    the window's word 2-grams and 3-grams (`NGRAM_IDS` each, -1 padded) that the network looks
    up in its tables of n-grams seen in human text, then `LM_STATS` fluency statistics of the
    window and the document under language models of human text (`models.features.text_lm`).
    `meta.sentences`: `text`, `start`, `end` character offsets per unit (the centre sentence).
    """
    from models.features.text_lm import lm_features

    spans = split_sentences(text)[:MAX_SENTENCES]
    doc = document_stats(text, spans)
    grams = _CharGrams(text[: spans[-1][1]])
    words = _WordGrams(text, spans)
    x = np.full((len(spans), TEXT_WIDTH), -1.0, dtype=np.float32)
    x[:, TEXT_DIM : TEXT_DIM + DOC_STATS] = doc
    for i, _ in enumerate(spans):
        lo, hi = max(0, i - TEXT_WINDOW), min(len(spans) - 1, i + TEXT_WINDOW)
        window = text[spans[lo][0] : spans[hi][1]]
        x[i, :TEXT_DIM] = sentence_vector(window, grams)
        tokens = ngram_tokens(window)
        ids = words.ids(lo, tokens)
        for k, n in enumerate((2, 3)):
            found = ids[n] if ids is not None else ngram_ids(tokens, n)
            found = found[:NGRAM_IDS]
            start = TEXT_DIM + DOC_STATS + k * NGRAM_IDS
            x[i, start : start + len(found)] = found
    x[:, TEXT_WIDTH - LM_STATS :] = lm_features(text, spans, TEXT_WINDOW)
    sentences = [{"text": text[s:e][:500], "start": s, "end": e} for s, e in spans]
    return {"x": x, "meta": {"sentences": sentences}}


class _WordGrams:
    """The word 2-gram and 3-gram ids of a whole text, so that each window's are a slice.

    The text is cut at the sentence starts; where a window's `ngram_tokens` are the tokens of
    those pieces from its first sentence on (checked: a word cut by a sentence start would
    differ), its ids are the ones starting there, each hashed once instead of 3 times.
    """

    def __init__(self, text: str, spans: list[tuple[int, int]]) -> None:
        starts = [s for s, _ in spans]
        ends = starts[1:] + [spans[-1][1]]
        self.tokens: list[str] = []
        self.first: list[int] = []
        for start, end in zip(starts, ends, strict=True):
            self.first.append(len(self.tokens))
            self.tokens += ngram_tokens(text[start:end])
        self._ids = {n: np.array(ngram_ids(self.tokens, n), dtype=np.int64) for n in (2, 3)}

    def ids(self, sentence: int, tokens: list[str]) -> dict[int, np.ndarray] | None:
        """The 2-gram and 3-gram ids of `tokens`, a window's tokens from `sentence` on; None
        when they are not the whole text's tokens there."""
        first = self.first[sentence]
        if self.tokens[first : first + len(tokens)] != tokens:
            return None
        return {n: self._ids[n][first : first + max(0, len(tokens) - n + 1)] for n in (2, 3)}


