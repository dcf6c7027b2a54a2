"""Fluency features of text under small language models of human text (the reference corpus)."""

from __future__ import annotations

import contextlib
import contextvars
import functools
import json
import logging
import os
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

CHAR_ORDER = 5  # characters of an n-gram: 4 of context and the predicted one
CHAR_BASE = 128  # code 0 = text boundary, 1-127 = ASCII; other characters are "?"
CALIBRATION_SHARE = 5  # 1 in 5 reference texts calibrates the human range; the rest builds the LMs
MAX_CALIBRATION_TEXTS = 600
Z_CLIP = 6.0
CLASS_ORDER = 4  # word classes of an n-gram of the syntax model
RAW_STATS = ("char_ce", "char_spread", "char_tail", "word_ce", "unigram_ce", "oov", "class_ce",
             "doc_char_ce", "doc_word_ce", "doc_oov", "doc_class_ce", "sentence_ce_spread")
LM_STATS = 2 * len(RAW_STATS)
"""Per statistic: its signed distance from the human median (in robust standard deviations,
clipped, /3) and the absolute value of that distance: text that is *less* fluent than human
text (invented words, scrambled grammar) and text that is *more* predictable (a chain that only
re-uses seen transitions) are both far from the human range, on either side."""
ARTIFACT_FORMAT = 1
ARTIFACT_NAME = "text-lm.npz"  # next to `text.pt`: written by training, read when serving

log = logging.getLogger(__name__)

_seed: int | None = None
_version_lm: contextvars.ContextVar[HumanLM | None] = contextvars.ContextVar("version_lm",
                                                                          default=None)


@contextlib.contextmanager
def reference_seed(seed: int) -> Iterator[None]:
    """Within the block, `lm_features` uses the models of the reference corpus of `seed`
    (`models.training.data.text.is_reference`), built from the corpus; outside any block it uses the
    saved models of the text weights (`served_lm`: serving, steps, detect)."""
    global _seed
    old, _seed = _seed, seed
    try:
        yield
    finally:
        _seed = old


def _codes_of(seq: np.ndarray, k: int, order: int, base: int) -> np.ndarray:
    """The codes of the k-grams of `seq` ending at each position from order-1 on."""
    count = len(seq) - (order - 1)
    out = np.zeros(max(0, count), dtype=np.int64)
    for j in range(k):
        start = order - k + j
        out = out * base + seq[start : start + count]
    return out


class NgramLM:
    """An interpolated Witten-Bell n-gram model over symbols 1..base-1 (0 = text boundary);
    sequences start with order-1 zeros."""

    def __init__(self, seqs: list[np.ndarray], order: int, base: int) -> None:
        self.order_n, self.base = order, base
        self.orders = _build_orders(seqs, order, base)

    def surprisal(self, seq: np.ndarray) -> np.ndarray:
        """Bits of each symbol of `seq` after its order-1 leading zeros."""
        return self.surprisal_many([seq])[0]

    def surprisal_many(self, seqs: list[np.ndarray]) -> list[np.ndarray]:
        """`surprisal` of each sequence, all looked up at once (the same numbers)."""
        lengths = [max(0, len(s) - (self.order_n - 1)) for s in seqs]
        grams = [[_codes_of(s, k, self.order_n, self.base) for s in seqs]
                 for k in range(1, self.order_n + 1)]
        return _split(_interpolated(self.orders, grams, self.base, 1.0 / self.base), lengths)


_SHAPES = {"lower": 1, "upper": 2, "title": 3, "digit": 4, "other": 5}


@functools.cache
def _function_ids() -> dict[str, int]:
    from models.features.text import _FUNCTION_WORDS

    return {w: 16 + i for i, w in enumerate(sorted(_FUNCTION_WORDS))}


def class_codes(text: str) -> np.ndarray:
    """Text as word classes, after CLASS_ORDER-1 zeros: function words stay themselves, other
    words become their shape (lower, UPPER, Title, digits), punctuation its first character:
    a syntax model this small a corpus can estimate (most word bigrams are never seen)."""
    from models.features.text import _wordpunct

    functions = _function_ids()
    ids = [0] * (CLASS_ORDER - 1)
    for token in _wordpunct().findall(text):
        low = token.lower()
        if low in functions:
            ids.append(functions[low])
        elif not token[0].isalnum():
            ids.append(128 + ord(token[0]) % 128)
        elif token.isdigit():
            ids.append(_SHAPES["digit"])
        elif token.isupper() and len(token) > 1:
            ids.append(_SHAPES["upper"])
        elif token[0].isupper():
            ids.append(_SHAPES["title"])
        elif token.islower():
            ids.append(_SHAPES["lower"])
        else:
            ids.append(_SHAPES["other"])
    return np.array(ids, dtype=np.int64)


