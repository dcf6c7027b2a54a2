"""Score one upload in memory: probe (same limits and errors as the API), decode, featurise,
run the champion (through the batcher), and time each stage."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from api.error_codes import code_for
from api.errors import ApiError
from api.inference.batcher import MicroBatcher
from api.inference.metrics import ServiceMetrics
from config import Limits
from models import MODALITIES
from models.features.text_lm import version_lm
from models.media.decode import ImageTooLarge, decode, waveform_envelope
from models.media.probe import MediaError, probe_media
from models.registry.champions import ChampionSet
from models.scoring import score
from models.screening import refusal, screen

TEXT_FILENAME = "text.txt"

log = logging.getLogger(__name__)


def _evidence(modality: str, decoded: Any, result: dict) -> dict[str, Any]:
    """What the API stores beside a sync result without decoding the upload: a sound's
    `waveform` envelope, an image's heatmap PNG (`heatmap_png`, base64)."""
    if modality == "audio":
        return {"waveform": waveform_envelope(*decoded)}
    explanation = result.get("explanation") or {}
    if modality == "image" and any("box" in u for u in explanation.get("units") or []):
        import base64

        import cv2

        from models.explain import heatmap_image

        drawn = heatmap_image(decoded, explanation["units"], explanation.get("faces") or [])
        return {"heatmap_png": base64.b64encode(cv2.imencode(".png", drawn)[1]).decode()}
    return {}


@dataclass
class _Scored:
    """A loaded model's identity and thresholds with the probabilities already computed."""

    loaded: Any
    probs: np.ndarray

    def __getattr__(self, name: str) -> Any:
        return getattr(self.loaded, name)

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.probs


def _ms(seconds: float) -> float:
    return round(seconds * 1000.0, 2)


@dataclass
class Scorer:
    """Probe, decode, featurise and score with the champions held by `champions`."""

    champions: ChampionSet
    batcher: MicroBatcher
    metrics: ServiceMetrics
    limits: Limits

    def score_file(self, path: Path, filename: str, modality: str | None = None) -> dict:
        """Score the media at `path`; ApiError (4xx/503) when it will not do."""
        start = time.perf_counter()
        if modality is not None and modality not in MODALITIES:
            raise ApiError(400, "bad_modality",
                           f"unknown modality {modality!r}; one of {MODALITIES}")
        try:  # the image is decoded below (a failure is a 422): its headers are probe enough
            info = probe_media(path, filename, self.limits, decode_images=False)
        except MediaError as exc:
            raise ApiError(exc.status, code_for(exc.status),
                           f"{filename}: {exc.message}") from exc
        if modality is not None and info.modality != modality:
            raise ApiError(422, "modality_mismatch",
                           f"{filename}: the file holds {info.modality}, not {modality}")
        loaded = self._model(info.modality)
        probed = time.perf_counter()
        try:
            if info.modality == "text":
                decoded: Any = Path(path).read_bytes().decode("utf-8-sig")
            else:
                decoded = decode(info.modality, path)
        except ImageTooLarge as exc:  # the header understated the size: OpenCV's cap held
            raise ApiError(413, "too_large", f"{filename}: the image is over the decoder's "
                           f"limit of {self.limits.max_image_pixels} pixels") from exc
        except (ValueError, RuntimeError) as exc:  # probed fine, yet will not decode
            log.info("%s: cannot decode: %s", filename, exc)  # the text names the temp path
            raise ApiError(422, "invalid_media", f"{filename}: the {info.modality} cannot be "
                           "decoded (corrupt or truncated)") from exc
        return self._finish(info.modality, loaded, decoded, start, probed)

    def score_text(self, text: str, tmp_dir: Path | None = None) -> dict:
        """Score a text; it is probed as a `.txt` upload so the limits and errors match."""
        import tempfile

        with tempfile.NamedTemporaryFile(dir=tmp_dir, prefix="text-", suffix=".txt") as fh:
            fh.write(text.encode("utf-8"))
            fh.flush()
            start = time.perf_counter()
            try:
                probe_media(Path(fh.name), TEXT_FILENAME, self.limits)
            except MediaError as exc:
                raise ApiError(exc.status, code_for(exc.status), exc.message) from exc
        loaded = self._model("text")
        return self._finish("text", loaded, text, start, time.perf_counter())

    def _model(self, modality: str) -> Any:
        loaded = self.champions.get(modality)
        if loaded is None:
            raise ApiError(503, "model_unavailable", f"no {modality} model is loaded yet")
        return loaded

    def _finish(self, modality: str, loaded: Any, decoded: Any, start: float,
                probed: float) -> dict:
        decoded_at = time.perf_counter()
        with version_lm(getattr(loaded, "text_lm", None)):  # text: the version's own LMs
            features = screen(modality, decoded)  # refused media: no features, no model
        featurized = time.perf_counter()
        if len(loaded.members()) > 1 or refusal(features) is not None:
            result = score(modality, features, loaded)  # an ensemble: each member scores once
            modelled = time.perf_counter()
        else:
            probs = self.batcher.predict(modality, loaded, features["x"])
            modelled = time.perf_counter()
            result = score(modality, features, _Scored(loaded, probs))
        done = time.perf_counter()
        m = self.metrics
        m.stage_time.labels(modality, "decode").observe(decoded_at - probed)
        m.stage_time.labels(modality, "featurize").observe(featurized - decoded_at)
        if result.get("reason_code") is None:  # a refused media ran no model
            m.model_time.labels(modality, loaded.name, str(loaded.version)).observe(
                modelled - featurized)
        m.scored.labels(modality, result["verdict"]).inc()
        if result.get("reason_code"):
            m.not_applicable.labels(modality, result["reason_code"]).inc()
        if result.get("reason_code") is None:  # what the page draws, drawn here: the API,
            result = {**result, **_evidence(modality, decoded, result)}  # which decodes nothing
        return {
            "modality": modality,
            **result,
            "timings_ms": {
                "probe": _ms(probed - start),
                "decode": _ms(decoded_at - probed),
                "featurize": _ms(featurized - decoded_at),
                "model": _ms(modelled - featurized),
                "total": _ms(done - start),
            },
        }
