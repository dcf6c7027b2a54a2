"""A step run exactly as an Argo pod runs it: `python -m hera.workflows.runner -e module:func`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from config import Faults
from workflows.detect import build_detect_workflow

REPO = Path(__file__).resolve().parents[2]


def test_preprocess_through_the_container_entrypoint(tmp_path):
    media, scratch, outputs = tmp_path / "media", tmp_path / "scratch", tmp_path / "hera-outputs"
    (media / "ab").mkdir(parents=True)
    (media / "ab" / "essay.txt").write_text("A sentence to featurise. And another one here.")

    manifest = build_detect_workflow(faults=Faults()).to_dict()
    template = next(t for t in manifest["spec"]["templates"] if t["name"] == "preprocess")
    script = template["script"]
    # Argo writes the rendered `source` ({{inputs.parameters}}: a JSON list) to a file and
    # appends its path to command + args.
    inputs = [
        {"name": "job_id", "value": "job42"},
        {"name": "media_id", "value": "m1"},
        {"name": "modality", "value": "text"},
        {"name": "media_path", "value": "ab/essay.txt"},
    ]
    assert [p["name"] for p in template["inputs"]["parameters"]] == [i["name"] for i in inputs]
    source = tmp_path / "script"
    source.write_text(json.dumps(inputs))
    command = [sys.executable if c == "python" else c for c in script["command"]]
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "MEDIA_ROOT": str(media),
        "SCRATCH_ROOT": str(scratch),
        "hera__outputs_directory": str(outputs),
    }
    proc = subprocess.run(
        [*command, *script["args"], str(source)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]

    # Argo reads the output parameter from the path the template names
    (param,) = template["outputs"]["parameters"]
    relative = Path(param["valueFrom"]["path"]).relative_to("/tmp/hera-outputs")
    features_path = Path((outputs / relative).read_text())
    assert features_path == scratch / "job42" / "m1.npz"
    with np.load(features_path) as data:
        assert data["x"].dtype == np.float32
        assert json.loads(str(data["meta"]))["sentences"]


def test_a_failing_step_exits_non_zero(tmp_path):
    source = tmp_path / "script"
    source.write_text(json.dumps([
        {"name": "job_id", "value": "job42"}, {"name": "media_id", "value": "m1"},
        {"name": "modality", "value": "text"}, {"name": "media_path", "value": "missing.txt"},
    ]))
    env = {**os.environ, "PYTHONPATH": str(REPO), "MEDIA_ROOT": str(tmp_path),
           "SCRATCH_ROOT": str(tmp_path / "scratch"),
           "hera__outputs_directory": str(tmp_path / "out")}
    proc = subprocess.run(
        [sys.executable, "-m", "hera.workflows.runner", "-e", "steps.preprocess:preprocess",
         str(source)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode != 0
    assert "missing.txt" in proc.stderr
