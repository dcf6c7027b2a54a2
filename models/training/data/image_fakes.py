"""Hand-made image fakes of real photos: up-sampling, self-blends, Poisson clones, copy-move
and same-family splices, each with a map of where it changed the photo."""

from __future__ import annotations

import cv2
import numpy as np

from models.features.image import detect_faces

UPSAMPLE_KERNELS = {
    "nearest": cv2.INTER_NEAREST, "bilinear": cv2.INTER_LINEAR, "bicubic": cv2.INTER_CUBIC,
    "lanczos": cv2.INTER_LANCZOS4, "area": cv2.INTER_AREA,
}
"""Interpolation kernels of the up-sampling fakes (plus a learned-style transposed convolution)."""
UPSAMPLE_FACTORS = (1.5, 2.0, 2.0, 2.5, 3.0, 4.0)  # drawn uniformly: 2x (the common case) twice
MASK_SHAPES = ("ellipse", "polygon", "rectangle", "blob")
REGION = (0.18, 0.35)  # half-axes of a random blend region, as fractions of the image sides
MOVE_REGION = (0.2, 0.4)  # side of a copy-move region, as fractions of the image sides


def _transposed_upsample(rng: np.random.Generator, small: np.ndarray, size: tuple[int, int]
                         ) -> np.ndarray:
    """Zero insertion (stride 2) then a random positive 4x4 kernel, as a transposed
    convolution does; nearest-resized to `size` (w, h)."""
    sh, sw = small.shape[:2]
    zeros = np.zeros((sh * 2, sw * 2, 3), np.float32)
    zeros[::2, ::2] = small
    kernel = rng.uniform(0.2, 1.0, (4, 4)).astype(np.float32)
    kernel *= 4.0 / kernel.sum()
    up = cv2.filter2D(zeros, -1, kernel, borderType=cv2.BORDER_REFLECT)
    return np.clip(cv2.resize(up, size, interpolation=cv2.INTER_NEAREST), 0, 255).astype(np.uint8)


DOWNSAMPLERS = ("area", "bilinear", "blur-decimate")  # how the photo was made small first


def resample(image: np.ndarray, factor: float, kernel: str, down: str = "area",
             rng: np.random.Generator | None = None) -> np.ndarray:
    """`image` down-sampled `factor` times (`DOWNSAMPLERS`) and up-sampled back to its size with
    `kernel` (`UPSAMPLE_KERNELS` or "transposed", whose random kernel needs `rng`)."""
    h, w = image.shape[:2]
    small_size = (max(8, round(w / factor)), max(8, round(h / factor)))
    if down == "area":
        small = cv2.resize(image, small_size, interpolation=cv2.INTER_AREA)
    elif down == "bilinear":
        small = cv2.resize(image, small_size, interpolation=cv2.INTER_LINEAR)
    elif down == "blur-decimate":
        soft = cv2.GaussianBlur(image, (0, 0), 0.4 * factor)
        small = cv2.resize(soft, small_size, interpolation=cv2.INTER_NEAREST)
    else:
        raise ValueError(f"unknown down-sampler {down!r}; expected one of {DOWNSAMPLERS}")
    if kernel == "transposed":
        return _transposed_upsample(rng or np.random.default_rng(0), small, (w, h))
    if kernel not in UPSAMPLE_KERNELS:
        raise ValueError(f"unknown up-sampling kernel {kernel!r}")
    return cv2.resize(small, (w, h), interpolation=UPSAMPLE_KERNELS[kernel])


def upsample(rng: np.random.Generator, image: np.ndarray) -> np.ndarray:
    """`resample` with a random factor (`UPSAMPLE_FACTORS`), down-sampler and kernel
    (`UPSAMPLE_KERNELS` or a transposed convolution): same shape and dtype."""
    factor = float(rng.choice(UPSAMPLE_FACTORS))
    down = DOWNSAMPLERS[int(rng.integers(len(DOWNSAMPLERS)))]
    kernels = (*UPSAMPLE_KERNELS, "transposed")
    return resample(image, factor, kernels[int(rng.integers(len(kernels)))], down, rng)


def _feather(rng: np.random.Generator, mask: np.ndarray) -> np.ndarray:
    """A hard mask softened by a random Gaussian of 5-31 px."""
    k = int(rng.integers(2, 16)) * 2 + 1
    return cv2.GaussianBlur(mask, (k, k), 0)


