"""The language models of human text behind the text detector's fluency statistics."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

from models.features import featurize
from models.features import text_lm as T
from models.features.text import (
    DOC_STATS,
    LM_STATS,
    NGRAM_IDS,
    TEXT_DIM,
    TEXT_WIDTH,
    TEXT_WINDOW,
    ngram_tokens,
    split_sentences,
)

FORTUNES = Path("/usr/share/games/fortunes")
needs_fortunes = pytest.mark.skipif(not FORTUNES.exists(), reason="fortunes not installed")


def _corpus(n: int = 400) -> list[str]:
    from models.training.data.text import fortunes

    return [t for _, t in fortunes()[:n]]


def _shuffled(text: str, seed: int = 0) -> str:
    words = text.split()
    random.Random(seed).shuffle(words)
    return " ".join(words)


def test_stat_counts_agree() -> None:
    assert LM_STATS == T.LM_STATS == 2 * len(T.RAW_STATS)
    assert TEXT_WIDTH == TEXT_DIM + DOC_STATS + 2 * NGRAM_IDS + LM_STATS


def test_ngram_model_probabilities_sum_to_one() -> None:
    model = T.NgramLM([np.array([0, 0, 1, 2, 1, 2, 3]), np.array([0, 0, 2, 1])], order=3, base=4)
    for context in ([0, 0], [1, 2], [3, 3]):
        total = sum(2.0 ** -model.surprisal(np.array(context + [s]))[-1] for s in range(4))
        assert total == pytest.approx(1.0)
    seen = model.surprisal(np.array([0, 0, 1, 2]))
    unseen = model.surprisal(np.array([0, 0, 3, 3]))
    assert seen.mean() < unseen.mean()


@needs_fortunes
def test_scrambled_text_is_less_fluent_than_the_text_the_models_learnt() -> None:
    texts = _corpus()
    lm = T.HumanLM(texts)
    human = [t for t in texts if not T._is_calibration(t)][:60]
    for text in human[:5]:
        assert lm.char.surprisal(text).mean() < lm.char.surprisal(_shuffled(text)).mean() + 1e-9
    plain = np.mean([lm.syntax.surprisal(T.class_codes(t)).mean() for t in human])
    mixed = np.mean([lm.syntax.surprisal(T.class_codes(_shuffled(t))).mean() for t in human])
    assert mixed > plain + 0.5
    word = np.mean([lm.word.surprisal(ngram_tokens(t))[0].mean() for t in human])
    word_mixed = np.mean([lm.word.surprisal(ngram_tokens(_shuffled(t)))[0].mean()
                          for t in human])
    assert word_mixed > word


@needs_fortunes
def test_invented_words_are_out_of_vocabulary() -> None:
    lm = T.HumanLM(_corpus())
    _, _, oov = lm.word.surprisal(ngram_tokens("the flurbistic zamwort of the"))
    assert oov.tolist() == [0.0, 1.0, 1.0, 0.0, 0.0]


@needs_fortunes
def test_features_are_deterministic_and_two_sided() -> None:
    texts = _corpus()
    first, second = T.HumanLM(texts), T.HumanLM(list(texts))
    text = "It is a truth universally acknowledged. A man must be in want of a wife! Is he?"
    spans = split_sentences(text)
    a, b = first.features(text, spans), second.features(text, spans)
    assert a.shape == (len(spans), T.LM_STATS) and a.dtype == np.float32
    np.testing.assert_array_equal(a, b)
    half = len(T.RAW_STATS)
    np.testing.assert_array_equal(np.abs(a[:, :half]), a[:, half:])
    assert np.abs(a).max() <= T.Z_CLIP / 3 + 1e-6


@needs_fortunes
def test_text_features_end_with_the_fluency_statistics() -> None:
    text = "Alpha beta gamma. Delta epsilon zeta. Eta theta iota."
    x = featurize("text", text)["x"]
    spans = split_sentences(text)
    np.testing.assert_array_equal(x[:, -LM_STATS :],
                                  T.lm_features(text, spans, TEXT_WINDOW))


def test_reference_seed_is_restored() -> None:
    assert T._seed is None  # outside: the saved models of the weights (`served_lm`)
    with T.reference_seed(3):
        assert T._seed == 3
    assert T._seed is None


def test_scramble_keeps_the_words_and_follows_the_seed() -> None:
    from models.training.data.text import scramble

    text = "one two three four five six seven eight nine ten"
    a = scramble(np.random.default_rng(1), text)
    assert sorted(a.split()) == sorted(text.split())
    assert a == scramble(np.random.default_rng(1), text) != text


@needs_fortunes
def test_batched_lookups_equal_one_text_at_a_time() -> None:
    """Scoring many windows in one call (how `HumanLM.raw` does it, for speed) gives exactly
    the numbers of scoring each alone: the batch never lets one text's context leak into the
    next."""
    corpus = _corpus(300)
    lm = T.HumanLM(corpus[:250])
    texts = corpus[250:262] + ["", "a", _shuffled(corpus[251])]
    for model, inputs in ((lm.char, texts), (lm.syntax, [T.class_codes(t) for t in texts])):
        batched = model.surprisal_many(inputs)
        for one, alone in zip(batched, [model.surprisal_many([x])[0] for x in inputs],
                              strict=True):
            np.testing.assert_array_equal(one, alone)
    tokens = [ngram_tokens(t) for t in texts]
    for one, alone in zip(lm.word.surprisal_many(tokens),
                          [lm.word.surprisal_many([t])[0] for t in tokens], strict=True):
        for a, b in zip(one, alone, strict=True):
            np.testing.assert_array_equal(a, b)
    assert lm._windows(texts) == [lm._windows([t])[0] for t in texts]
