"""The text language models travel as a file beside the text weights (`HumanLM.save`/`load`):
scoring text needs the file, not the fortunes corpus; training writes it."""

from __future__ import annotations

import logging
import random
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from models.features import featurize
from models.features import text_lm as T
from models.features.text import LM_STATS, TEXT_WINDOW, split_sentences
from models.training.data import text as data_text
from models.training.data import text_corpus

TEXT = ("The committee met on Tuesday to discuss the budget. Nobody agreed on anything! "
        "Was the coffee any good? It was not, and the minutes say so in 1987 words.")
WORDS = ("the a of and to in is was it that he she they we you not on with for as at by this "
         "cat dog house river money time people year day way man woman child world life hand "
         "part place case week company system program question work government number night "
         "Paris London Tuesday NASA 42 1987 runs walked said thinks good bad old new long").split()


def _corpus(n: int = 300, seed: int = 0) -> list[str]:
    """Small made-up human-like texts: enough for every order and a calibration share."""
    rng = random.Random(seed)
    texts = []
    for _ in range(n):
        sentences = []
        for _ in range(rng.randint(1, 4)):
            words = [rng.choice(WORDS) for _ in range(rng.randint(3, 14))]
            sentences.append(" ".join(words).capitalize() + rng.choice(".!?;"))
        texts.append(" ".join(sentences) + (" caf\u00e9" if rng.random() < 0.05 else ""))
    return texts


def _clear_caches() -> None:
    data_text.fortunes.cache_clear()
    data_text._split_corpus.cache_clear()
    text_corpus.paragraphs.cache_clear()
    T.human_lm.cache_clear()
    T.served_lm.cache_clear()


@pytest.fixture
def no_fortunes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """No human text is installed (a serving image): the fortunes directory is empty and the
    catalogue's text sources match no file; the caches forget what they held."""
    empty = tmp_path / "no-fortunes"
    empty.mkdir()
    monkeypatch.setattr(data_text, "FORTUNE_DIR", empty)
    monkeypatch.setattr(text_corpus, "real_sources", lambda: [])
    _clear_caches()
    yield empty
    _clear_caches()


@pytest.fixture(scope="module")
def small_lm() -> T.HumanLM:
    return T.HumanLM(_corpus())


def test_saved_models_give_bit_identical_features(tmp_path: Path, small_lm: T.HumanLM) -> None:
    path = small_lm.save(tmp_path / "lm.npz")
    loaded = T.HumanLM.load(path)
    assert path.stat().st_size < 4_000_000
    for built, back in ((small_lm.char, loaded.char), (small_lm.syntax, loaded.syntax)):
        assert len(built.orders) == len(back.orders)
        for a, b in zip(built.orders, back.orders, strict=True):
            for f in T._ORDER_FIELDS:
                x, y = getattr(a, f), getattr(b, f)
                assert x.dtype == y.dtype and np.array_equal(x, y), f
    assert loaded.word.vocab == small_lm.word.vocab and loaded.word.size == small_lm.word.size
    assert loaded.word.total == small_lm.word.total
    for f in T._WORD_FIELDS:
        x, y = getattr(small_lm.word, f), getattr(loaded.word, f)
        assert x.dtype == y.dtype and np.array_equal(x, y), f
    assert np.array_equal(loaded.median, small_lm.median)
    assert np.array_equal(loaded.scale, small_lm.scale)
    for text in (TEXT, "zorblax quux! Flimflam?", _corpus(3, seed=9)[2]):
        spans = split_sentences(text)
        np.testing.assert_array_equal(loaded.raw(text, spans), small_lm.raw(text, spans))
        np.testing.assert_array_equal(loaded.features(text, spans, TEXT_WINDOW),
                                      small_lm.features(text, spans, TEXT_WINDOW))


def test_a_file_of_another_definition_is_refused(tmp_path: Path, small_lm: T.HumanLM,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    path = small_lm.save(tmp_path / "lm.npz")
    monkeypatch.setattr(T, "RAW_STATS", T.RAW_STATS[:-1])
    with pytest.raises(ValueError, match="retrain"):
        T.HumanLM.load(path)


def test_text_is_scored_from_the_file_without_the_corpus(
    no_fortunes: Path, tmp_path: Path, small_lm: T.HumanLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = small_lm.save(tmp_path / "weights" / T.ARTIFACT_NAME)
    monkeypatch.setenv("TEXT_LM_PATH", str(path))
    with pytest.raises(FileNotFoundError):
        data_text.fortunes()  # really no corpus
    x = featurize("text", TEXT)["x"]
    spans = split_sentences(TEXT)
    np.testing.assert_array_equal(x[:, -LM_STATS :],
                                  small_lm.features(TEXT, spans, TEXT_WINDOW))
    assert T.served_lm() is T.served_lm()  # loaded once


def test_without_file_or_corpus_the_error_names_the_file(
    no_fortunes: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "nowhere" / "text-lm.npz"
    monkeypatch.setenv("TEXT_LM_PATH", str(missing))
    with pytest.raises(FileNotFoundError, match="detector train") as info:
        featurize("text", TEXT)
    assert str(missing) in str(info.value)


def test_without_file_the_models_are_built_from_the_corpus(
    tmp_path: Path, small_lm: T.HumanLM, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    built: list[int] = []

    def fake_human_lm(seed: int = 0) -> T.HumanLM:
        built.append(seed)
        return small_lm

    monkeypatch.setattr(T, "human_lm", fake_human_lm)
    monkeypatch.setenv("TEXT_LM_PATH", str(tmp_path / "text-lm.npz"))
    T.served_lm.cache_clear()
    try:
        with caplog.at_level(logging.WARNING, logger=T.__name__):
            assert T.served_lm() is small_lm
        assert built == [0] and "detector train" in caplog.text
    finally:
        T.served_lm.cache_clear()


def test_inside_a_reference_seed_the_corpus_models_are_used(
    tmp_path: Path, small_lm: T.HumanLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = T.HumanLM(_corpus(seed=5))
    monkeypatch.setenv("TEXT_LM_PATH", str(small_lm.save(tmp_path / "lm.npz")))
    monkeypatch.setattr(T, "human_lm", lambda seed=0: other)
    T.served_lm.cache_clear()
    try:
        spans = split_sentences(TEXT)
        outside = T.lm_features(TEXT, spans)
        with T.reference_seed(0):
            inside = T.lm_features(TEXT, spans)
        np.testing.assert_array_equal(outside, small_lm.features(TEXT, spans))
        np.testing.assert_array_equal(inside, other.features(TEXT, spans))
    finally:
        T.served_lm.cache_clear()
