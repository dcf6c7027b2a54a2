"""Small torch networks, one per modality, each mapping a batch of units to one logit per unit."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn


def _conv_block(c_in: int, c_out: int, stride: int = 2) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    )


class PatchCNN(nn.Module):
    """A 4-stage CNN over (C, H, W) units with global average + max pooling."""

    def __init__(self, in_channels: int = 4, width: int = 16, dropout: float = 0.2) -> None:
        super().__init__()
        w = width
        self.features = nn.Sequential(
            _conv_block(in_channels, w, stride=1),  # keep full resolution for pixel artefacts
            _conv_block(w, w * 2),
            _conv_block(w * 2, w * 4),
            _conv_block(w * 4, w * 4),
        )
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(w * 8, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.features(x)
        pooled = torch.cat([h.mean(dim=(2, 3)), h.amax(dim=(2, 3))], dim=1)
        return self.head(pooled).squeeze(-1)


class SpectroCNN(nn.Module):
    """A CNN over (1, mels, frames) log-mel segments."""

    def __init__(self, in_channels: int = 1, width: int = 16, dropout: float = 0.2) -> None:
        super().__init__()
        w = width
        self.features = nn.Sequential(
            _conv_block(in_channels, w, stride=1),
            nn.MaxPool2d(2),
            _conv_block(w, w * 2, stride=1),
            nn.MaxPool2d(2),
            _conv_block(w * 2, w * 4, stride=1),
            nn.MaxPool2d(2),
            _conv_block(w * 4, w * 4, stride=1),
        )
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(w * 8, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.features(x)
        pooled = torch.cat([h.mean(dim=(2, 3)), h.amax(dim=(2, 3))], dim=1)
        return self.head(pooled).squeeze(-1)


class TextMLP(nn.Module):
    """A two-layer perceptron over hashed n-gram vectors."""

    def __init__(self, in_features: int = 4096, hidden: int = 32, dropout: float = 0.3) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Dropout(dropout),
            nn.Linear(in_features, hidden),
            nn.ReLU(inplace=True),
            nn.Linear(hidden, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(-1)


_ARCHITECTURES: dict[str, type[nn.Module]] = {
    "image": PatchCNN,
    "video": PatchCNN,
    "audio": SpectroCNN,
    "text": TextMLP,
}

DEFAULT_HPARAMS: dict[str, dict[str, Any]] = {
    "image": {"in_channels": 4, "width": 16},
    "video": {"in_channels": 4, "width": 16},
    "audio": {"in_channels": 1, "width": 16},
    "text": {"in_features": 4096, "hidden": 32},
}


def build_network(modality: str, **hparams: Any) -> nn.Module:
    """The network for `modality`, built from keyword hyper-parameters (defaults filled in)."""
    if modality not in _ARCHITECTURES:
        raise ValueError(f"unknown modality {modality!r}")
    kwargs = {**DEFAULT_HPARAMS[modality], **hparams}
    return _ARCHITECTURES[modality](**kwargs)
