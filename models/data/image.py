"""Image data: crops of real photos vs. self-blended regions, up-sampling artefacts and
auto-encoder re-synthesis."""

from __future__ import annotations

import functools
from pathlib import Path

import cv2
import numpy as np

from models.data import Sample, jpeg
from models.features import detect_faces

OPENCV_DATA = Path("/usr/share/doc/opencv-doc/examples/data")
_SKIP = ("logo", "mask", "templ", "tmpl", "digits", "gradient", "notes", "pic", "HappyFish",
         "alphabet", "ellipses", "box", "imageText", "ml.png", "blox", "cards", "sudoku")
DRAWN_KINDS = ("upsample", "blend", "clone", "upsample", "blend")  # weighted draw, main rng
NEURAL_KINDS = ("autoencoder",)  # `models.data.neural_image`, drawn by a separate rng
SYNTHETIC_KINDS = ("upsample", "blend", "clone", *NEURAL_KINDS)
NEURAL_SHARE = 0.2  # of synthetic samples re-synthesised by the auto-encoder instead
NEURAL_FULL_FROM = 50  # data sets with fewer samples per class use the quick generator


@functools.cache
def photos() -> tuple[tuple[str, np.ndarray], ...]:
    """Real photos shipped offline: opencv-doc images and video frames, scikit-learn's two."""
    found: list[tuple[str, np.ndarray]] = []
    for path in sorted(OPENCV_DATA.glob("*")):
        if path.suffix.lower() not in {".jpg", ".png"} or any(s in path.name for s in _SKIP):
            continue
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is not None and min(image.shape[:2]) >= 200:
            found.append((path.stem, image))
    for video in ("Megamind.avi",):  # a face; the other videos are too soft to pass as photos
        cap = cv2.VideoCapture(str(OPENCV_DATA / video))
        index = 0
        while True:
            ok = cap.grab()
            if not ok:
                break
            if index % 60 == 0:
                ok, frame = cap.retrieve()
                if ok:
                    found.append((f"{video}-{index // 120}", frame))
            index += 1
        cap.release()
    found += skimage_photos()
    try:
        from sklearn.datasets import load_sample_images

        for i, rgb in enumerate(load_sample_images().images):
            found.append((f"sklearn-{i}", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)))
    except Exception:  # noqa: BLE001 - optional source
        pass
    if not found:
        raise FileNotFoundError(f"no photos under {OPENCV_DATA}; install opencv-doc (make data)")
    return tuple(found)


SKIMAGE_PHOTOS = ("astronaut", "chelsea", "coffee", "rocket", "motorcycle_left", "camera", "brick",
                  "grass", "gravel", "coins", "hubble_deep_field", "retina", "immunohistochemistry")


def skimage_photos() -> list[tuple[str, np.ndarray]]:
    """The photos scikit-image ships in its wheel (offline); empty if it is not installed."""
    try:
        from skimage import data
    except ImportError:
        return []
    found = []
    for name in SKIMAGE_PHOTOS:
        try:
            image = np.asarray(getattr(data, name)())
        except Exception:  # noqa: BLE001 - a photo that would need a download
            continue
        if image.dtype != np.uint8 or min(image.shape[:2]) < 200:
            continue
        if image.ndim == 2:
            image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
        found.append((f"skimage-{name}", cv2.cvtColor(image[:, :, :3], cv2.COLOR_RGB2BGR)))
    return found


def random_view(rng: np.random.Generator, image: np.ndarray) -> np.ndarray:
    """An authentic-looking view: optional area down-scaling, a crop of 96-320 px, a flip."""
    if rng.random() < 0.5:
        scale = rng.uniform(0.4, 0.9)
        h, w = image.shape[:2]
        image = cv2.resize(image, (max(96, round(w * scale)), max(96, round(h * scale))),
                           interpolation=cv2.INTER_AREA)
    h, w = image.shape[:2]
    ch = int(rng.integers(min(96, h), min(320, h) + 1))
    cw = int(rng.integers(min(96, w), min(320, w) + 1))
    y, x = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
    view = image[y : y + ch, x : x + cw]
    if rng.random() < 0.5:
        view = view[:, ::-1]
    return np.ascontiguousarray(view)


def upsample(rng: np.random.Generator, image: np.ndarray) -> np.ndarray:
    """Down-sample by 1.5-3x then up-sample back (nearest, bilinear, bicubic or transposed conv)."""
    h, w = image.shape[:2]
    factor = float(rng.choice([2.0, 2.0, 3.0, 4.0]))
    small = cv2.resize(image, (max(8, round(w / factor)), max(8, round(h / factor))),
                       interpolation=cv2.INTER_AREA)
    method = int(rng.integers(0, 4))
    if method < 3:
        interp = (cv2.INTER_NEAREST, cv2.INTER_LINEAR, cv2.INTER_CUBIC)[method]
        return cv2.resize(small, (w, h), interpolation=interp)
    # transposed convolution: zero insertion (stride 2) then a random positive 4x4 kernel
    sh, sw = small.shape[:2]
    zeros = np.zeros((sh * 2, sw * 2, 3), np.float32)
    zeros[::2, ::2] = small
    kernel = rng.uniform(0.2, 1.0, (4, 4)).astype(np.float32)
    kernel *= 4.0 / kernel.sum()
    up = cv2.filter2D(zeros, -1, kernel, borderType=cv2.BORDER_REFLECT)
    return np.clip(cv2.resize(up, (w, h), interpolation=cv2.INTER_NEAREST), 0, 255).astype(
        np.uint8
    )


