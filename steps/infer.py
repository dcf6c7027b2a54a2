"""Step 2 of detect: score the features with the modality's champion model, write a result JSON."""

import json
import os
import threading
import time
from datetime import UTC, datetime
from typing import Annotated, Any

from hera.workflows import Parameter, script

from config import get_config
from models.files import atomic_write_text, json_default, load_features
from storage.paths import Volumes, safe_id

CHAMPION_TTL_S = float(os.environ.get("CHAMPION_TTL_S", "300"))
"""How long a worker keeps a loaded champion before asking the registry again (a promotion)."""

_champions: dict[tuple[str, str | None], tuple[float, Any]] = {}
_lock = threading.Lock()


def champion(modality: str) -> Any:
    """`models.registry.client.load_model(modality)` (the champion, or the ensemble of it and its
    `ensemble-*` members), cached per process (and registry) for a while."""
    key = (modality, os.environ.get("MLFLOW_TRACKING_URI"))
    with _lock:
        hit = _champions.get(key)
        if hit is not None and time.monotonic() - hit[0] < CHAMPION_TTL_S:
            return hit[1]
    from models.registry.client import load_model

    loaded = load_model(modality)
    with _lock:
        _champions[key] = (time.monotonic(), loaded)
    return loaded


def warm_up() -> list[str]:
    """Load every modality's champion into this process (a worker starting); the ones loaded.

    Modalities without a champion are skipped: the registry may not be filled yet."""
    from models import MODALITIES

    loaded = []
    for modality in MODALITIES:
        try:
            champion(modality)
        except LookupError:
            continue
        loaded.append(modality)
    return loaded


def clear_champions() -> None:
    """Forget the cached models (tests; after a promotion when waiting is not wanted)."""
    with _lock:
        _champions.clear()


@script(constructor="runner")
def infer(
    job_id: str, media_id: str, modality: str, features_path: str
) -> Annotated[str, Parameter(name="result_path")]:
    """Score `features_path` with the champion; write `<job scratch>/<media_id>.result.json`."""
    from models.scoring import score

    volumes = Volumes.from_config(get_config())
    out = volumes.job_scratch(job_id) / f"{safe_id(media_id, 'media_id')}.result.json"
    features = load_features(volumes.scratch_file(features_path))
    result = dict(score(modality, features, champion(modality)))
    result.update(
        job_id=job_id,
        media_id=media_id,
        modality=modality,
        scored_at=datetime.now(UTC).isoformat(),
    )
    return str(atomic_write_text(out, json.dumps(result, default=json_default)))

