"""Text generator: a character-level GRU language model trained on the reference human text."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from models.training.generator_cache import cache_path, default_cache_dir, load_or_train
from models.training.threads import single_thread

CODE_VERSION = 2  # bump when the network, the vocabulary, the training loop or its corpus changes
EOT = 0  # end of a text; also the start symbol when sampling
ALPHABET = "\n\t" + "".join(chr(c) for c in range(32, 127))
_INDEX = {c: i + 1 for i, c in enumerate(ALPHABET)}
VOCAB = len(ALPHABET) + 1
_WORD = re.compile(r"\S+")


@dataclass(frozen=True)
class CharLMSettings:
    """Training budget and shape of the language model."""

    steps: int = 250
    batch: int = 64  # a GRU step costs about the same at 32 and 64 rows on one CPU thread
    length: int = 96
    lr: float = 8e-3
    embed: int = 32
    hidden: int = 128


FULL = CharLMSettings()
QUICK = CharLMSettings(steps=40, batch=16, hidden=64)  # for data sets too small to pay for FULL
TEMPERATURE = 0.6  # below 1: fewer invented words (about 3 in 4 words are real at 0.6)


class CharLM(nn.Module):
    """Embedding, one GRU layer, a linear read-out of the next character."""

    def __init__(self, embed: int = 32, hidden: int = 128) -> None:
        super().__init__()
        self.embed = nn.Embedding(VOCAB, embed)
        self.gru = nn.GRU(embed, hidden, batch_first=True)
        self.out = nn.Linear(hidden, VOCAB)

    def forward(
        self, ids: torch.Tensor, state: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        h, state = self.gru(self.embed(ids), state)
        return self.out(h), state


def encode(texts: list[str]) -> np.ndarray:
    """Texts as one id stream, each followed by EOT; characters outside ALPHABET become ' '."""
    space = _INDEX[" "]
    ids: list[int] = []
    for text in texts:
        ids.extend(_INDEX.get(c, space) for c in text)
        ids.append(EOT)
    return np.asarray(ids, dtype=np.int64)


def decode(ids: list[int]) -> str:
    return "".join(ALPHABET[i - 1] for i in ids if i != EOT)


def train_charlm(texts: list[str], seed: int = 0, settings: CharLMSettings = FULL) -> CharLM:
    """Train on random windows of the EOT-joined `texts` (cross-entropy, Adam), seeded and on
    one thread so that the same texts, seed and settings give the same weights."""
    stream = torch.from_numpy(encode(texts))
    n = settings.length + 1
    if len(stream) <= n:
        raise ValueError("too little text to train the language model")
    with single_thread():
        torch.manual_seed(seed)
        model = CharLM(settings.embed, settings.hidden)
        optimiser = torch.optim.Adam(model.parameters(), lr=settings.lr)
        schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, settings.lr,
                                                       total_steps=max(1, settings.steps))
        order = torch.Generator().manual_seed(seed)
        offsets = torch.arange(n)
        model.train()
        for _ in range(settings.steps):
            starts = torch.randint(len(stream) - n, (settings.batch,), generator=order)
            window = stream[starts[:, None] + offsets]
            logits, _ = model(window[:, :-1])
            loss = nn.functional.cross_entropy(logits.reshape(-1, VOCAB),
                                               window[:, 1:].reshape(-1))
            optimiser.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimiser.step()
            schedule.step()
    return model.eval()


def load_charlm(
    seed: int = 0, settings: CharLMSettings = FULL, cache_dir: Path | None = None
) -> CharLM:
    """The language model for `seed`, from the cache or trained on
    `models.training.data.text.reference_texts(seed)` (never on texts used as samples), then
    cached."""
    path = cache_path(cache_dir or default_cache_dir(), "charlm", seed, asdict(settings),
                      CODE_VERSION)
    from models.training.data.text import reference_texts

    return load_or_train(path, CharLM(settings.embed, settings.hidden),
                         lambda: train_charlm(reference_texts(seed), seed, settings))


def cut_words(text: str, n_words: int) -> str:
    """`text` up to the end of its `n_words`-th word, its own whitespace kept."""
    for i, match in enumerate(_WORD.finditer(text)):
        if i + 1 == n_words:
            return text[: match.end()]
    return text.rstrip()


def sample(
    model: CharLM, n_words: list[int], seed: int = 0, temperature: float = TEMPERATURE,
    max_chars: int = 900,
) -> list[str]:
    """One text per entry of `n_words`, sampled in one batch: a row ends at EOT once it has at
    least half its words (an earlier EOT starts a new text on the next line), or when it has
    its words; every text is cut to its `n_words`."""
    rows = len(n_words)
    if rows == 0:
        return []
    generator = torch.Generator().manual_seed(seed)
    target = torch.tensor(n_words)
    words = torch.zeros(rows, dtype=torch.long)
    in_word = torch.zeros(rows, dtype=torch.bool)
    done = torch.zeros(rows, dtype=torch.bool)
    out = torch.full((rows, max_chars), EOT, dtype=torch.long)
    space_like = torch.zeros(VOCAB, dtype=torch.bool)
    for c in " \n\t":
        space_like[_INDEX[c]] = True
    space_like[EOT] = True
    newline = _INDEX["\n"]
    ids = torch.full((rows, 1), EOT, dtype=torch.long)
    state = None
    with single_thread(), torch.inference_mode():
        for step in range(max_chars):
            logits, state = model(ids, state)
            probs = torch.softmax(logits[:, -1] / temperature, dim=-1)
            drawn = torch.multinomial(probs, 1, generator=generator)[:, 0]
            ends = (drawn == EOT) & (2 * words >= target)
            # an early EOT: the model starts a new text, which we write on a new line
            nxt = torch.where(drawn == EOT, torch.full_like(drawn, newline), drawn)
            word_char = ~space_like[nxt]
            words += (word_char & ~in_word).long()
            in_word = word_char
            out[:, step] = torch.where(done | ends, EOT, nxt)
            done |= ends | (words > target)
            if bool(done.all()):
                break
            ids = drawn[:, None]
    texts = []
    for row, n in zip(out.tolist(), n_words, strict=True):
        texts.append(cut_words(decode(row).strip(), n))
    return texts
