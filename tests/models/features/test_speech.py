"""Silero VAD run as one batched pass: the packaged streaming model's numbers, speech found."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from models.features import speech
from models.media.decode import decode

SPEECH = sorted(Path("/usr/share/pocketsphinx/test/data").glob("**/*.wav"))


def _streamed(samples: np.ndarray) -> np.ndarray:
    """The packaged TorchScript model fed one 512-sample chunk at a time, as documented."""
    model = torch.jit.load(str(speech.vad_model_path()), map_location="cpu").eval()
    padded = np.pad(samples, (0, (-len(samples)) % speech.CHUNK)).astype(np.float32)
    model.reset_states()
    with torch.inference_mode():
        return np.array([float(model(torch.from_numpy(padded[i : i + speech.CHUNK])[None],
                                     speech.VAD_RATE))
                         for i in range(0, len(padded), speech.CHUNK)])


def test_batched_probabilities_equal_the_streaming_model() -> None:
    if not SPEECH:
        pytest.skip("pocketsphinx-testdata is not installed (make data)")
    samples = np.concatenate([decode("audio", p)[0] for p in SPEECH[:3]])
    samples = np.concatenate([samples, np.random.default_rng(0).normal(0, 0.05, 7_000)])
    batched = speech.speech_probabilities(samples.astype(np.float32))
    streamed = _streamed(samples)
    assert batched.shape == streamed.shape == (-(-len(samples) // speech.CHUNK),)
    np.testing.assert_allclose(batched, streamed, atol=1e-4)
    assert (streamed > speech.SPEECH_PROB).mean() > 0.5  # it is speech, and it is found


def test_speech_seconds_of_speech_and_of_silence() -> None:
    if not SPEECH:
        pytest.skip("pocketsphinx-testdata is not installed (make data)")
    samples, sr = decode("audio", SPEECH[4])
    found = speech.speech_seconds(samples, sr)
    assert 0.5 * len(samples) / sr < found <= len(samples) / sr + speech.CHUNK / sr
    assert speech.speech_seconds(np.zeros(sr * 2, np.float32), sr) == 0.0
    assert speech.speech_probabilities(np.zeros(0, np.float32)).shape == (0,)


def test_bad_rate_is_an_error() -> None:
    with pytest.raises(ValueError, match="sample rate"):
        speech.speech_seconds(np.zeros(100, np.float32), 0)


def test_loading_leaves_torch_threads_alone() -> None:
    before = torch.get_num_threads()
    speech.speech_probabilities(np.zeros(speech.CHUNK, np.float32))
    assert torch.get_num_threads() == before
