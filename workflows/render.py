"""Render the Argo manifests into k8s/argo/: `python -m workflows.render [--check] [--out DIR]`.

Writes the detect, train and rescan WorkflowTemplates, the rescan CronWorkflow (its workflows
only reference WorkflowTemplate `rescan`, as Argo's Strict template referencing requires) and
the kustomize Component listing them; `--check` writes nothing and exits 1 when a committed file
differs from what the Hera code renders now (CI, and `tests/workflows/test_render.py`). Rendered
with the default image (`hera_config.DEFAULT_IMAGE`, rewritten by the overlays' `images:`)
whatever DETECTOR_IMAGE says, and the default retry cap and step deadlines (`config.Faults()`)
whatever MAX_STEP_RETRIES and the deadlines say; RESCAN_SCHEDULE, when set, changes the rescan
schedule (`main` reads the configuration once).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import yaml

from config import Faults, get_config
from workflows.hera_config import DEFAULT_IMAGE

OUT_DIR = Path(__file__).resolve().parents[1] / "k8s" / "argo"
NAMESPACE = "deepfake-detector"
HEADER = (
    "# Generated from workflows/ by `make manifests` (python -m workflows.render): do not edit.\n"
)


RENDERED_FAULTS = Faults()
"""The retry cap and step deadlines of k8s/argo/: the defaults (a cluster's own values are
the ConfigMap's business, not the committed manifests')."""


def _manifests(schedule: dict[str, Any]) -> dict[str, dict]:
    """The Argo manifests by file name (MANIFESTS), rendered with RENDERED_FAULTS."""
    from workflows.detect import build_detect_workflow
    from workflows.rescan import build_rescan_workflow, strict_manifests
    from workflows.train import build_train_workflow

    common = dict(faults=RENDERED_FAULTS, namespace=NAMESPACE, image=DEFAULT_IMAGE)
    detect = build_detect_workflow(**common, template=True).to_dict()
    rescan_template, rescan = strict_manifests(
        build_rescan_workflow(**common, **schedule).to_dict())
    return {
        "detect-workflowtemplate.yaml": detect,
        "rescan-cronworkflow.yaml": rescan,
        "rescan-workflowtemplate.yaml": rescan_template,
        "train-workflowtemplate.yaml": build_train_workflow(**common, template=True).to_dict(),
    }


MANIFESTS = ("detect-workflowtemplate.yaml", "rescan-cronworkflow.yaml",
             "rescan-workflowtemplate.yaml", "train-workflowtemplate.yaml")
"""The files `_manifests` renders, in the kustomization's order."""

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


def render(schedule: dict[str, Any] | None = None) -> dict[str, str]:
    """File name -> text of every file of k8s/argo/; `schedule`: the rescan schedule keywords
    (`workflows.rescan.schedule_settings`), by default DEFAULT_SCHEDULE."""
    docs = _manifests(schedule or {})
    docs["kustomization.yaml"] = _kustomization()
    docs["kustomizeconfig.yaml"] = _kustomizeconfig()
    return {name: HEADER + yaml.safe_dump(doc, sort_keys=False) for name, doc in docs.items()}


def stale(rendered: dict[str, str], out_dir: Path = OUT_DIR) -> list[str]:
    """Files of `out_dir` that differ from `rendered` (missing ones included)."""
    return [
        name for name, text in rendered.items()
        if not (out_dir / name).exists() or (out_dir / name).read_text() != text
    ]


def write(rendered: dict[str, str], out_dir: Path = OUT_DIR) -> list[str]:
    """Write every file of `rendered` into `out_dir`; the names of those that changed."""
    changed = stale(rendered, out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, text in rendered.items():
        (out_dir / name).write_text(text)
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m workflows.render", description=__doc__)
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 on change")
    parser.add_argument("--out", type=Path, default=OUT_DIR, help="folder (default k8s/argo)")
    args = parser.parse_args(argv)
    from workflows.rescan import schedule_settings

    rendered = render(schedule_settings(get_config()))
    if args.check:
        changed = stale(rendered, args.out)
        for name in changed:
            print(f"{args.out / name}: differs from workflows/ (run `make manifests`)")
        return 1 if changed else 0
    for name in write(rendered, args.out):
        print(f"wrote {args.out / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
