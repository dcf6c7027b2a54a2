"""Steps decode untrusted media: the local engine's workers hold none of the API's secrets."""

from __future__ import annotations

import os

import pytest
from wf_helpers import toy_workflow

from config import SECRET_VARS, Config, get_config
from workflows.local.engine import LocalEngine


def test_a_step_sees_no_secret(module_env: Config, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in SECRET_VARS:
        monkeypatch.setenv(name, f"secret-value-of-{name}")
    engine = LocalEngine(get_config(), workflow=toy_workflow(), workers=1)
    try:
        pool = engine.scripts.pool()  # the engine's own worker pool, as steps run in it
        seen = {name: pool.submit(os.getenv, name).result(timeout=120) for name in SECRET_VARS}
        assert seen == dict.fromkeys(SECRET_VARS)
        mongo = pool.submit(os.getenv, "MONGO_URI").result(timeout=60)
        assert mongo == os.environ["MONGO_URI"]  # the rest is inherited
    finally:
        engine.shutdown()


def test_config_reads_the_jwt_key_only_when_asked(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("DETECTOR_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("JWT_SECRET", raising=False)
    cfg = get_config()
    assert cfg.limits and not (tmp_path / "var" / "jwt.key").exists()  # a worker's get_config()
    assert len(cfg.jwt_secret) == 64 and (tmp_path / "var" / "jwt.key").exists()
