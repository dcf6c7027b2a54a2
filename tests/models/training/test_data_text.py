"""Text samples: many human families, per-family fakes that keep their family, extra sources."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from models.training.data import catalog
from models.training.data import text as text_data
from models.training.data.text_corpus import real_sources
from models.training.data.text_paragraphs import to_ascii

needs_text = pytest.mark.skipif(
    sum(bool(s.files()) for s in real_sources()) < 10,
    reason="the catalogue's text sources are not installed (make data)")
GENERATOR_FAMILIES = set(text_data.GENERATOR_FAMILIES.values())


@pytest.fixture
def var(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DETECTOR_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("JWT_SECRET", "x" * 40)
    return tmp_path


@needs_text
def test_samples_carry_family_source_and_stay_reproducible(var: Path) -> None:
    samples = text_data.generate(40, seed=1)  # under NEURAL_FULL_FROM: the quick char-LM
    real_families = {s.family for s in real_sources()}
    names = {s.name for s in catalog.select("text")}
    human = [s for s in samples if not s.label]
    assert len(human) == 40 and len({s.family for s in human}) >= 8
    assert {s.family for s in human} <= real_families
    for s in samples:
        assert s.info["source"] in names
        assert s.family in real_families | GENERATOR_FAMILIES
        assert isinstance(s.media, str) and len(s.media.split()) >= 3
        if s.label and s.kind in {"markov1", "markov2", "markov3", "dadadodo", "scrambled"}:
            assert s.family in real_families  # derived from a family's text: keeps it
        if s.kind == "polygen":
            assert s.family == "polygen"
        if s.kind == "charlm":
            assert s.family == "text-generators"
    assert not any(text_data.is_reference(s.group, 1) for s in human)
    reference = "\n".join(text_data.reference_texts(1)).lower()
    for s in samples:  # a Markov text is never a verbatim copy of its training text
        if s.kind.startswith("markov"):
            assert to_ascii(" ".join(s.media.split())).lower() not in reference
    again = text_data.generate(40, seed=1)
    assert [(s.media, s.kind, s.family, s.group) for s in samples] == [
        (s.media, s.kind, s.family, s.group) for s in again]


@needs_text
def test_reference_corpus_spans_families_and_excludes_on_request() -> None:
    texts = text_data.reference_texts(0)
    reference, pool = text_data._split_corpus(0)
    assert len(reference) >= 10
    assert all(len(t) <= text_data.REFERENCE_PER_FAMILY for t in reference.values())
    assert len(texts) == sum(len(t) for t in reference.values())
    samples = {p.text for ps in pool.values() for p in ps}
    assert samples.isdisjoint(texts)
    held_out = text_data.reference_texts(0, exclude_families=["bible-kjv"])
    assert len(held_out) == len(texts) - len(reference["bible-kjv"])


@needs_text
def test_extra_synthetic_source_replaces_only_its_own_samples(var: Path) -> None:
    extra = text_data.ExtraSynthetic(kind="llm", family="llm-test", source="text-generators",
                                     texts=("An LLM wrote this sentence. And this one.",),
                                     share=0.3)
    picks = text_data.extra_draw(40, 2, [extra])
    assert not any(p >= 0 for p in picks[0::2]) and any(p == 0 for p in picks[1::2])
    neural = text_data.neural_draw(40, 2)
    with_extra = text_data.generate(40, seed=2, extra=[extra])
    without = text_data.generate(40, seed=2)
    for pick, flag, s, w in zip(picks, neural, with_extra, without, strict=True):
        if pick < 0 or flag:
            assert (s.media, s.kind, s.family) == (w.media, w.kind, w.family)
        else:
            assert (s.kind, s.family, s.label) == ("llm", "llm-test", 1)
            assert " ".join(s.media.split()).lower().startswith("an llm wrote")


def test_extra_shares_are_checked() -> None:
    too_much = text_data.ExtraSynthetic("llm", "llm", "text-generators", ("x",), 0.6)
    with pytest.raises(ValueError, match="add up"):
        text_data.extra_draw(10, 0, [too_much, too_much])
    empty = text_data.ExtraSynthetic("llm", "llm", "text-generators", (), 0.1)
    with pytest.raises(ValueError, match="no texts"):
        text_data.extra_draw(10, 0, [empty])
    with pytest.raises(ValueError, match="positive"):
        text_data.generate(0)


def test_markov_runs_on_past_a_text_end_and_texts_end_at_sentences() -> None:
    chain = text_data.Markov(["The cat sat. It purred.", "A dog barked loudly."], order=1)
    out = chain.generate(np.random.default_rng(0), 12)
    assert len(out.split()) >= 6  # half of the asked length at least, over several texts
    assert text_data.end_at_sentence("One two three four. Five six") == "One two three four."
    assert text_data.end_at_sentence("One. Two three four five six seven") == (
        "One. Two three four five six seven")  # a cut would keep too little


def test_lm_written_texts_are_a_synthetic_family_one_group_per_text() -> None:
    from models.training.data import generate

    samples = generate("text", 120, 0)
    llm = [s for s in samples if s.kind == "smollm2"]
    assert llm and all(s.label == 1 and s.family == "smollm2" for s in llm)
    by_group: dict[str, set[str]] = {}
    for s in llm:
        by_group.setdefault(s.group, set()).add(s.info["source"])
    assert all(g.startswith("smollm2-text-") for g in by_group)
