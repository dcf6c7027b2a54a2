"""Weights files: state dict, network hyper-parameters, calibration and decision thresholds.

`media_calibration` `(a, b)` maps the aggregated media score to a calibrated probability
(`models.training.calibration.calibrate`); files written before it existed read as the identity.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from models.features import FEATURE_VERSION
from models.training.networks import build_network

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
FORMAT = 1


def save_checkpoint(
    path: str | Path,
    modality: str,
    network: nn.Module,
    hparams: dict[str, Any],
    temperature: float = 1.0,
    threshold: float = 0.5,
    uncertain_band: float = 0.1,
    media_calibration: tuple[float, float] = (1.0, 0.0),
    metrics: dict[str, Any] | None = None,
) -> Path:
    """Write `<modality>.pt`: everything needed to rebuild and use the network."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().clone() for k, v in network.state_dict().items()}
    torch.save(
        {
            "format": FORMAT,
            "feature_version": FEATURE_VERSION,
            "modality": modality,
            "hparams": dict(hparams),
            "state_dict": state,
            "temperature": float(temperature),
            "threshold": float(threshold),
            "uncertain_band": float(uncertain_band),
            "media_calibration": [float(v) for v in media_calibration],
            "metrics": dict(metrics or {}),
        },
        path,
    )
    return path


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read a weights file written by `save_checkpoint` (tensors only, no pickled code)."""
    ckpt = torch.load(Path(path), map_location="cpu", weights_only=True)
    if ckpt.get("format") != FORMAT:
        raise ValueError(f"{path}: unsupported weights format {ckpt.get('format')!r}")
    return ckpt


def network_from_checkpoint(ckpt: dict[str, Any]) -> nn.Module:
    """Rebuild the network of a checkpoint in eval mode."""
    network = build_network(ckpt["modality"], **ckpt["hparams"])
    network.load_state_dict(ckpt["state_dict"])
    return network.eval()
