"""The project's own neural generators: a photo auto-encoder and a character language model."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from models.training.data import neural_image, neural_text

TINY_AE = neural_image.AESettings(steps=150, batch=8, patch=32, width=8, bottleneck=6, pool=64,
                                  lr=1e-2)
TINY_LM = neural_text.CharLMSettings(steps=30, batch=8, length=32, embed=8, hidden=48)
CORPUS = [
    "The cat sat on the mat and looked at the dog.",
    "A dog is a good friend to a man who has no cat.",
    "Never trust a cat that sits on a mat all day long.",
    "Good friends are hard to find and harder to leave.",
] * 20


def _photo(seed: int, size: int = 96) -> np.ndarray:
    """A smooth, structured colour image (gradients and blobs), like a photo's content."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size
    image = np.zeros((size, size, 3), np.float32)
    for c in range(3):
        a, b = rng.uniform(-1, 1, 2)
        image[:, :, c] = 120 + 80 * np.sin(3 * a * x + 2 * b * y + c)
    for _ in range(4):
        cx, cy, r = rng.integers(10, size - 10, 2).tolist() + [int(rng.integers(5, 15))]
        cv2.circle(image, (cx, cy), r, rng.uniform(0, 255, 3).tolist(), -1)
    return cv2.GaussianBlur(image, (5, 5), 0).clip(0, 255).astype(np.uint8)


PHOTOS = [_photo(i) for i in range(6)]


