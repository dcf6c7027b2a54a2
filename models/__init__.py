"""Detector models: features, networks, training, MLflow registry and scoring."""

import config  # noqa: F401  (sets OPENCV_IO_MAX_IMAGE_PIXELS before any cv2 import)

MODALITIES = ("image", "audio", "video", "text")
