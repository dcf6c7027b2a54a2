"""Render the Argo manifests into k8s/argo/: `python -m workflows.render [--check] [--out DIR]`.

Writes the detect, train and rescan WorkflowTemplates, the rescan CronWorkflow (its workflows
only reference WorkflowTemplate `rescan`, as Argo's Strict template referencing requires) and
the kustomize Component listing them; `--check` writes nothing and exits 1 when a committed file
differs from what the Hera code renders now (CI, and `tests/workflows/test_render.py`). Rendered
with the default image (`hera_config.DEFAULT_IMAGE`, rewritten by the overlays' `images:`)
whatever DETECTOR_IMAGE says; RESCAN_SCHEDULE, when set, changes the rescan schedule.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path

import yaml

from config import FAULT_VARS
from workflows.hera_config import DEFAULT_IMAGE

OUT_DIR = Path(__file__).resolve().parents[1] / "k8s" / "argo"
NAMESPACE = "deepfake-detector"
HEADER = (
    "# Generated from workflows/ by `make manifests` (python -m workflows.render): do not edit.\n"
)


def _detect() -> dict:
    from workflows.detect import build_detect_workflow

    return build_detect_workflow(namespace=NAMESPACE, template=True, image=DEFAULT_IMAGE).to_dict()


def _rescan_pair() -> tuple[dict, dict]:
    from workflows.rescan import build_rescan_workflow, strict_manifests

    return strict_manifests(build_rescan_workflow(namespace=NAMESPACE, image=DEFAULT_IMAGE)
                            .to_dict())


def _rescan_template() -> dict:
    return _rescan_pair()[0]


def _rescan() -> dict:
    return _rescan_pair()[1]


def _train() -> dict:
    from workflows.train import build_train_workflow

    return build_train_workflow(namespace=NAMESPACE, template=True, image=DEFAULT_IMAGE).to_dict()


MANIFESTS: dict[str, Callable[[], dict]] = {
    "detect-workflowtemplate.yaml": _detect,
    "rescan-cronworkflow.yaml": _rescan,
    "rescan-workflowtemplate.yaml": _rescan_template,
    "train-workflowtemplate.yaml": _train,
}

IMAGE_PATHS = {
    "WorkflowTemplate": "spec/templates/script/image",
}
"""Where kustomize's image transformer finds the step images in the Argo kinds."""


def _kustomization() -> dict:
    return {
        "apiVersion": "kustomize.config.k8s.io/v1alpha1",
        "kind": "Component",
        "resources": list(MANIFESTS),
        "configurations": ["kustomizeconfig.yaml"],
    }


def _kustomizeconfig() -> dict:
    return {"images": [{"path": p, "kind": k} for k, p in IMAGE_PATHS.items()]}


def render() -> dict[str, str]:
    """File name -> text of every file of k8s/argo/ (retry cap and step deadlines at their
    defaults, whatever `config.FAULT_VARS` say in this environment)."""
    saved = {name: os.environ.pop(name) for name in FAULT_VARS if name in os.environ}
    try:
        docs = {name: build() for name, build in MANIFESTS.items()}
    finally:
        os.environ.update(saved)
    docs["kustomization.yaml"] = _kustomization()
    docs["kustomizeconfig.yaml"] = _kustomizeconfig()
    return {name: HEADER + yaml.safe_dump(doc, sort_keys=False) for name, doc in docs.items()}


def stale(out_dir: Path = OUT_DIR) -> list[str]:
    """Files of `out_dir` that differ from the rendering (missing ones included)."""
    return [
        name for name, text in render().items()
        if not (out_dir / name).exists() or (out_dir / name).read_text() != text
    ]


def write(out_dir: Path = OUT_DIR) -> list[str]:
    """Write every file into `out_dir`; the names of those that changed."""
    changed = stale(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, text in render().items():
        (out_dir / name).write_text(text)
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m workflows.render", description=__doc__)
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 on change")
    parser.add_argument("--out", type=Path, default=OUT_DIR, help="folder (default k8s/argo)")
    args = parser.parse_args(argv)
    if args.check:
        changed = stale(args.out)
        for name in changed:
            print(f"{args.out / name}: differs from workflows/ (run `make manifests`)")
        return 1 if changed else 0
    for name in write(args.out):
        print(f"wrote {args.out / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
