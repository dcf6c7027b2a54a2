"""Seeded labelled data sets (authentic = 0, synthetic = 1) built from offline media."""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

SPLITS = ("train", "val", "test")


@dataclass
class Sample:
    """One labelled media item in the decoded form `models.features.featurize` takes.

    `group` names the real item (recording, photo, text; a speaker or author where known) it
    derives from; samples of one group share a split. `family` names its catalogue source
    family (`models/training/data/catalog.toml`): a fake made from a real item keeps the real item's
    family, a generated item (text-to-speech, LM text) has its generator's family; families
    decide the splits and the leave-one-source-family-out evaluation. `kind` is the generator
    (or the real item's kind). `mask` (images only) marks manipulated pixels in [0, 1]; None
    means the whole item.
    """

    media: Any
    label: int
    kind: str
    group: str
    mask: np.ndarray | None = None
    family: str = ""
    info: dict[str, Any] = field(default_factory=dict)


def split_of(group: str, seed: int = 0, fractions: tuple[float, float] = (0.7, 0.15)) -> str:
    """A stable train/val/test assignment of a group name (hash-based, seed-dependent)."""
    u = (zlib.crc32(f"{seed}:{group}".encode()) % 10_000) / 10_000
    if u < fractions[0]:
        return "train"
    return "val" if u < fractions[0] + fractions[1] else "test"


def jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    """Re-encode a BGR image as JPEG at `quality` and decode it again."""
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return cv2.imdecode(buf, cv2.IMREAD_COLOR)


def generate(modality: str, n_per_class: int, seed: int = 0) -> list[Sample]:
    """`n_per_class` authentic and `n_per_class` synthetic samples of `modality`, seeded."""
    from models.training.data import audio, image, text, video

    modules = {"image": image, "audio": audio, "video": video, "text": text}
    if modality not in modules:
        raise ValueError(f"unknown modality {modality!r}")
    if modality == "text":
        return text.generate(n_per_class, seed, extra=llm_extra())
    return modules[modality].generate(n_per_class, seed)


LLM_SHARE = 0.15
"""Share of the machine-written text samples that are LM-written (the committed SmolLM2 texts):
the synthetic text people bring is mostly written by language models."""


def llm_extra() -> list:
    """The committed SmolLM2 texts as an extra synthetic text source (none if the file is
    missing, e.g. a trimmed install)."""
    from models.training.data.llm_text import llm_texts
    from models.training.data.text import ExtraSynthetic

    try:
        texts = tuple(r["text"] for r in llm_texts())
    except FileNotFoundError:
        return []
    return [ExtraSynthetic("smollm2", "smollm2", "smollm2-text", texts, LLM_SHARE)] if texts else []
