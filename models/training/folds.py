"""Which media a model may learn from: held-out items, and folds of whole source families.

Two rules, both seeded and stable:

- **Held-out items** (`holdout`): about `HOLDOUT_SHARE` of the real items (by a hash of their
  `group`: recording, speaker, photo, document) and every fake made from them are never trained
  on by any model; they fit the unit temperature and let the promotion gate compare versions.
- **Family folds** (`family_folds`): every real source family (catalogue `family`) is put whole
  into one of `k` folds, so a fold's model has never seen a single item of the families it is
  tested on. Fakes made from a real item follow its family. Generated items that belong to no
  real family (text-to-speech, LM text: their family names the generator) are spread over the
  folds by group, so each fold is tested on every generator; whether a detector generalises to
  an unseen *generator* is the leave-one-generator-out evaluation's question.
"""

from __future__ import annotations

import zlib

import numpy as np

HOLDOUT_SHARE = 0.15
MAX_FOLDS = 4
"""At most this many folds of families (each costs one training run)."""


def _unit(text: str, seed: int) -> float:
    return (zlib.crc32(f"{seed}:{text}".encode()) % 10_000) / 10_000


def holdout(groups: np.ndarray, seed: int = 0, share: float = HOLDOUT_SHARE) -> np.ndarray:
    """A bool per media: held out from every model's training (by a hash of its group)."""
    return np.array([_unit(f"holdout:{g}", seed) < share for g in groups], dtype=bool)


def real_families(families: np.ndarray, labels: np.ndarray) -> list[str]:
    """The families that hold at least one real item, sorted."""
    return sorted({str(f) for f, y in zip(families, labels, strict=True) if int(y) == 0})


def fold_count(families: np.ndarray, labels: np.ndarray, max_folds: int = MAX_FOLDS) -> int:
    """`min(max_folds, number of real families)`, at least 2."""
    return max(2, min(max_folds, len(real_families(families, labels))))


def family_folds(families: np.ndarray, groups: np.ndarray, labels: np.ndarray, k: int,
                 seed: int = 0) -> np.ndarray:
    """The fold (0..k-1) of each media. Real families are dealt whole, largest first, each to the
    fold with the fewest media so far (ties by a seeded hash), so folds stay comparable in size.
    With fewer than two real families every item is dealt by group instead (a tiny data set)."""
    families, groups = np.asarray(families).astype(str), np.asarray(groups).astype(str)
    real = real_families(families, labels)
    folds = np.array([int(_unit(f"fold:{g}", seed) * k) for g in groups], dtype=np.int64)
    if len(real) < 2:
        return folds
    sizes = {f: int((families == f).sum()) for f in real}
    order = sorted(real, key=lambda f: (-sizes[f], _unit(f"family:{f}", seed)))
    load = np.zeros(k, dtype=np.int64)
    assigned: dict[str, int] = {}
    for family in order:
        fold = int(np.argmin(load))
        assigned[family] = fold
        load[fold] += sizes[family]
    for i, family in enumerate(families):
        if family in assigned:
            folds[i] = assigned[family]
    return folds
