"""What real-world distribution does to images (re-compression, resizing, crops, colour,
screenshots), as random training augmentation and as named robustness transformations."""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from models.features.image import PATCH
from models.training.data import jpeg

MIN_SIDE = 96  # geometric steps never shrink an image below this (the smallest training view;
# at least one PATCH plus margin, so every augmented image still gives whole patches)
ROBUST_MIN_SIDE = PATCH  # the robustness transformations keep at least one whole patch

# Probabilities of each step, the same for both classes (a transformation never decides the
# label). Rates are rough guesses at how often shared photos went through each step.
P_DOWNSCALE = 0.25  # re-sized smaller by a site or a viewer
P_UPSCALE = 0.08  # enlarged (zoomed screenshots, "HD" re-uploads)
P_CROP = 0.3  # cropped
P_SCREENSHOT = 0.08  # displayed at a screen scale, captured, saved losslessly
P_COLOUR = 0.3  # colour / gamma / contrast edit
P_BLUR = 0.12  # slight softening (resampling, a filter)
P_SHARPEN = 0.12  # unsharp-mask sharpening (phones and sites sharpen)
P_JPEG = 0.6  # re-saved as JPEG (most shared photos are)
JPEG_QUALITY = (50, 95)  # range of re-save qualities, both inclusive
DOWNSCALE = (0.5, 0.9)  # scale factors of a downscale
UPSCALE = (1.05, 1.4)  # ... of an upscale
CROP_KEEP = (0.6, 0.95)  # fraction of each side a crop keeps
SCREEN_SCALE = (0.5, 1.0)  # display scale of a screenshot
GAMMA = (0.7, 1.4)  # gamma of a colour edit
GAIN = (0.9, 1.1)  # per-channel gain (white balance) of a colour edit


def _check(image: np.ndarray) -> None:
    if not (isinstance(image, np.ndarray) and image.dtype == np.uint8 and image.ndim == 3
            and image.shape[2] == 3):
        raise ValueError("expected a BGR uint8 image of shape (H, W, 3)")


def resize(image: np.ndarray, scale: float, min_side: int = MIN_SIDE) -> np.ndarray:
    """`image` scaled by `scale` (area when shrinking, bicubic when enlarging); a scale that
    would take a side below `min_side` is raised to keep it there (never above 1 by that)."""
    h, w = image.shape[:2]
    scale = max(scale, min(1.0, min_side / min(h, w)))
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    if size == (w, h):
        return image
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    return cv2.resize(image, size, interpolation=interpolation)


def crop(image: np.ndarray, keep_y: float, keep_x: float, at_y: float, at_x: float,
         min_side: int = MIN_SIDE) -> np.ndarray:
    """A crop keeping `keep_*` of each side (at least `min_side` px), its corner at `at_*`
    (0..1) of the free room."""
    h, w = image.shape[:2]
    ch = min(h, max(min_side, round(h * keep_y)))
    cw = min(w, max(min_side, round(w * keep_x)))
    y, x = round((h - ch) * at_y), round((w - cw) * at_x)
    return np.ascontiguousarray(image[y : y + ch, x : x + cw])


def gamma_gain(image: np.ndarray, gamma: float, gains: np.ndarray | None = None,
               contrast: float = 1.0, brightness: float = 0.0) -> np.ndarray:
    """A colour edit: per-channel gains, then gamma, then contrast about mid-grey and a shift."""
    out = image.astype(np.float32) / 255.0
    if gains is not None:
        out = out * np.asarray(gains, np.float32)
    out = np.power(np.clip(out, 0, 1), gamma)
    out = (out - 0.5) * contrast + 0.5 + brightness / 255.0
    return np.clip(np.rint(out * 255.0), 0, 255).astype(np.uint8)