def region_mask(rng: np.random.Generator, size: tuple[int, int], centre: tuple[float, float],
                axes: tuple[float, float], shape: str) -> np.ndarray:
    """A hard float32 mask (h, w) of one `MASK_SHAPES` region around `centre` within `axes`."""
    h, w = size
    cx, cy = centre
    ax, ay = max(4.0, axes[0]), max(4.0, axes[1])
    mask = np.zeros((h, w), np.float32)
    if shape == "ellipse":
        cv2.ellipse(mask, (round(cx), round(cy)), (round(ax), round(ay)),
                    float(rng.uniform(-20, 20)), 0, 360, 1.0, -1)
    elif shape == "polygon":
        n = int(rng.integers(5, 10))
        angles = np.sort(rng.uniform(0, 2 * np.pi, n))
        radii = rng.uniform(0.6, 1.0, n)
        points = np.stack([cx + ax * radii * np.cos(angles), cy + ay * radii * np.sin(angles)], 1)
        cv2.fillPoly(mask, [np.round(points).astype(np.int32)], 1.0)
    elif shape == "rectangle":
        cv2.rectangle(mask, (round(cx - ax), round(cy - ay)), (round(cx + ax), round(cy + ay)),
                      1.0, -1)
    elif shape == "blob":
        noise = cv2.resize(rng.random((6, 6)).astype(np.float32), (w, h),
                           interpolation=cv2.INTER_CUBIC)
        yy, xx = np.mgrid[0:h, 0:w]
        inside = ((xx - cx) / ax) ** 2 + ((yy - cy) / ay) ** 2
        mask = ((1.0 - inside) + 0.6 * (noise - 0.5) > 0.0).astype(np.float32)
    else:
        raise ValueError(f"unknown mask shape {shape!r}")
    return mask


def blend_mask(rng: np.random.Generator, image: np.ndarray) -> np.ndarray:
    """A soft mask over the largest face (an ellipse), else over a random 35-70% region of a
    random `MASK_SHAPES` shape."""
    h, w = image.shape[:2]
    shape = MASK_SHAPES[int(rng.integers(len(MASK_SHAPES)))]
    faces = detect_faces(image, max_faces=1) if shape == "ellipse" else []
    if faces:
        x, y, fw, fh = faces[0]
        centre, axes = (x + fw / 2, y + fh * 0.55), (fw * 0.42, fh * 0.5)
    else:
        centre = (rng.uniform(0.35, 0.65) * w, rng.uniform(0.35, 0.65) * h)
        axes = (rng.uniform(*REGION) * w, rng.uniform(*REGION) * h)
    return _feather(rng, region_mask(rng, (h, w), centre, axes, shape))


def altered(rng: np.random.Generator, image: np.ndarray) -> np.ndarray:
    """A colour- and geometry-transformed copy of `image` (a blend source)."""
    h, w = image.shape[:2]
    out = image.astype(np.float32)
    out = out * rng.uniform(0.8, 1.2, 3) + rng.uniform(-20, 20, 3)
    if rng.random() < 0.5:
        out = cv2.GaussianBlur(out, (0, 0), float(rng.uniform(0.8, 2.0)))
    elif rng.random() < 0.5:
        out = cv2.addWeighted(out, 1.8, cv2.GaussianBlur(out, (0, 0), 1.5), -0.8, 0)
    scale = rng.uniform(0.95, 1.05)
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), float(rng.uniform(-3, 3)), scale)
    matrix[:, 2] += rng.uniform(-4, 4, 2)
    out = cv2.warpAffine(out, matrix, (w, h), borderMode=cv2.BORDER_REFLECT)
    return np.clip(out, 0, 255).astype(np.uint8)


