"""Reloading: a moved `champion` alias is served without a restart; a failed load keeps the old."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from serving_helpers import TEXT, authed_client

from api.inference.app import create_app
from api.inference.service import shutdown
from api.inference.settings import ServingSettings
from config import Config
from models.registry import champions as champions_module
from models.registry import client as registry
from models.registry.champions import ChampionSet
from models.registry.settings import RegistrySettings


def _wait_for(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.05)


def test_moved_alias_is_picked_up_without_restart(detector_env: Config) -> None:
    registry.ensure_baselines()
    champions = ChampionSet(RegistrySettings.from_config(detector_env), reload_s=0.2)
    app = create_app(champions, ServingSettings(batch_max=1), start=True)  # loads in background
    client = authed_client(app)
    before = registry.champion_version("text")
    try:
        _wait_for(lambda: client.get("/readyz").status_code == 200)
        assert client.post("/v1/score/text", json={"text": TEXT}).json["model"]["version"] == before

        new = registry.register_weights("text", registry.WEIGHTS_DIR / "text.pt", champion=False)
        registry.set_version_tag("text", new, "threshold", "0.25")
        registry.move_champion("text", new, "test: a new champion")
        _wait_for(lambda: champions.get("text").version == new)

        body = client.post("/v1/score/text", json={"text": TEXT}).json
        assert body["model"] == {"name": "detector-text", "version": new}
        assert body["explanation"]["threshold"] == pytest.approx(0.25)
        page = client.get("/metrics").get_data(as_text=True)
        assert f'modality="text",model="detector-text",version="{new}"}} 1.0' in page
        assert f'modality="text",model="detector-text",version="{before}"}} 0.0' in page
    finally:
        registry.move_champion("text", before, "test: the champion back")
        shutdown(app)


def test_failed_reload_keeps_the_old_model(detector_env: Config,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    registry.ensure_baselines()
    champions = ChampionSet(RegistrySettings.from_config(detector_env),
                            modalities=("text", "audio"))
    assert champions.check() == {"text": "loaded", "audio": "loaded"}
    old = champions.get("text")
    assert champions.check() == {"text": "unchanged", "audio": "unchanged"}

    monkeypatch.setattr(champions_module, "model_identity", lambda m, registry=None: "champion:999")

    def broken(modality: str, registry: RegistrySettings | None = None) -> None:
        raise OSError("artifact store unreachable")

    monkeypatch.setattr(champions_module, "load_model", broken)
    assert champions.check() == {"text": "failed", "audio": "failed"}
    assert champions.get("text") is old and champions.ready() == (True, [])

    monkeypatch.setattr(champions_module, "model_identity", lambda m, registry=None: None)
    assert champions.check()["text"] == "missing" and champions.get("text") is old
