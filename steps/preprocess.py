"""Step 1 of detect: decode one media file and write its model features to scratch (.npz)."""

from typing import Annotated

import numpy as np
from hera.workflows import Parameter, script

from config import get_config
from models.files import save_features
from storage.paths import Volumes, safe_id

# No `from __future__ import annotations` in step modules: Hera reads the live annotations.


def warm_up() -> None:
    """Featurise a tiny sample of each modality, so the first real media does not pay for
    lazy imports and JIT compilation (text ~2 s, audio ~3 s measured on one core).

    The local engine's warm workers call each step module's `warm_up` when they start."""
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
    from models.media.load import decode_media
    from models.screening import screen

    cfg = get_config()
    volumes = Volumes.from_config(cfg)
    out = volumes.job_scratch(job_id) / f"{safe_id(media_id, 'media_id')}.npz"
    decoded = decode_media(volumes.media_file(media_path), modality, cfg.limits)
    lm = None
    if modality == "text":
        from steps.infer import step_champions

        try:
            lm = step_champions(cfg).current("text").text_lm
        except LookupError:  # no champion yet: the served models (infer will say why)
            lm = None
    with version_lm(lm):
        features = screen(modality, decoded)
    return str(save_features(out, features))
