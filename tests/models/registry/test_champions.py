"""The one champion cache without its thread: `current()` asks the registry again only after
`reload_s` (a workflow step's CHAMPION_TTL_S), and says why when it has nothing to give."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from models.registry import champions as champions_module
from models.registry.champions import ChampionSet, shared_champions
from models.registry.settings import RegistrySettings


@dataclass
class _Loaded:
    """A stand-in for a loaded champion: only what the cache reads."""

    identity: str
    name: str = "detector-text"

    @property
    def version(self) -> str:
        return self.identity.split(":")[1]


@pytest.fixture
def registry(tmp_path: Path) -> RegistrySettings:
    return RegistrySettings(f"sqlite:///{tmp_path / 'unused.db'}", tmp_path / "artifacts",
                            tmp_path / "audit.jsonl")


@pytest.fixture
def alias(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """What the registry answers for `text` (None: no champion); each question is counted."""
    answer: dict[str, Any] = {"text": "champion:1", "asked": 0}

    def identity(modality: str, registry: RegistrySettings | None = None) -> str | None:
        answer["asked"] += 1
        return answer[modality]

    def load(modality: str, registry: RegistrySettings | None = None) -> _Loaded:
        return _Loaded(str(answer[modality]))

    monkeypatch.setattr(champions_module, "model_identity", identity)
    monkeypatch.setattr(champions_module, "load_model", load)
    return answer


def test_current_asks_again_only_after_reload_s(registry, alias) -> None:
    champions = ChampionSet(registry, reload_s=3600, modalities=("text",), warm_features=False)
    first = champions.current("text")
    assert first.version == "1" and alias["asked"] == 1
    alias["text"] = "champion:2"  # promoted: not seen before reload_s has passed
    assert champions.current("text") is first and alias["asked"] == 1
    champions.reload_s = 0
    assert champions.current("text").version == "2" and alias["asked"] == 2


def test_current_without_a_champion(registry, alias, monkeypatch) -> None:
    champions = ChampionSet(registry, reload_s=3600, modalities=("text",), warm_features=False)
    alias["text"] = None
    with pytest.raises(LookupError, match="detector-text has no champion"):
        champions.current("text")
    alias["text"] = "champion:3"  # registered meanwhile: asked again at once, not after 3600 s
    assert champions.current("text").version == "3"

    def broken(modality: str, registry: RegistrySettings | None = None) -> None:
        raise OSError("artifact store unreachable")

    fresh = ChampionSet(registry, reload_s=3600, modalities=("text",), warm_features=False)
    monkeypatch.setattr(champions_module, "load_model", broken)
    with pytest.raises(RuntimeError, match="artifact store unreachable"):
        fresh.current("text")


def test_shared_champions_is_one_cache_per_registry(registry, tmp_path) -> None:
    assert shared_champions(registry, 300.0) is shared_champions(registry, 300.0)
    other = RegistrySettings(f"sqlite:///{tmp_path / 'other.db'}", tmp_path, tmp_path / "a")
    assert shared_champions(other, 300.0) is not shared_champions(registry, 300.0)
    assert shared_champions(registry, 300.0).warm_features is False