def _same_weights(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_autoencoder_training_is_deterministic() -> None:
    settings = replace(TINY_AE, steps=10)
    a = neural_image.train_autoencoder(PHOTOS, seed=1, settings=settings)
    b = neural_image.train_autoencoder(PHOTOS, seed=1, settings=settings)
    c = neural_image.train_autoencoder(PHOTOS, seed=2, settings=settings)
    assert _same_weights(a, b)
    assert not _same_weights(a, c)


def test_autoencoder_decoder_upsamples_with_transposed_convolutions() -> None:
    model = neural_image.AutoEncoder(width=8, bottleneck=4)
    ups = [m for m in model.decoder if isinstance(m, torch.nn.ConvTranspose2d)]
    assert len(ups) == 2 and all(m.stride == (2, 2) for m in ups)
    code = model.encoder(torch.zeros(1, 3, 32, 48))
    assert code.shape == (1, 4, 8, 12)  # a 1/4-resolution bottleneck: no pixel passes through


@pytest.mark.parametrize("decoder", ["nearest", "bilinear"])
def test_resize_decoders_upsample_without_transposed_convolutions(decoder: str) -> None:
    model = neural_image.AutoEncoder(width=8, bottleneck=4, decoder=decoder)
    assert not any(isinstance(m, torch.nn.ConvTranspose2d) for m in model.decoder)
    ups = [m for m in model.decoder if isinstance(m, torch.nn.Upsample)]
    assert len(ups) == 2 and all(m.mode == decoder for m in ups)
    assert model(torch.zeros(1, 3, 32, 48)).shape == (1, 3, 32, 48)


def test_unknown_decoder_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown decoder"):
        neural_image.AutoEncoder(width=8, bottleneck=4, decoder="pixelshuffle")


def test_recipe_autoencoders_differ_in_decoder() -> None:
    decoders = {s.decoder for s in neural_image.FULL_VARIANTS}
    assert decoders == set(neural_image.DECODERS)
    assert len({(s.width, s.bottleneck) for s in neural_image.FULL_VARIANTS}) == 3


def test_resynthesis_keeps_shape_changes_pixels_and_follows_the_source() -> None:
    model = neural_image.train_autoencoder(PHOTOS, seed=0, settings=TINY_AE)
    source = _photo(7, size=70)[:, :67]  # sides that are not multiples of 4
    out = neural_image.resynthesise(model, source)
    assert out.shape == source.shape and out.dtype == np.uint8
    assert not np.array_equal(out, source)
    corr = np.corrcoef(out.astype(float).ravel(), source.astype(float).ravel())[0, 1]
    assert corr > 0.5
    assert np.array_equal(out, neural_image.resynthesise(model, source))


def test_autoencoder_cache_is_reused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from models.training.data import photo_sources

    monkeypatch.setattr(photo_sources, "real_photos", lambda: tuple(
        photo_sources.Photo(f"p{i}", f"p{i}", "test-family", "test-source", p)
        for i, p in enumerate(PHOTOS * 4)))
    settings = replace(TINY_AE, steps=10)
    first = neural_image.load_autoencoder(0, settings, cache_dir=tmp_path)
    cached = list(tmp_path.glob("autoencoder-0-v*.pt"))
    assert len(cached) == 1

    def no_training(*args: object, **kwargs: object) -> None:
        raise AssertionError("trained again although the cache holds the model")

    monkeypatch.setattr(neural_image, "train_autoencoder", no_training)
    again = neural_image.load_autoencoder(0, settings, cache_dir=tmp_path)
    assert _same_weights(first, again)
    # another seed or other settings are another cache entry
    with pytest.raises(AssertionError):
        neural_image.load_autoencoder(1, settings, cache_dir=tmp_path)
    with pytest.raises(AssertionError):
        neural_image.load_autoencoder(0, replace(settings, steps=11), cache_dir=tmp_path)


def test_default_cache_is_under_the_var_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DETECTOR_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("JWT_SECRET", "x" * 40)
    assert neural_image.default_cache_dir() == (tmp_path / "var" / "cache" / "generators")


def test_charlm_encoding_round_trips() -> None:
    ids = neural_text.encode(["Hi there!\n\t-- me", "caf\u00e9"])
    assert ids.dtype == np.int64 and (ids == neural_text.EOT).sum() == 2
    assert neural_text.decode(ids.tolist()) == "Hi there!\n\t-- mecaf "
    assert neural_text.cut_words("one  two\nthree four", 3) == "one  two\nthree"
    assert neural_text.cut_words("one two", 5) == "one two"


def test_charlm_training_and_sampling_are_deterministic() -> None:
    a = neural_text.train_charlm(CORPUS, seed=3, settings=TINY_LM)
    b = neural_text.train_charlm(CORPUS, seed=3, settings=TINY_LM)
    assert _same_weights(a, b)
    lengths = [6, 10, 25, 8]
    texts = neural_text.sample(a, lengths, seed=5)
    assert texts == neural_text.sample(b, lengths, seed=5)
    assert texts != neural_text.sample(a, lengths, seed=6)
    assert len(texts) == len(lengths)
    for text, n in zip(texts, lengths, strict=True):
        assert text.strip() and text.isascii()
        assert 1 <= len(text.split()) <= n
    assert neural_text.sample(a, [], seed=0) == []


def test_charlm_learns_the_corpus() -> None:
    """A few hundred characters of training already beat a uniform guess by a wide margin."""
    model = neural_text.train_charlm(CORPUS, seed=0, settings=TINY_LM)
    ids = torch.from_numpy(neural_text.encode(CORPUS[:4]))[None]
    with torch.inference_mode():
        logits, _ = model(ids[:, :-1])
    loss = torch.nn.functional.cross_entropy(logits[0], ids[0, 1:]).item()
    assert loss < 0.8 * np.log(neural_text.VOCAB)


def test_charlm_cache_is_reused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from models.training.data import text as text_data

    monkeypatch.setattr(text_data, "reference_texts", lambda seed=0: CORPUS)
    first = neural_text.load_charlm(0, TINY_LM, cache_dir=tmp_path)
    assert len(list(tmp_path.glob("charlm-0-v*.pt"))) == 1

    def no_training(*args: object, **kwargs: object) -> None:
        raise AssertionError("trained again although the cache holds the model")

    monkeypatch.setattr(neural_text, "train_charlm", no_training)
    assert _same_weights(first, neural_text.load_charlm(0, TINY_LM, cache_dir=tmp_path))


def test_charlm_trains_only_on_the_reference_corpus(monkeypatch: pytest.MonkeyPatch,
                                                     tmp_path: Path) -> None:
    from models.training.data import text as text_data

    seen: list[list[str]] = []
    monkeypatch.setattr(text_data, "reference_texts", lambda seed=0: [f"ref {seed}"] + CORPUS)

    def record(texts: list[str], seed: int = 0,
               settings: neural_text.CharLMSettings = TINY_LM) -> neural_text.CharLM:
        seen.append(texts)
        return neural_text.CharLM(settings.embed, settings.hidden)

    monkeypatch.setattr(neural_text, "train_charlm", record)
    neural_text.load_charlm(4, TINY_LM, cache_dir=tmp_path)
    assert seen and seen[0][0] == "ref 4"
