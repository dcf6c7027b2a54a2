"""How much SmolLM2's own likelihoods separate its texts from human ones (not in the product).

`python -m benchmarks.llm_evidence [--n 40]`: scores N human fortunes (40+ words) and N committed
SmolLM2 texts (`models/training/data/generated/smollm2.jsonl`, cut to the same length range) with
SmolLM2-135M-Instruct itself, one CPU thread, and prints JSON: the ROC AUC (machine = positive,
each statistic oriented so that higher means machine) of

- `loglik`: mean token log-likelihood,
- `neg_entropy`: minus the mean predictive entropy,
- `fast_detectgpt`: Fast-DetectGPT's analytic sampling-discrepancy curvature (Bao et al. 2024),
  with the one model as both sampling and scoring model:
  (sum log p(x_j) - sum mu_j) / sqrt(sum var_j), mu_j and var_j the mean and variance of
  log p under the model's own predictive distribution at position j,

and the median milliseconds to score one 2 KB text. Needs the `llm` extra.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import time
from typing import Any

MAX_CHARS = 600  # the longest fortune models.training.data.text keeps: both classes cut to this
MIN_WORDS = 40


def stats(tokenizer: Any, model: Any, text: str, max_tokens: int = 512) -> dict[str, float]:
    """Per-text statistics of `text` under the model (plain text, no chat template)."""
    import torch

    ids = tokenizer(text, return_tensors="pt").input_ids[:, :max_tokens]
    with torch.no_grad():
        logits = model(ids).logits[0, :-1].float()
    logp = torch.log_softmax(logits, dim=-1)
    target = ids[0, 1:]
    ll = logp.gather(1, target[:, None])[:, 0]
    p = logp.exp()
    mu = (p * logp).sum(-1)
    var = (p * logp.square()).sum(-1) - mu.square()
    return {
        "loglik": float(ll.mean()),
        "neg_entropy": float(mu.mean()),
        "fast_detectgpt": float((ll.sum() - mu.sum()) / var.sum().sqrt()),
    }


def _cut(text: str, limit: int = MAX_CHARS) -> str:
    if len(text) <= limit:
        return text
    cut = text[:limit]
    end = max(cut.rfind(". "), cut.rfind("! "), cut.rfind("? "))
    return cut[: end + 1] if end > limit // 2 else cut.rsplit(" ", 1)[0]


def samples(n: int, seed: int = 0) -> tuple[list[str], list[str]]:
    """(human, machine) texts: N fortunes of 40+ words from many files, N SmolLM2 texts."""
    from models.training.data.llm_text import llm_texts
    from models.training.data.text import fortunes

    human = [t for _, t in fortunes() if len(t.split()) >= MIN_WORDS]
    random.Random(seed).shuffle(human)
    machine = [_cut(r["text"]) for r in llm_texts()]
    random.Random(seed).shuffle(machine)
    return human[:n], machine[:n]


def auc(pos: list[float], neg: list[float]) -> float:
    """P(a positive scores above a negative), ties counted half (the ROC AUC)."""
    wins = sum((p > q) + 0.5 * (p == q) for p in pos for q in neg)
    return wins / (len(pos) * len(neg))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.llm_evidence")
    parser.add_argument("--n", type=int, default=40)
    parser.add_argument("--threads", type=int, default=int(os.environ.get("OMP_NUM_THREADS", 1)))
    args = parser.parse_args(argv)
    import torch

    from models.training.data.llm_text import load_model

    torch.set_num_threads(args.threads)
    tokenizer, model = load_model()
    human, machine = samples(args.n)
    h = [stats(tokenizer, model, t) for t in human]
    m = [stats(tokenizer, model, t) for t in machine]
    two_kb = (" ".join(human) * 4)[:2048]
    times = []
    for _ in range(5):
        began = time.perf_counter()
        stats(tokenizer, model, two_kb)
        times.append(1000 * (time.perf_counter() - began))
    result = {
        "n_human": len(h), "n_machine": len(m), "threads": args.threads,
        "auc": {k: round(auc([s[k] for s in m], [s[k] for s in h]), 3) for k in h[0]},
        "median": {k: {"human": round(statistics.median(s[k] for s in h), 3),
                       "machine": round(statistics.median(s[k] for s in m), 3)} for k in h[0]},
        "ms_per_2kb_text": round(statistics.median(times), 1),
        "tokens_in_2kb_text": int(tokenizer(two_kb, return_tensors="pt").input_ids.shape[1]),
    }
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
