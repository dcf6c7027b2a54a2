"""Vet a registered version's files before loading: known names, recorded digests, weights only."""

from __future__ import annotations

import hashlib
import pickle
from pathlib import Path
from typing import Any

from models.checkpoint import load_checkpoint

# The only files a version may carry: its state dict and, for text, its language models
# (`models.features.text_lm.ARTIFACT_NAME`, a numpy archive read with allow_pickle=False).
TEXT_LM_FILE = "text-lm.npz"


class UntrustedArtifactError(ValueError):
    """A version's artifacts are not the weights-only files registered with their digests."""


def sha256(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def allowed_files(modality: str) -> set[str]:
    """File names a version of `modality` may hold."""
    return {f"{modality}.pt"} | ({TEXT_LM_FILE} if modality == "text" else set())


def vetted_weights(local: Path, modality: str, tags: dict[str, str]) -> Path:
    """The version's `<modality>.pt`, after checking that the downloaded folder holds only
    known files and that the weights match the `weights_sha256` recorded at registration.

    Anything else (an `mlflow.pytorch` model with its pickled `MLmodel` folder, an extra file,
    a missing or different digest) raises UntrustedArtifactError before a byte is unpickled.
    """
    folder = local if local.is_dir() else local.parent
    files = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    unknown = sorted(files - allowed_files(modality))
    if unknown:
        raise UntrustedArtifactError(
            f"refusing to load {modality} version: unexpected artifact files {unknown[:5]} "
            "(only weights-only state dicts registered by models.registry.client are loaded)")
    weights = folder / f"{modality}.pt"
    if not weights.is_file():
        raise UntrustedArtifactError(f"refusing to load: {weights.name} is not among the "
                                     "version's artifacts")
    expected = tags.get("weights_sha256")
    if not expected:
        raise UntrustedArtifactError("refusing to load: the version has no weights_sha256 "
                                     "tag recorded at registration")
    digest = sha256(weights)
    if digest != expected:
        raise UntrustedArtifactError(
            f"{weights.name} digest {digest[:12]}... does not match the registered "
            f"weights_sha256 {expected[:12]}...: refusing to load")
    return weights


def load_state_dict_checkpoint(weights: Path) -> dict[str, Any]:
    """`models.checkpoint.load_checkpoint` (torch.load with weights_only=True); a file that
    needs arbitrary unpickling raises UntrustedArtifactError instead of running code."""
    try:
        return load_checkpoint(weights)
    except (pickle.UnpicklingError, RuntimeError, AttributeError, TypeError) as exc:
        raise UntrustedArtifactError(
            f"refusing to load {weights.name}: not a weights-only state dict ({exc})"
        ) from exc
