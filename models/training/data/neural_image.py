"""Image generator: small convolutional auto-encoders, trained on real photo patches, that
re-synthesise whole photos through a bottleneck and learned or resize-then-convolve decoders."""

from __future__ import annotations

import functools
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
from torch import nn

from models.training.generator_cache import cache_path, default_cache_dir, load_or_train
from models.training.threads import single_thread

CODE_VERSION = 2  # bump when the network, the training data or the training loop changes


@dataclass(frozen=True)
class AESettings:
    """Training budget and shape of the auto-encoder."""

    steps: int = 500
    batch: int = 16
    patch: int = 48
    lr: float = 3e-3
    width: int = 32
    bottleneck: int = 12
    pool: int = 3000  # random training patches cut up front
    decoder: str = "transposed"  # one of DECODERS


DECODERS = ("transposed", "nearest", "bilinear")
"""How the decoder up-samples: transposed convolutions (checkerboard traces), or nearest /
bilinear resizing followed by a 3x3 convolution (blockiness / softness instead)."""
FULL = AESettings()
FULL_VARIANTS = (
    FULL,
    AESettings(steps=300, width=24, bottleneck=8, decoder="bilinear"),
    AESettings(steps=300, width=16, bottleneck=16, decoder="nearest"),
)
"""The recipe-size generators: three widths and decoders. The two resize decoders train 300
steps, so that all three (cached) cost about 2.5x the one network they joined (CPU seconds,
measured: 12.6 s for it alone) and the whole data set stays within 2x its former cost."""
QUICK = AESettings(steps=60, pool=300)  # for data sets too small to pay for FULL
QUICK_VARIANTS = (QUICK, AESettings(steps=60, pool=300, width=16, decoder="bilinear"))


def _up(decoder: str, channels_in: int, channels_out: int) -> list[nn.Module]:
    """One 2x up-sampling step of a `DECODERS` kind."""
    if decoder == "transposed":
        return [nn.ConvTranspose2d(channels_in, channels_out, 4, 2, 1)]
    if decoder in ("nearest", "bilinear"):
        return [nn.Upsample(scale_factor=2, mode=decoder),
                nn.Conv2d(channels_in, channels_out, 3, 1, 1)]
    raise ValueError(f"unknown decoder {decoder!r}; expected one of {DECODERS}")


class AutoEncoder(nn.Module):
    """Encoder: two stride-2 convolutions to a `bottleneck`-channel code at 1/4 resolution.
    Decoder: two 2x up-sampling steps back to full resolution, transposed convolutions
    (stride 2, kernel 4: the checkerboard traces of learned up-sampling) or resizing then a
    convolution (`DECODERS`)."""

    def __init__(self, width: int = 32, bottleneck: int = 12, decoder: str = "transposed"
                 ) -> None:
        super().__init__()
        act = functools.partial(nn.LeakyReLU, 0.1)
        self.encoder = nn.Sequential(
            nn.Conv2d(3, width, 4, 2, 1), act(),
            nn.Conv2d(width, 2 * width, 4, 2, 1), act(),
            nn.Conv2d(2 * width, bottleneck, 3, 1, 1),
        )
        self.decoder = nn.Sequential(
            nn.Conv2d(bottleneck, 2 * width, 3, 1, 1), act(),
            *_up(decoder, 2 * width, width), act(),
            *_up(decoder, width, 3),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encoder(x))


def training_patches(
    photos: list[np.ndarray], rng: np.random.Generator, settings: AESettings
) -> np.ndarray:
    """`settings.pool` random patches (N, 3, P, P) in [0, 1] of the photos, at random scales
    and flips, as RGB-ordered float32 (channel order does not matter to the network)."""
    p = settings.patch
    out = np.empty((settings.pool, 3, p, p), np.float32)
    for i in range(settings.pool):
        image = photos[int(rng.integers(len(photos)))]
        h, w = image.shape[:2]
        scale = rng.uniform(0.4, 0.9) if rng.random() < 0.5 else 1.0
        c = min(h, w, round(p / scale))  # crop c x c, then area-scale it to p x p
        y, x = int(rng.integers(0, h - c + 1)), int(rng.integers(0, w - c + 1))
        patch = image[y : y + c, x : x + c]
        if c != p:
            patch = cv2.resize(patch, (p, p), interpolation=cv2.INTER_AREA)
        if rng.random() < 0.5:
            patch = patch[:, ::-1]
        out[i] = patch.transpose(2, 0, 1) / 255.0
    return out


def train_autoencoder(
    photos: list[np.ndarray], seed: int = 0, settings: AESettings = FULL
) -> AutoEncoder:
    """Train the auto-encoder on patches of `photos` (L1 loss, Adam), seeded and on one thread
    so that the same photos, seed and settings give the same weights."""
    rng = np.random.default_rng([seed, 2718])
    patches = torch.from_numpy(training_patches(photos, rng, settings))
    with single_thread():
        torch.manual_seed(seed)
        model = AutoEncoder(settings.width, settings.bottleneck, settings.decoder)
        optimiser = torch.optim.Adam(model.parameters(), lr=settings.lr)
        schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, settings.lr,
                                                       total_steps=max(1, settings.steps))
        order = torch.Generator().manual_seed(seed)
        model.train()
        for _ in range(settings.steps):
            batch = patches[torch.randint(len(patches), (settings.batch,), generator=order)]
            loss = (model(batch) - batch).abs().mean()
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
    return model.eval()


def load_autoencoder(
    seed: int = 0, settings: AESettings = FULL, cache_dir: Path | None = None
) -> AutoEncoder:
    """The auto-encoder for `seed`, from the cache or trained on the real photos whose group
    (photograph) `split_of` puts in the training split (and then cached)."""
    path = cache_path(cache_dir or default_cache_dir(), "autoencoder", seed, asdict(settings),
                      CODE_VERSION)
    from models.training.data import split_of
    from models.training.data.photo_sources import real_photos

    def train() -> AutoEncoder:
        images = [p.image for p in real_photos() if split_of(p.group, seed) == "train"]
        return train_autoencoder(images, seed, settings)

    model = AutoEncoder(settings.width, settings.bottleneck, settings.decoder)
    return load_or_train(path, model, train)


def resynthesise(model: AutoEncoder, image: np.ndarray) -> np.ndarray:
    """`image` (uint8, H x W x 3) passed through the auto-encoder: same shape and dtype."""
    h, w = image.shape[:2]
    ph, pw = (-h) % 4, (-w) % 4
    padded = cv2.copyMakeBorder(image, 0, ph, 0, pw, cv2.BORDER_REFLECT) if ph or pw else image
    x = torch.from_numpy(np.ascontiguousarray(padded.transpose(2, 0, 1))).float()[None] / 255.0
    with single_thread(), torch.inference_mode():
        y = model(x)[0].numpy().transpose(1, 2, 0)[:h, :w]
    return np.clip(np.rint(y * 255.0), 0, 255).astype(np.uint8)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """Peak signal-to-noise ratio of two uint8 images in dB."""
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)
