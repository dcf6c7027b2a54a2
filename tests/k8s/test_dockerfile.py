"""The one image, read (no Docker engine here): base, non-root uid, torch CPU build, entrypoint."""

from __future__ import annotations

import json
import re
import tomllib

from k8s_helpers import REPO, containers, named

DOCKERFILE = (REPO / "Dockerfile").read_text()
# Instructions with their continuation lines joined, comments dropped.
INSTRUCTIONS = [
    line for line in re.sub(r"\\\n\s*", " ", DOCKERFILE).splitlines()
    if line.strip() and not line.lstrip().startswith("#")
]


def _all(keyword: str) -> list[str]:
    return [i.split(None, 1)[1] for i in INSTRUCTIONS if i.split()[0].upper() == keyword]


def test_every_stage_is_python_3_11_slim_or_an_earlier_stage():
    stages = _all("FROM")
    named_before: set[str] = set()
    for stage in stages:
        words = stage.split()
        # An exact release of the base (k8s/pin-digests.sh may add its @sha256 digest).
        assert re.fullmatch(r"python:3\.11\.\d+-slim-bookworm(@sha256:[0-9a-f]{64})?",
                            words[0]) or words[0] in named_before, stage
        if len(words) == 3 and words[1].upper() == "AS":
            named_before.add(words[2])
    assert stages[-1].split()[0] == "runtime"  # the default target serves, without data


def test_training_target_installs_every_catalogue_package():
    """The training workflow's image holds the data sources `prepare` reads."""
    stages = re.split(r"(?m)^FROM ", DOCKERFILE)
    (training,) = [s for s in stages if s.split("\n", 1)[0].strip().endswith("AS training")]
    assert "models/training/data/catalog.py models/training/data/catalog.toml" in training
    assert "$(python /tmp/catalog/catalog.py packages)" in training


def test_dependencies_come_from_the_lock_with_hashes_before_the_project():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    (torch_pin,) = [d for d in project["dependencies"] if d.startswith("torch")]
    lock = (REPO / "requirements.lock").read_text()
    assert re.search(rf"(?m)^{re.escape(torch_pin)}\+cpu \\$", lock)  # the CPU build
    runs = _all("RUN")
    (lock_run,) = [r for r in runs if "requirements.lock" in r]
    assert "pip install --require-hashes" in lock_run
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in lock_run
    (project_run,) = [r for r in runs if re.search(r"pip install .*\.(\s|$)", r)
                      and r is not lock_run]
    assert "--no-deps" in project_run and "--no-build-isolation" in project_run
    assert runs.index(lock_run) < runs.index(project_run)
    # No other pip install may pull an unhashed file.
    assert [r for r in runs if "pip install" in r] == [lock_run, project_run]
    assert "opencv-python-headless<5" in project["dependencies"]
    assert not re.search(r"libgl", " ".join(INSTRUCTIONS), re.IGNORECASE)


def test_runs_as_uid_10001_with_detector_as_entrypoint():
    assert _all("USER")[-1] == "10001:10001"
    assert "--uid 10001" in " ".join(_all("RUN"))
    entrypoint = json.loads(_all("ENTRYPOINT")[-1])
    assert entrypoint[-1] == "detector"


def test_manifests_run_the_image_as_its_user(render):
    import yaml

    docs = [d for d in yaml.safe_load_all(render("prod")) if d]
    for name in ("api", "inference", "mlflow"):
        pod = named(docs, "Deployment", name)["spec"]["template"]
        assert pod["spec"]["securityContext"]["runAsUser"] == 10001
        assert all("deepfake-detector" in c["image"] for c in containers(pod))


def test_build_context_leaves_out_secrets_and_local_state():
    ignored = {line.strip() for line in (REPO / ".dockerignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")}
    assert {"k8s", ".git", ".venv", "var"} <= ignored