def _mix(foreground: np.ndarray, background: np.ndarray, mask: np.ndarray) -> np.ndarray:
    m = mask[:, :, None]
    out = foreground.astype(np.float32) * m + background.astype(np.float32) * (1 - m)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def self_blend(rng: np.random.Generator, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Blend `image` with a transformed copy of itself through a soft mask (SBI-style)."""
    mask = blend_mask(rng, image)
    return _mix(altered(rng, image), image, mask), mask


def clone(rng: np.random.Generator, image: np.ndarray, donor: np.ndarray | None = None
          ) -> tuple[np.ndarray, np.ndarray]:
    """Poisson-blend (`cv2.seamlessClone`, normal or mixed gradients) a transformed copy of
    `image`, or `donor` (same size), into a masked region; a self-blend where it cannot."""
    mask = blend_mask(rng, image)
    binary = (mask > 0.5).astype(np.uint8) * 255
    ys, xs = np.nonzero(binary)
    h, w = image.shape[:2]
    source = altered(rng, image if donor is None else donor)
    flag = cv2.NORMAL_CLONE if rng.random() < 0.7 else cv2.MIXED_CLONE
    if len(xs) == 0 or xs.min() < 2 or ys.min() < 2 or xs.max() > w - 3 or ys.max() > h - 3:
        return _mix(source, image, mask), mask
    center = (int((xs.min() + xs.max() + 1) // 2), int((ys.min() + ys.max() + 1) // 2))
    try:
        cloned = cv2.seamlessClone(source, image, binary, center, flag)
    except cv2.error:
        return _mix(source, image, mask), mask
    # seamlessClone also shifts pixels outside the mask (within its bounding box): keep only
    # the masked ones, so that the mask says exactly what changed
    hard = binary.astype(np.float32) / 255.0
    return _mix(cloned, image, hard), hard


def copy_move(rng: np.random.Generator, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Copy a region of `image` (slightly scaled and rotated) onto another place of it, through
    a feathered mask of a random shape; the mask marks the pasted region."""
    h, w = image.shape[:2]
    rh = max(8, round(h * rng.uniform(*MOVE_REGION)))
    rw = max(8, round(w * rng.uniform(*MOVE_REGION)))
    sy, sx = int(rng.integers(0, h - rh + 1)), int(rng.integers(0, w - rw + 1))
    ty, tx = int(rng.integers(0, h - rh + 1)), int(rng.integers(0, w - rw + 1))
    # shift the whole image so that the copied region lands on the target; rotate slightly
    matrix = cv2.getRotationMatrix2D((sx + rw / 2, sy + rh / 2), float(rng.uniform(-8, 8)),
                                     float(rng.uniform(0.9, 1.1)))
    matrix[:, 2] += (tx - sx, ty - sy)
    moved = cv2.warpAffine(image, matrix, (w, h), flags=cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_REFLECT)
    shape = MASK_SHAPES[int(rng.integers(len(MASK_SHAPES)))]
    hard = region_mask(rng, (h, w), (tx + rw / 2, ty + rh / 2), (rw / 2, rh / 2), shape)
    mask = _feather(rng, hard) if rng.random() < 0.7 else hard
    return _mix(moved, image, mask), mask


def match_colours(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """`source` with each channel's mean and spread moved to `target`'s (Reinhard-style, in BGR)."""
    s = source.astype(np.float32)
    t = target.astype(np.float32)
    s_mean, s_std = s.mean(axis=(0, 1)), s.std(axis=(0, 1)) + 1e-3
    out = (s - s_mean) / s_std * t.std(axis=(0, 1)) + t.mean(axis=(0, 1))
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def splice(rng: np.random.Generator, image: np.ndarray, donor: np.ndarray
           ) -> tuple[np.ndarray, np.ndarray]:
    """Paste a region of another photo (`donor`, resized to `image`'s size), colour-matched half
    the time, through a soft mask of a random shape."""
    h, w = image.shape[:2]
    if donor.shape[:2] != (h, w):
        donor = cv2.resize(donor, (w, h), interpolation=cv2.INTER_AREA)
    if rng.random() < 0.5:
        donor = match_colours(donor, image)
    mask = blend_mask(rng, image)
    return _mix(donor, image, mask), mask


def change_map(original: np.ndarray, altered_image: np.ndarray) -> np.ndarray:
    """Mean absolute grey-level change per pixel (float32), where a generator that touches every
    pixel (up-sampling) actually left a trace: flat regions come out nearly unchanged."""
    diff = np.abs(original.astype(np.float32) - altered_image.astype(np.float32)).mean(axis=2)
    return cv2.blur(diff, (9, 9))


def boundary(mask: np.ndarray, width: int = 9) -> np.ndarray:
    """Pixels on or near the edge of a manipulation mask (where blending leaves traces)."""
    soft = (mask > 0.03) & (mask < 0.97)
    binary = (mask > 0.5).astype(np.uint8)
    kernel = np.ones((width, width), np.uint8)
    edge = cv2.morphologyEx(binary, cv2.MORPH_GRADIENT, kernel) > 0
    return soft | edge
