"""Hera settings shared by every workflow: image, namespace and script constructor, set once."""

import os

from hera.shared import global_config
from hera.workflows import Script

DEFAULT_IMAGE = "deepfake-detector:dev"
"""The image every step runs in (the root Dockerfile: the project installed, so
`python -m hera.workflows.runner` imports `steps.*`). Set DETECTOR_IMAGE where the api runs
(its ConfigMap) to the pinned image of the release. The manifests in k8s/argo/ are rendered
with this default; the overlays' `images:` rewrite it like every other image."""


def configure_hera(namespace: str | None = None, image: str | None = None) -> None:
    """Set Hera's global image, namespace and the runner constructor (idempotent).

    Class defaults apply to Script objects made afterwards: the workflow builders call this
    before they make their templates, so the order in which `steps` was imported does not matter.
    """
    global_config.image = image or os.environ.get("DETECTOR_IMAGE", DEFAULT_IMAGE)
    global_config.namespace = namespace or os.environ.get("ARGO_NAMESPACE", "argo")
    global_config.set_class_defaults(Script, constructor="runner")
