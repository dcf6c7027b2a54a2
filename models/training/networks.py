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


class RadialSpectrum(nn.Module):
    """Azimuthally averaged log power spectrum of the grey unit (Durall et al. 2020): up-sampling
    removes or mirrors high frequencies, which shows as a bent tail of this curve."""

    def __init__(self, size: int = 64, bins: int = 32) -> None:
        super().__init__()
        u = torch.arange(size) - size // 2
        radius = torch.sqrt(u[:, None].float() ** 2 + u[None, :].float() ** 2)
        index = torch.clamp((radius / (size / 2) * bins).long(), max=bins - 1).reshape(-1)
        onehot = torch.zeros(size * size, bins)
        onehot[torch.arange(size * size), index] = 1.0
        self.register_buffer("average", onehot / onehot.sum(0, keepdim=True), persistent=False)
        self.size = size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        grey = x[:, :3].mean(dim=1)
        grey = grey - grey.mean(dim=(1, 2), keepdim=True)
        power = torch.fft.fftshift(torch.fft.fft2(grey).abs() ** 2, dim=(-2, -1))
        spectrum = torch.log(power.reshape(len(x), -1) + 1e-6) @ self.average
        return spectrum - spectrum.mean(dim=1, keepdim=True)


class PatchCNN(nn.Module):
    """A small CNN over (C, H, W) units (global average + max pooling), optionally joined by
    the radial spectrum of the unit."""

    def __init__(
        self, in_channels: int = 5, width: int = 8, dropout: float = 0.2, spectrum: bool = False,
        size: int = 64, stem_stride: int = 1,
    ) -> None:
        super().__init__()
        w = width
        self.features = nn.Sequential(
            # stride 1: full resolution; stride 2 still sees every pixel (3x3 kernels) at a
            # quarter of the cost
            _conv_block(in_channels, w, stride=stem_stride),
            _conv_block(w, w * 2),
            _conv_block(w * 2, w * 4),
            _conv_block(w * 4, w * 8),
            _conv_block(w * 8, w * 8),
        )
        self.spectrum = RadialSpectrum(size) if spectrum else None
        extra = 32 if spectrum else 0
        self.spectrum_head = nn.Sequential(nn.Linear(32, 32), nn.ReLU(inplace=True)) if (
            spectrum) else None
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(w * 16 + extra, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.features(x)
        parts = [h.mean(dim=(2, 3)), h.amax(dim=(2, 3))]
        if self.spectrum is not None and self.spectrum_head is not None:
            parts.append(self.spectrum_head(self.spectrum(x)))
        return self.head(torch.cat(parts, dim=1)).squeeze(-1)


class RingProfile(nn.Module):
    """Mean of each channel (and of the grey high-pass residual's magnitude) over concentric
    rings around the centre of the unit, each profile minus its own mean, plus each map's
    spread. A manipulated face or central region differs from its surround in colour, in
    sharpness and in how it changes from frame to frame; the profile sees that contrast while
    discarding the layout of the content."""

    def __init__(self, size: int = 64, rings: int = 10, channels: int = 4) -> None:
        super().__init__()
        u = torch.arange(size).float() - (size - 1) / 2
        radius = torch.sqrt(u[:, None] ** 2 + u[None, :] ** 2) / (size / 2)
        index = torch.clamp((radius * 8).long(), max=rings - 1).reshape(-1)
        onehot = torch.zeros(size * size, rings)
        onehot[torch.arange(size * size), index] = 1.0
        self.register_buffer("average", onehot / onehot.sum(0, keepdim=True), persistent=False)
        self.out_features = (channels + 1) * (rings + 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        grey = x[:, :3].mean(dim=1, keepdim=True)
        blur = nn.functional.avg_pool2d(grey, 3, stride=1, padding=1, count_include_pad=False)
        maps = torch.cat([x[:, :3], x[:, 3:].abs(), (grey - blur).abs() * 8], dim=1).flatten(2)
        profile = maps @ self.average
        profile = profile - profile.mean(dim=2, keepdim=True)
        return torch.cat([profile, maps.std(dim=2, keepdim=True)], dim=2).flatten(1) * 4


class ProfileMLP(nn.Module):
    """A perceptron over the `RingProfile` of each (C, H, W) unit (video frames)."""

    def __init__(self, in_channels: int = 4, size: int = 64, hidden: int = 64,
                 dropout: float = 0.2) -> None:
        super().__init__()
        self.profile = RingProfile(size, channels=in_channels)
        self.net = nn.Sequential(
            nn.Linear(self.profile.out_features, hidden), nn.ReLU(inplace=True),
            nn.Dropout(dropout), nn.Linear(hidden, hidden // 2), nn.ReLU(inplace=True),
            nn.Linear(hidden // 2, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(self.profile(x)).squeeze(-1)


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


class NgramTable(nn.Module):
    """A set of hashed word n-grams (a bit per id, `2**bits` ids) seen in human text, held as a
    buffer so that it travels with the weights."""

    def __init__(self, bits: int = 22) -> None:
        super().__init__()
        self.register_buffer("table", torch.zeros(1 << max(0, bits - 3), dtype=torch.uint8))
        self.bits = bits

    def fill(self, ids: Any) -> None:
        """Mark the given ids (an iterable of ints in `[0, 2**bits)`) as seen."""
        index = torch.as_tensor(list(ids), dtype=torch.long)
        if len(index) == 0:
            return
        flat = torch.zeros(1 << self.bits, dtype=torch.bool)
        flat[index] = True
        weights = (2 ** torch.arange(8, dtype=torch.int32))
        packed = (flat.reshape(-1, 8).to(torch.int32) * weights).sum(1).to(torch.uint8)
        self.table.copy_(self.table | packed)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        """1.0 where an id (>= 0) is in the table, else 0.0 (padding -1 gives 0)."""
        index = ids.clamp(min=0).long()
        byte = self.table[index >> 3].to(torch.int32)
        return (((byte >> (index & 7)) & 1) > 0).float() * (ids >= 0).float()


class TextMLP(nn.Module):
    """A perceptron over hashed n-gram vectors and document statistics, joined by how many of
    the window's word 2-grams and 3-grams a table of human text has seen: a word Markov chain
    only re-uses transitions it has seen, while new human text keeps making unseen ones; and
    (`lm_stats`, the last columns) by how far the window's fluency under language models of
    human text lies from the human range, on either side (`models.features.text_lm`)."""

    def __init__(
        self, in_features: int = 4096, hidden: int = 32, dropout: float = 0.3, doc_stats: int = 0,
        ngram_ids: int = 0, table_bits: int = 22, lm_stats: int = 0,
    ) -> None:
        super().__init__()
        self.in_features, self.doc_stats, self.ngram_ids = in_features, doc_stats, ngram_ids
        self.lm_stats = lm_stats
        self.net = nn.Sequential(
            nn.Dropout(dropout),
            nn.Linear(in_features, hidden),
            nn.ReLU(inplace=True),
        )
        self.bigrams = NgramTable(table_bits) if ngram_ids else None
        self.trigrams = NgramTable(table_bits) if ngram_ids else None
        extra = doc_stats + (6 if ngram_ids else 0) + lm_stats
        self.head = nn.Sequential(nn.Linear(hidden + extra, 16), nn.ReLU(inplace=True),
                                  nn.Linear(16, 1))

    def ngram_features(self, x: torch.Tensor) -> torch.Tensor:
        """Seen fractions and counts of the window's 2-grams and 3-grams: (N, 6)."""
        start = self.in_features + self.doc_stats
        parts = []
        middle, end = start + self.ngram_ids, start + 2 * self.ngram_ids
        for table, ids in ((self.bigrams, x[:, start:middle]), (self.trigrams, x[:, middle:end])):
            assert table is not None
            valid = (ids >= 0).float().sum(1)
            seen = table(ids).sum(1)
            parts += [seen / valid.clamp(min=1), (valid - seen) / valid.clamp(min=1) ** 0.5,
                      torch.log1p(valid) / 5]
        return torch.stack(parts, dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        parts = [self.net(x[:, : self.in_features])]
        if self.doc_stats:
            parts.append(x[:, self.in_features : self.in_features + self.doc_stats])
        if self.ngram_ids:
            parts.append(self.ngram_features(x))
        if self.lm_stats:
            parts.append(x[:, x.shape[1] - self.lm_stats :])
        return self.head(torch.cat(parts, dim=1)).squeeze(-1)


_ARCHITECTURES: dict[str, type[nn.Module]] = {
    "image": PatchCNN,
    "video": ProfileMLP,
    "audio": SpectroCNN,
    "text": TextMLP,
}

DEFAULT_HPARAMS: dict[str, dict[str, Any]] = {
    "image": {"in_channels": 5, "width": 8, "spectrum": True, "stem_stride": 1},
    "video": {"in_channels": 5, "hidden": 64},
    "audio": {"in_channels": 2, "width": 16},
    "text": {"in_features": 4096, "hidden": 8, "dropout": 0.5, "doc_stats": 16, "ngram_ids": 128,
             "table_bits": 22, "lm_stats": 24},
}


def build_network(modality: str, **hparams: Any) -> nn.Module:
    """The network for `modality`, built from keyword hyper-parameters (defaults filled in)."""
    if modality not in _ARCHITECTURES:
        raise ValueError(f"unknown modality {modality!r}")
    kwargs = {**DEFAULT_HPARAMS[modality], **hparams}
    return _ARCHITECTURES[modality](**kwargs)
