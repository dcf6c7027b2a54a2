"""Step 2 of detect: score the features with the modality's champion model, write a result JSON."""

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

from hera.workflows import Parameter, script

from config import Config, get_config
from models.files import atomic_write_text, json_default, load_features
from storage.paths import Volumes, safe_id

if TYPE_CHECKING:  # it loads torch: the step imports it when it runs
    from models.registry.champions import ChampionSet

def step_champions(cfg: Config) -> "ChampionSet":
    """This process's champion cache (`models.registry.champions.shared_champions`) for the
    registry `cfg` names, each champion reused for CHAMPION_TTL_S (`Config.champion_ttl_s`)."""
    from models.registry.champions import shared_champions
    from models.registry.settings import RegistrySettings

    return shared_champions(RegistrySettings.from_config(cfg), cfg.champion_ttl_s)


def warm_up() -> list[str]:
    """Load every modality's champion into this process (the local engine calls it when a
    worker starts); the ones loaded. Modalities without a champion are skipped: the registry
    may not be filled yet."""
    from models import MODALITIES

    champions = step_champions(get_config())
    loaded = []
    for modality in MODALITIES:
        try:
            champions.current(modality)
        except LookupError:
            continue
        loaded.append(modality)
    return loaded


@script(constructor="runner")
def infer(
    job_id: str, media_id: str, modality: str, features_path: str
) -> Annotated[str, Parameter(name="result_path")]:
    """Score `features_path` with the champion; write `<job scratch>/<media_id>.result.json`."""
    from models.scoring import score

    cfg = get_config()
    volumes = Volumes.from_config(cfg)
    out = volumes.job_scratch(job_id) / f"{safe_id(media_id, 'media_id')}.result.json"
    features = load_features(volumes.scratch_file(features_path))
    result = dict(score(modality, features, step_champions(cfg).current(modality)))
    result.update(
        job_id=job_id,
        media_id=media_id,
        modality=modality,
        scored_at=datetime.now(UTC).isoformat(),
    )
    return str(atomic_write_text(out, json.dumps(result, default=json_default)))
