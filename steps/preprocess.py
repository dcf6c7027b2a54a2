"""Step 1 of detect: decode one media file and write its model features to scratch (.npz)."""

import io
import json
from pathlib import Path
from typing import Annotated, Any

import numpy as np
from hera.workflows import Parameter, script

from models.files import atomic_write_bytes, json_default
from steps.scratch import job_scratch, media_file, safe_id


def save_features(path: Path, features: dict[str, Any]) -> Path:
    """Write the arrays of `features` plus `meta` (as JSON) to `path` atomically."""
    arrays = {k: np.asarray(v) for k, v in features.items() if k != "meta"}
    if "x" not in arrays:
        raise ValueError("features have no 'x' array")
    arrays["meta"] = np.array(json.dumps(features.get("meta") or {}, default=json_default))
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return atomic_write_bytes(path, buffer.getvalue())


def load_features(path: Path) -> dict[str, Any]:
    """The inverse of `save_features`: arrays by name and `meta` as a dict."""
    with np.load(path, allow_pickle=False) as data:
        features: dict[str, Any] = {k: data[k] for k in data.files if k != "meta"}
        features["meta"] = json.loads(str(data["meta"])) if "meta" in data.files else {}
    return features


def warm_up() -> None:
    """Featurise a tiny sample of each modality, so the first real media does not pay for
    lazy imports and JIT compilation (text ~2 s, audio ~3 s measured on one core)."""
    from models.features import featurize

    black = np.zeros((64, 64, 3), np.uint8)
    samples = {
        "image": black,
        "audio": (np.zeros(16_000, np.float32), 16_000),
        "video": ([black, black], 2.0),
        "text": "Warm up the text featuriser. It has two short sentences.",
    }
    for modality, decoded in samples.items():
        try:
            featurize(modality, decoded)
        except Exception:  # noqa: BLE001 - warming is best effort; real media will report
            continue
    from models.features.speech import warm

    warm()  # the applicability check's speech detector (`models.screening`)


def check_media(path: Path, modality: str) -> None:
    """The full probe of a stored media (`models.media.probe.probe_media`, everything decoded
    that it
    checks); MediaError when it is broken, over a limit or not `modality`."""
    from config import Limits
    from models.media.probe import MediaError, probe_media

    info = probe_media(path, "media.txt" if modality == "text" else path.name, Limits.from_env())
    if info.modality != modality:
        raise MediaError(f"the file holds {info.modality}, not {modality}", 422)


def decode_media(path: Path, modality: str) -> Any:
    """`check_media`, then decode for the featuriser; whatever the decoders raise on a broken
    file becomes a MediaError (422) without the file's path."""
    import cv2
    import soundfile as sf

    from models.media.decode import ImageTooLarge, decode
    from models.media.probe import MediaError

    check_media(path, modality)
    try:
        return decode(modality, path)
    except ImageTooLarge as exc:
        raise MediaError("the image is over the decoder's pixel limit", 413) from exc
    except (ValueError, RuntimeError, EOFError, cv2.error, sf.LibsndfileError) as exc:
        raise MediaError(f"the {modality} file cannot be decoded (corrupt or truncated)",
                         422) from exc



@script(constructor="runner")
def preprocess(
    job_id: str, media_id: str, modality: str, media_path: str
) -> Annotated[str, Parameter(name="features_path")]:
    """Decode `MEDIA_ROOT/media_path`, featurise, write `<SCRATCH_ROOT>/<job_id>/<media_id>.npz`.

    The upload was probed from its headers only (the API decodes nothing); the full probe runs
    here first, with its frame and time budgets (PROBE_MAX_FRAMES, PROBE_BUDGET_S): a file that
    only a decoder finds broken, or over a limit, fails the step with the probe's message.

    Media the detector does not apply to are not featurised: their file holds no units and the
    reason (`models.screening`), which the infer step turns into a `not_applicable` result.
    Text is featurised with the language models of the champion that will score it."""
    from models.features.text_lm import version_lm
    from models.screening import screen

    out = job_scratch(job_id) / f"{safe_id(media_id, 'media_id')}.npz"
    decoded = decode_media(media_file(media_path), modality)
    lm = None
    if modality == "text":
        from steps.infer import step_champions

        try:
            lm = step_champions().current("text").text_lm
        except LookupError:  # no champion yet: the served models (infer will say why)
            lm = None
    with version_lm(lm):
        features = screen(modality, decoded)
    return str(save_features(out, features))
