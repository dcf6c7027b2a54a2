"""The service benchmark's media: its WAV is speech the audio detector applies to."""

from __future__ import annotations

from pathlib import Path

import pytest

from api.inference.bench import SPEECH_DIR, make_wav
from models.applicability import check
from models.media.decode import decode


def test_the_benchmark_wav_is_speech_when_recordings_are_installed(tmp_path: Path) -> None:
    if not any(SPEECH_DIR.glob("**/*.wav")):
        pytest.skip("pocketsphinx-testdata is not installed (make data)")
    samples, sr = decode("audio", make_wav(tmp_path / "speech.wav", seconds=10.0))
    assert abs(len(samples) / sr - 10.0) < 0.01
    assert check("audio", (samples, sr)) is None