def blur(image: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian softening with standard deviation `sigma` pixels."""
    return cv2.GaussianBlur(image, (0, 0), sigma)


def sharpen(image: np.ndarray, amount: float, sigma: float = 1.0) -> np.ndarray:
    """Unsharp masking: `image + amount * (image - blur(image))`."""
    soft = cv2.GaussianBlur(image, (0, 0), sigma)
    return cv2.addWeighted(image, 1.0 + amount, soft, -amount, 0)


def png(image: np.ndarray) -> np.ndarray:
    """A lossless PNG round trip (encode, decode): what a screenshot file keeps."""
    ok, buf = cv2.imencode(".png", image)
    if not ok:
        raise RuntimeError("PNG encoding failed")
    return cv2.imdecode(buf, cv2.IMREAD_COLOR)


def screenshot(image: np.ndarray, scale: float, min_side: int = MIN_SIDE) -> np.ndarray:
    """An image shown at a screen scale (bilinear, as viewers draw), lightly sharpened by the
    display pipeline, captured and saved as PNG."""
    h, w = image.shape[:2]
    scale = max(scale, min(1.0, min_side / min(h, w)))
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    shown = cv2.resize(image, size, interpolation=cv2.INTER_LINEAR) if size != (w, h) else image
    return png(sharpen(shown, 0.3, 0.8))


def augment_geometry(rng: np.random.Generator, image: np.ndarray) -> np.ndarray:
    """The geometric steps (resize, crop, screenshot), each drawn with its fixed probability.
    Applied before a fake is made, so that its manipulation mask stays aligned."""
    _check(image)
    u = rng.random(4)
    if u[0] < P_DOWNSCALE:
        image = resize(image, float(rng.uniform(*DOWNSCALE)))
    elif u[0] < P_DOWNSCALE + P_UPSCALE:
        image = resize(image, float(rng.uniform(*UPSCALE)))
    if u[1] < P_CROP:
        keep = rng.uniform(*CROP_KEEP, 2)
        at = rng.random(2)
        image = crop(image, float(keep[0]), float(keep[1]), float(at[0]), float(at[1]))
    if u[2] < P_SCREENSHOT:
        image = screenshot(image, float(rng.uniform(*SCREEN_SCALE)))
    return image


def augment_photometric(rng: np.random.Generator, image: np.ndarray) -> np.ndarray:
    """The pixel-value steps (colour, blur or sharpening, JPEG re-save), each drawn with its
    fixed probability; the image keeps its size, so masks stay aligned."""
    _check(image)
    u = rng.random(3)
    if u[0] < P_COLOUR:
        image = gamma_gain(image, float(rng.uniform(*GAMMA)), rng.uniform(*GAIN, 3),
                           float(rng.uniform(0.9, 1.1)), float(rng.uniform(-10, 10)))
    if u[1] < P_BLUR:
        image = blur(image, float(rng.uniform(0.5, 1.2)))
    elif u[1] < P_BLUR + P_SHARPEN:
        image = sharpen(image, float(rng.uniform(0.3, 1.0)))
    if u[2] < P_JPEG:
        image = jpeg(image, int(rng.integers(JPEG_QUALITY[0], JPEG_QUALITY[1] + 1)))
    return image


def augment(rng: np.random.Generator, image: np.ndarray) -> np.ndarray:
    """A random chain of what sharing does to an image: geometric steps then pixel steps."""
    return augment_photometric(rng, augment_geometry(rng, image))


ROBUSTNESS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "jpeg-70": lambda image: jpeg(image, 70),
    "resize-0.5": lambda image: resize(image, 0.5, ROBUST_MIN_SIDE),
    "crop-center": lambda image: crop(image, 0.6, 0.6, 0.5, 0.5, ROBUST_MIN_SIDE),
    "gamma-0.8": lambda image: gamma_gain(image, 0.8),
    "blur-1": lambda image: blur(image, 1.0),
    "screenshot-png": lambda image: screenshot(image, 0.75, ROBUST_MIN_SIDE),
}
"""Deterministic transformations `detector evaluate` applies to real and synthetic test images
(one each): re-compression, halving, a centre crop, a gamma edit, softening, a screenshot."""
