"""How much of a 16 kHz clip is speech: Silero VAD's packaged weights run as one batched pass."""

from __future__ import annotations

import importlib.util
import threading
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

VAD_RATE = 16_000  # the Silero model's 16 kHz branch (`models.features.decode` gives 16 kHz)
CHUNK = 512  # samples per speech probability (32 ms), as the model was trained
CONTEXT = 64  # samples of the previous chunk each chunk sees (the model's own streaming rule)
SPEECH_PROB = 0.5
"""A chunk is speech when its probability is above this: Silero's documented default."""

HIDDEN = 128  # the model's LSTM width
STFT_WINDOW, STFT_HOP = 256, 128  # the model's STFT front end

_lock = threading.Lock()
_model: tuple[dict[str, torch.Tensor], torch.nn.LSTM] | None = None


def vad_model_path() -> Path:
    """The TorchScript model shipped in the `silero-vad` wheel, found without importing the
    package (its `__init__` calls `torch.set_num_threads(1)` for the whole process)."""
    spec = importlib.util.find_spec("silero_vad")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the silero-vad package is not installed")
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "silero_vad.jit"
    if not path.is_file():
        raise RuntimeError(f"silero-vad has no packaged model at {path}")
    return path


def _load() -> tuple[dict[str, torch.Tensor], torch.nn.LSTM]:
    """The packaged model's weights, and its LSTM cell as a whole-sequence LSTM (loaded once)."""
    global _model
    with _lock:
        if _model is None:
            jit = torch.jit.load(str(vad_model_path()), map_location="cpu")
            weights = {k: v.detach().clone() for k, v in jit._model.state_dict().items()}
            lstm = torch.nn.LSTM(HIDDEN, HIDDEN).eval()
            lstm.load_state_dict({f"{k}_l0": weights[f"decoder.rnn.{k}"]
                                  for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")})
            _model = weights, lstm
    return _model


def speech_probabilities(samples: np.ndarray) -> np.ndarray:
    """Speech probability of each 32 ms chunk of mono 16 kHz `samples`.

    The same numbers as feeding the chunks one by one to the packaged streaming model (checked
    in the tests), but the convolutional front end runs on every chunk at once and the LSTM
    over the whole sequence in one call, an order of magnitude faster than chunk by chunk.
    """
    w, lstm = _load()
    x = torch.from_numpy(np.ascontiguousarray(samples, dtype=np.float32).reshape(-1))
    if len(x) == 0:
        return np.zeros(0, np.float32)
    with torch.inference_mode():
        x = F.pad(x, (CONTEXT, (-len(x)) % CHUNK))  # zero context first, last chunk zero-padded
        chunks = F.pad(x.unfold(0, CHUNK + CONTEXT, CHUNK)[:, None], (0, CONTEXT),
                       mode="reflect")[:, 0]
        basis = w["stft.forward_basis_buffer"][:, 0]  # (2 x bins, STFT_WINDOW)
        frames = chunks.unfold(1, STFT_WINDOW, STFT_HOP)  # the model's strided conv as a matmul
        spec = (frames @ basis.T).transpose(1, 2)  # (chunks, 2 x bins, 4 frames)
        half = spec.shape[1] // 2
        h = (spec[:, :half] ** 2 + spec[:, half:] ** 2).sqrt()
        for i, stride in enumerate((1, 2, 2, 1)):
            conv = f"encoder.{i}.reparam_conv"
            h = torch.relu(F.conv1d(h, w[f"{conv}.weight"], w[f"{conv}.bias"], stride=stride,
                                    padding=1))
        hidden, _ = lstm(h.squeeze(-1)[:, None])  # (chunks, 1, HIDDEN): one state throughout
        logits = F.conv1d(torch.relu(hidden[:, 0, :, None]), w["decoder.decoder.2.weight"],
                          w["decoder.decoder.2.bias"])
        return torch.sigmoid(logits).reshape(-1).numpy()


def warm() -> None:
    """Load the model and run it once, so the first real clip does not pay for it (~0.2 s)."""
    speech_probabilities(np.zeros(CHUNK, np.float32))


def speech_seconds(samples: np.ndarray, sr: int) -> float:
    """Seconds of `samples` (mono, any rate) that Silero VAD calls speech."""
    if sr <= 0:
        raise ValueError(f"sample rate must be positive, got {sr}")
    if sr != VAD_RATE:
        import librosa

        samples = librosa.resample(np.asarray(samples, np.float32), orig_sr=sr,
                                   target_sr=VAD_RATE)
    probs = speech_probabilities(samples)
    return float((probs > SPEECH_PROB).sum()) * CHUNK / VAD_RATE
