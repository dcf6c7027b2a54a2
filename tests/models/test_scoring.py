"""Aggregation, verdict bands and the shape of a score."""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pytest

from models.scoring import aggregate, score, verdict


@dataclass
class FixedModel:
    """A stand-in model that returns fixed unit probabilities."""

    probs: list[float]
    threshold: float = 0.5
    uncertain_band: float = 0.1
    name: str = "detector-test"
    version: str = "7"
    media_calibration: tuple[float, float] = (1.0, 0.0)
    text_lm: None = None

    @property
    def identity(self) -> str:
        return f"champion:{self.version}"

    def predict(self, x: np.ndarray) -> np.ndarray:
        assert len(x) == len(self.probs)
        return np.asarray(self.probs)

    def members(self) -> list[tuple[str, FixedModel]]:
        return [("champion", self)]

    def predict_members(self, x: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
        return self.predict(x), [self.predict(x)]


def test_aggregate_is_mean_of_top_quarter() -> None:
    assert aggregate(np.array([0.1, 0.9, 0.2, 0.3])) == pytest.approx(0.9)
    assert aggregate(np.array([0.1] * 6 + [0.9, 0.7])) == pytest.approx(0.8)
    assert aggregate(np.array([0.4])) == pytest.approx(0.4)
    assert aggregate(np.array([])) == 0.5


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0.9, "synthetic"), (0.61, "synthetic"), (0.6, "uncertain"), (0.5, "uncertain"),
     (0.4, "uncertain"), (0.39, "authentic"), (0.0, "authentic")],
)
def test_verdict_bands(value: float, expected: str) -> None:
    assert verdict(value, 0.5, 0.1) == expected


def test_verdict_uses_the_model_threshold_and_band() -> None:
    model = FixedModel([0.35], threshold=0.3, uncertain_band=0.02)
    assert score("image", {"x": np.zeros((1, 4, 64, 64)), "meta": {}}, model)["verdict"] == (
        "synthetic"
    )
    model.uncertain_band = 0.1
    assert score("image", {"x": np.zeros((1, 4, 64, 64)), "meta": {}}, model)["verdict"] == (
        "uncertain"
    )


def test_score_explains_units() -> None:
    features = {
        "x": np.zeros((2, 4096), np.float32),
        "meta": {"sentences": [{"text": "Hi.", "start": 0, "end": 3},
                               {"text": "Bye.", "start": 4, "end": 8}]},
    }
    result = score("text", features, FixedModel([0.2, 0.95]))
    assert result["score"] == pytest.approx(0.95)
    assert result["verdict"] == "synthetic"
    assert result["model"] == {"name": "detector-test", "version": "7"}
    units = result["explanation"]["units"]
    assert units[1] == {"index": 1, "score": 0.95, "text": "Bye.", "start": 4, "end": 8}
    assert result["explanation"]["top_unit"] == 1
    json.dumps(result)


def test_audio_and_video_units_carry_times() -> None:
    audio = score("audio", {"x": np.zeros((2, 1)), "meta": {"segments": [[0, 1], [1, 1.5]]}},
                  FixedModel([0.1, 0.2]))
    assert audio["explanation"]["units"][1]["start_s"] == 1
    assert audio["verdict"] == "authentic"
    video = score("video", {"x": np.zeros((1, 1)), "meta": {"times": [0.5], "crops": [[1, 2, 3, 4]],
                                                           "faces": [[]]}}, FixedModel([0.7]))
    assert video["explanation"]["units"][0]["time_s"] == 0.5
    assert video["explanation"]["units"][0]["box"] == [1, 2, 3, 4]


def test_not_applicable_result_has_no_score_and_says_why() -> None:
    from models.scoring import not_applicable_result

    result = not_applicable_result("audio", FixedModel([]), "audio_silent", "The audio is silent.")
    assert result["score"] is None and result["verdict"] == "not_applicable"
    assert result["reason"] == "The audio is silent." and result["reason_code"] == "audio_silent"
    assert result["model"] == {"name": "detector-test", "version": "7"}
    assert result["explanation"]["units"] == [] and result["explanation"]["unit"] == "segment"
    json.dumps(result)


def test_score_turns_screened_out_features_into_not_applicable_without_the_model() -> None:
    from models.screening import screen

    class NeverCalled(FixedModel):
        def predict(self, x: np.ndarray) -> np.ndarray:
            raise AssertionError("the model must not run on refused media")

    features = screen("text", "Hello")
    result = score("text", features, NeverCalled([]))
    assert result["verdict"] == "not_applicable" and result["score"] is None
    assert result["reason_code"] == "text_too_short"
