"""The API process keeps torch out: baselines registered in a child, /readyz without torch."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from api import health
from cli.stack import register_baselines
from config import Config
from models.registry.client import MODEL_NAMES, champion_version

_PROBE = """
import json, sys
from cli.stack import embedded_stack
with embedded_stack() as cfg:
    from api import create_app
    answer = create_app().test_client().get("/readyz")
    print(json.dumps({"status": answer.status_code, "body": answer.get_json(),
                      "torch": "torch" in sys.modules,
                      "registry": "models.registry.client" in sys.modules}))
"""


def test_register_baselines_in_a_child_process(fresh_mlflow: Config) -> None:
    versions = register_baselines(fresh_mlflow, in_process=False)
    assert sorted(versions) == sorted(MODEL_NAMES)
    for modality, version in versions.items():
        assert champion_version(modality) == version
    assert register_baselines(fresh_mlflow, in_process=False) == versions  # idempotent


def test_serve_stack_and_readyz_never_import_torch(fresh_mlflow: Config) -> None:
    """What `detector serve` does in its own process: the embedded stack (registration) and
    the app answering /readyz from the real registry; torch stays out of that process."""
    done = subprocess.run([sys.executable, "-c", _PROBE], env=dict(os.environ),
                          capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    probe = json.loads(done.stdout.strip().splitlines()[-1])
    assert probe["status"] == 200, probe["body"]
    assert probe["body"]["checks"]["champions"] == {
        m: champion_version(m) for m in health.MODALITIES}
    assert probe["torch"] is False
    assert probe["registry"] is False