def _blend_mask(rng: np.random.Generator, image: np.ndarray) -> np.ndarray:
    """A soft elliptical mask over the largest face, else over a random 35-70% region."""
    h, w = image.shape[:2]
    faces = detect_faces(image, max_faces=1)
    if faces:
        x, y, fw, fh = faces[0]
        cx, cy, ax, ay = x + fw / 2, y + fh * 0.55, fw * 0.42, fh * 0.5
    else:
        cx, cy = rng.uniform(0.35, 0.65) * w, rng.uniform(0.35, 0.65) * h
        ax, ay = rng.uniform(0.18, 0.35) * w, rng.uniform(0.18, 0.35) * h
    mask = np.zeros((h, w), np.float32)
    angle = float(rng.uniform(-20, 20))
    cv2.ellipse(mask, (round(cx), round(cy)), (max(4, round(ax)), max(4, round(ay))), angle,
                0, 360, 1.0, -1)
    k = int(rng.integers(2, 8)) * 2 + 1
    return cv2.GaussianBlur(mask, (k, k), 0)


def _altered(rng: np.random.Generator, image: np.ndarray) -> np.ndarray:
    """A colour- and geometry-transformed copy of `image` (the blend source)."""
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


def self_blend(rng: np.random.Generator, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Blend `image` with a transformed copy of itself through a soft mask (SBI-style)."""
    mask = _blend_mask(rng, image)
    source = _altered(rng, image)
    m = mask[:, :, None]
    out = source.astype(np.float32) * m + image.astype(np.float32) * (1 - m)
    return np.clip(out, 0, 255).astype(np.uint8), mask


def clone(rng: np.random.Generator, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Poisson-blend (`cv2.seamlessClone`) a transformed copy into the masked region."""
    mask = _blend_mask(rng, image)
    binary = (mask > 0.5).astype(np.uint8) * 255
    ys, xs = np.nonzero(binary)
    h, w = image.shape[:2]
    if len(xs) == 0 or xs.min() < 2 or ys.min() < 2 or xs.max() > w - 3 or ys.max() > h - 3:
        return self_blend(rng, image)
    center = (int((xs.min() + xs.max() + 1) // 2), int((ys.min() + ys.max() + 1) // 2))
    try:
        out = cv2.seamlessClone(_altered(rng, image), image, binary, center, cv2.NORMAL_CLONE)
    except cv2.error:
        return self_blend(rng, image)
    return out, binary.astype(np.float32) / 255.0


def change_map(original: np.ndarray, altered: np.ndarray) -> np.ndarray:
    """Mean absolute grey-level change per pixel (float32), where a generator that touches every
    pixel (up-sampling) actually left a trace: flat regions come out nearly unchanged."""
    diff = np.abs(original.astype(np.float32) - altered.astype(np.float32)).mean(axis=2)
    return cv2.blur(diff, (9, 9))


def boundary(mask: np.ndarray, width: int = 9) -> np.ndarray:
    """Pixels on or near the edge of a manipulation mask (where blending leaves traces)."""
    soft = (mask > 0.03) & (mask < 0.97)
    binary = (mask > 0.5).astype(np.uint8)
    kernel = np.ones((width, width), np.uint8)
    edge = cv2.morphologyEx(binary, cv2.MORPH_GRADIENT, kernel) > 0
    return soft | edge


def neural_draw(n_per_class: int, seed: int, share: float = NEURAL_SHARE) -> list[bool]:
    """Which samples (synthetic ones only) the neural generator makes instead: a draw of its
    own, so that every other sample is the same as without the neural kinds; the draw of
    sample i does not depend on `n_per_class`."""
    side = np.random.default_rng([seed, 0xAE])
    return [bool(side.random() < share) and i % 2 == 1 for i in range(n_per_class * 2)]


def generate(n_per_class: int, seed: int = 0) -> list[Sample]:
    """Authentic crops (flips, scales, JPEG) and synthetic ones (blends, up-sampling,
    auto-encoder re-synthesis, JPEG). About `NEURAL_SHARE` of the synthetic samples are the
    auto-encoder's whole-image re-synthesis of the view a drawn generator would have changed
    (`neural_draw`); that generator's draws are still made, so the other samples do not change.
    """
    from models.data import neural_image

    rng = np.random.default_rng(seed)
    sources = photos()
    neural = neural_draw(n_per_class, seed)
    model = None
    if any(neural):
        settings = (neural_image.FULL if n_per_class >= NEURAL_FULL_FROM
                    else neural_image.QUICK)
        model = neural_image.load_autoencoder(seed, settings)
    samples: list[Sample] = []
    for i in range(n_per_class * 2):
        label = i % 2
        name, photo = sources[int(rng.integers(len(sources)))]
        view = random_view(rng, photo)
        mask = None
        kind = "photo"
        info = {}
        if label:
            kind = DRAWN_KINDS[int(rng.integers(len(DRAWN_KINDS)))]
            original = view
            if kind == "upsample":
                view = upsample(rng, view)
                info["change"] = change_map(original, view)
            elif kind == "blend":
                view, mask = self_blend(rng, view)
            else:
                view, mask = clone(rng, view)
            if neural[i] and model is not None:
                kind, mask = "autoencoder", None
                view = neural_image.resynthesise(model, original)
                info = {"change": change_map(original, view)}
        if rng.random() < 0.5:
            view = jpeg(view, int(rng.integers(75, 96)))
        samples.append(Sample(view, label, kind, group=name, mask=mask, info=info))
    return samples