def _char_codes(text: str) -> np.ndarray:
    """Lower-cased text with whitespace collapsed, as codes 1-127, after CHAR_ORDER-1 zeros."""
    flat = " ".join(text.split()).lower().encode("ascii", "replace")
    codes = np.frombuffer(flat, dtype=np.uint8).astype(np.int64)
    codes = np.where((codes > 0) & (codes < CHAR_BASE), codes, ord("?"))
    return np.concatenate([np.zeros(CHAR_ORDER - 1, dtype=np.int64), codes])


def _lookup(keys: np.ndarray, values: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """values[keys == query] for each query (sorted unique `keys`), 0 where absent."""
    if len(keys) == 0:
        return np.zeros(len(queries), dtype=np.float64)
    at = np.clip(np.searchsorted(keys, queries), 0, len(keys) - 1)
    return np.where(keys[at] == queries, values[at], 0).astype(np.float64)


def _interpolated(orders: list[Any], grams: list[list[np.ndarray]], base: int,
                  floor: float) -> np.ndarray:
    """Witten-Bell interpolated probabilities of every position of several sequences at once:
    `grams[k-1]` holds each sequence's k-gram codes; lookups are element-wise, so batching the
    sequences gives the same numbers as one call per sequence, with ~1/len(sequences) of the
    calls."""
    n = sum(len(g) for g in grams[0])
    p = np.full(n, floor)
    for order, per_seq in zip(orders, grams, strict=True):
        codes = np.concatenate(per_seq) if per_seq else np.zeros(0, np.int64)
        c = _lookup(order.grams, order.counts, codes)
        ctx = codes // base
        total = _lookup(order.contexts, order.context_counts, ctx)
        types = _lookup(order.contexts, order.context_types, ctx)
        p = np.where(total > 0, (c + types * p) / np.maximum(total + types, 1e-12), p)
    return p


def _split(p: np.ndarray, lengths: list[int]) -> list[np.ndarray]:
    bits = -np.log2(p)
    return np.split(bits, np.cumsum(lengths)[:-1]) if lengths else []


@dataclass
class _Order:
    grams: np.ndarray
    counts: np.ndarray
    contexts: np.ndarray
    context_counts: np.ndarray
    context_types: np.ndarray


def _build_orders(seqs: list[np.ndarray], order: int, base: int) -> list[_Order]:
    """Counts of the 1- to `order`-grams of `seqs` (see `_codes_of`) and of their contexts."""
    orders = []
    for k in range(1, order + 1):
        codes = (np.concatenate([_codes_of(s, k, order, base) for s in seqs]) if seqs
                 else np.zeros(0, np.int64))
        grams, counts = np.unique(codes, return_counts=True)
        contexts, inverse = np.unique(grams // base, return_inverse=True)
        context_counts = np.bincount(inverse, weights=counts, minlength=len(contexts))
        context_types = np.bincount(inverse, minlength=len(contexts))
        orders.append(_Order(grams, counts, contexts, context_counts,
                             context_types.astype(np.float64)))
    return orders


class CharLM:
    """An interpolated Witten-Bell character n-gram model (orders 1 to CHAR_ORDER)."""

    def __init__(self, texts: list[str]) -> None:
        self.orders = _build_orders([_char_codes(t) for t in texts], CHAR_ORDER, CHAR_BASE)

    def surprisal(self, text: str) -> np.ndarray:
        """Bits of each character of `text` (lower-cased, whitespace collapsed)."""
        return self.surprisal_many([text])[0]

    def surprisal_many(self, texts: list[str]) -> list[np.ndarray]:
        """`surprisal` of each text, all looked up at once (the same numbers)."""
        seqs = [_char_codes(t) for t in texts]
        lengths = [max(0, len(s) - (CHAR_ORDER - 1)) for s in seqs]
        grams = [[_codes_of(s, k, CHAR_ORDER, CHAR_BASE) for s in seqs]
                 for k in range(1, CHAR_ORDER + 1)]
        return _split(_interpolated(self.orders, grams, CHAR_BASE, 1.0 / CHAR_BASE), lengths)


class WordLM:
    """Word unigram (add-one) and interpolated Witten-Bell bigram models over `ngram_tokens`."""

    def __init__(self, texts: list[str]) -> None:
        from models.features.text import ngram_tokens

        docs = [ngram_tokens(t) for t in texts]
        self.vocab = {w: i + 1 for i, w in enumerate(sorted({w for d in docs for w in d}))}
        size = len(self.vocab) + 1  # id 0 = out of vocabulary and the text boundary
        self.size = size
        ids = [np.array([0] + [self.vocab[w] for w in d], dtype=np.int64) for d in docs]
        flat = np.concatenate([d[1:] for d in ids]) if ids else np.zeros(0, np.int64)
        self.unigram = np.bincount(flat, minlength=size).astype(np.float64)
        self.total = float(self.unigram.sum())
        codes = np.concatenate([d[:-1] * size + d[1:] for d in ids]) if ids else flat
        self.bigrams, counts = np.unique(codes, return_counts=True)
        self.bigram_counts = counts.astype(np.float64)
        contexts, inverse = np.unique(self.bigrams // size, return_inverse=True)
        self.contexts = contexts
        self.context_counts = np.bincount(inverse, weights=counts, minlength=len(contexts))
        self.context_types = np.bincount(inverse, minlength=len(contexts)).astype(np.float64)

    def surprisal(self, tokens: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Bigram bits, unigram bits and out-of-vocabulary flags of each token."""
        return self.surprisal_many([tokens])[0]

    def surprisal_many(
        self, token_lists: list[list[str]]
    ) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """`surprisal` of each token list, all looked up at once (the same numbers)."""
        ids = [np.array([0] + [self.vocab.get(w, 0) for w in t], dtype=np.int64)
               for t in token_lists]
        lengths = [len(i) - 1 for i in ids]
        if not ids:
            return []
        words = np.concatenate([i[1:] for i in ids])
        before = np.concatenate([i[:-1] for i in ids])
        uni = (self.unigram[words] + 1.0) / (self.total + self.size)
        c = _lookup(self.bigrams, self.bigram_counts, before * self.size + words)
        total = _lookup(self.contexts, self.context_counts, before)
        types = _lookup(self.contexts, self.context_types, before)
        bi = np.where(total > 0, (c + types * uni) / np.maximum(total + types, 1e-12), uni)
        cuts = np.cumsum(lengths)[:-1]
        return list(zip(np.split(-np.log2(bi), cuts), np.split(-np.log2(uni), cuts),
                        np.split((words == 0).astype(np.float64), cuts), strict=True))


def _is_calibration(text: str) -> bool:
    return zlib.crc32(f"calibration:{text}".encode()) % CALIBRATION_SHARE == 0


class HumanLM:
    """The language models of the reference corpus of a seed (minus a calibration share) and
    the human range of each statistic, measured on the calibration share, which the models
    have not seen, so that it is the range of *new* human text."""

    def __init__(self, texts: list[str]) -> None:
        build = [t for t in texts if not _is_calibration(t)]
        held = [t for t in texts if _is_calibration(t)][:MAX_CALIBRATION_TEXTS]
        self.char, self.word = CharLM(build), WordLM(build)
        self.syntax = NgramLM([class_codes(t) for t in build], CLASS_ORDER, 256)
        self.median = np.zeros(len(RAW_STATS))
        self.scale = np.ones(len(RAW_STATS))
        if held:
            from models.features.text import split_sentences

            rows = []
            for text in held:
                rows += list(self.raw(text, split_sentences(text)))
            table = np.array(rows)
            q25, q50, q75 = np.percentile(table, [25, 50, 75], axis=0)
            self.median = q50
            self.scale = np.maximum((q75 - q25) / 1.349, 1e-3)

    def _window(self, text: str) -> list[float]:
        return self._windows([text])[0]

    def _windows(self, texts: list[str]) -> list[list[float]]:
        """The seven window statistics of each text (every model queried once for all)."""
        from models.features.text import ngram_tokens

        chars = self.char.surprisal_many(texts)
        words = self.word.surprisal_many([ngram_tokens(t) for t in texts])
        syntaxes = self.syntax.surprisal_many([class_codes(t) for t in texts])
        return [[
            float(bits.mean()) if len(bits) else 0.0,
            float(bits.std()) if len(bits) else 0.0,
            float(np.percentile(bits, 90)) if len(bits) else 0.0,
            float(bi.mean()) if len(bi) else 0.0,
            float(uni.mean()) if len(uni) else 0.0,
            float(oov.mean()) if len(oov) else 0.0,
            float(syntax.mean()) if len(syntax) else 0.0,
        ] for bits, (bi, uni, oov), syntax in zip(chars, words, syntaxes, strict=True)]

    def raw(self, text: str, spans: list[tuple[int, int]], window: int = 1) -> np.ndarray:
        """RAW_STATS of each sentence's window (the sentence and `window` either side), with the
        document's statistics repeated on every row: (len(spans), len(RAW_STATS))."""
        n = len(spans)
        windows = [text[spans[max(0, i - window)][0] : spans[min(n - 1, i + window)][1]]
                   for i in range(n)]
        doc, *stats = self._windows([text[spans[0][0] : spans[-1][1]], *windows])
        per_sentence = self.char.surprisal_many([text[s:e] for s, e in spans])
        means = [float(b.mean()) for b in per_sentence if len(b)]
        spread = float(np.std(means)) if len(means) > 1 else 0.0
        rows = [row + [doc[0], doc[3], doc[5], doc[6], spread] for row in stats]
        return np.array(rows, dtype=np.float64)

    def features(self, text: str, spans: list[tuple[int, int]], window: int = 1) -> np.ndarray:
        """(len(spans), LM_STATS) float32: signed and absolute robust z-scores of `raw`."""
        z = np.clip((self.raw(text, spans, window) - self.median) / self.scale, -Z_CLIP, Z_CLIP)
        return (np.concatenate([z, np.abs(z)], axis=1) / 3.0).astype(np.float32)

    def save(self, path: str | Path) -> Path:
        """Write every array of the models and the human range to one compressed .npz
        (atomically); `HumanLM.load` reads back a model whose features are bit-identical."""
        path = Path(path)
        arrays: dict[str, np.ndarray] = {}
        for name, lm in (("char", self.char), ("syntax", self.syntax)):
            for k, order in enumerate(lm.orders, start=1):
                for f in _ORDER_FIELDS:
                    arrays[f"{name}.{k}.{f}"] = getattr(order, f)
        w = self.word
        arrays["word.vocab"] = np.array(list(w.vocab), dtype=str)  # sorted: id = index + 1
        for f in _WORD_FIELDS:
            arrays[f"word.{f}"] = getattr(w, f)
        arrays["word.total"] = np.array(w.total)
        arrays["median"], arrays["scale"] = self.median, self.scale
        meta = {"format": ARTIFACT_FORMAT, "char_order": CHAR_ORDER, "char_base": CHAR_BASE,
                "class_order": CLASS_ORDER, "syntax_base": self.syntax.base,
                "raw_stats": list(RAW_STATS), "dtypes": {}}
        packed: dict[str, np.ndarray] = {}
        for key, a in arrays.items():
            meta["dtypes"][key] = a.dtype.str
            packed[key] = _compact(a)
        packed["meta"] = np.array(json.dumps(meta, sort_keys=True))
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp.npz")
        np.savez_compressed(tmp, **packed)
        os.replace(tmp, path)
        return path

    @classmethod
    def load(cls, path: str | Path) -> HumanLM:
        """A `HumanLM` written by `save` (no pickled objects)."""
        with np.load(Path(path), allow_pickle=False) as z:
            meta = json.loads(str(z["meta"]))
            want = {"format": ARTIFACT_FORMAT, "char_order": CHAR_ORDER, "char_base": CHAR_BASE,
                    "class_order": CLASS_ORDER, "raw_stats": list(RAW_STATS)}
            wrong = {k: meta.get(k) for k, v in want.items() if meta.get(k) != v}
            if wrong:
                raise ValueError(f"{path}: a text LM of another definition ({wrong}); "
                                 "retrain the text model (`detector train`)")
            a = {key: np.asarray(z[key]).astype(np.dtype(dtype))
                 for key, dtype in meta["dtypes"].items()}
        lm = cls.__new__(cls)
        lm.char = CharLM.__new__(CharLM)
        lm.syntax = NgramLM.__new__(NgramLM)
        lm.syntax.order_n, lm.syntax.base = CLASS_ORDER, int(meta["syntax_base"])
        for name, model, order_n in (("char", lm.char, CHAR_ORDER),
                                     ("syntax", lm.syntax, CLASS_ORDER)):
            model.orders = [_Order(*(a[f"{name}.{k}.{f}"] for f in _ORDER_FIELDS))
                            for k in range(1, order_n + 1)]
        w = lm.word = WordLM.__new__(WordLM)
        w.vocab = {str(t): i + 1 for i, t in enumerate(a["word.vocab"])}
        for f in _WORD_FIELDS:
            setattr(w, f, a[f"word.{f}"])
        w.size, w.total = len(w.vocab) + 1, float(a["word.total"])
        lm.median, lm.scale = a["median"], a["scale"]
        return lm


_ORDER_FIELDS = ("grams", "counts", "contexts", "context_counts", "context_types")
_WORD_FIELDS = ("unigram", "bigrams", "bigram_counts", "contexts", "context_counts",
                "context_types")


def _compact(a: np.ndarray) -> np.ndarray:
    """`a` in the smallest integer type that holds it exactly when its values are integers
    (n-gram codes, counts even where they are kept as float64), else as it is; `load` casts
    each array back to its saved dtype, so the values are the same to the bit."""
    if a.dtype.kind not in "iuf" or a.ndim != 1 or len(a) == 0:
        return a
    if a.dtype.kind == "f" and not np.isfinite(a).all():
        return a
    ints = a.astype(np.int64)
    if not (ints == a).all():
        return a
    for dtype in (np.uint8, np.uint16, np.int32):
        info = np.iinfo(dtype)
        if ints.min() >= info.min and ints.max() <= info.max:
            return ints.astype(dtype)
    return ints


@functools.cache
def served_lm() -> HumanLM:
    """The text models of the weights (TEXT_LM_PATH, `config.Config.text_lm_path`, written by
    training): the path is read and the file loaded once per process, the first time text is
    scored without a model version's own models. Without the file, built from the reference
    corpus of seed 0 where the fortunes are installed (seconds, with a warning); otherwise
    FileNotFoundError."""
    from config import text_lm_path

    path = text_lm_path()
    if path.is_file():
        return HumanLM.load(path)
    log.warning("%s is missing: building the text language models from the fortunes corpus "
                "(seed 0); run `detector train` to write it", path)
    try:
        return human_lm(0)
    except FileNotFoundError as exc:
        raise FileNotFoundError(
            f"the text language models {path} are missing (TEXT_LM_PATH) and cannot be built "
            f"without the fortunes corpus ({exc}); `detector train` writes the file next to "
            "text.pt") from None


def warm() -> None:
    """Load the served text models now, and the sentence splitter (importing NLTK takes ~2 s):
    the inference service calls it with the text champion, before the first request."""
    from models.features.text import split_sentences

    served_lm()
    split_sentences("Warm up. Done.")


@functools.cache
def human_lm(seed: int = 0) -> HumanLM:
    """The `HumanLM` of the reference corpus of `seed` (built once per process, 3-9 s)."""
    from models.training.data.text import reference_texts

    return HumanLM(reference_texts(seed))


@contextlib.contextmanager
def version_lm(lm: HumanLM | None) -> Iterator[None]:
    """Within the block (this thread or task only), `lm_features` uses `lm`: the language
    models a registered text model version carries (`models.registry.client` loads and checks them).
    `None` leaves the served models (`served_lm`) in charge."""
    token = _version_lm.set(lm)
    try:
        yield
    finally:
        _version_lm.reset(token)


def lm_features(text: str, spans: list[tuple[int, int]], window: int = 1) -> np.ndarray:
    """`HumanLM.features` under the models of the current `reference_seed` (built from the
    corpus); else those of the scoring model's version (`version_lm`); else the saved models
    of the weights (`served_lm`)."""
    if _seed is not None:
        lm = human_lm(_seed)
    else:
        lm = _version_lm.get() or served_lm()
    return lm.features(text, spans, window)

