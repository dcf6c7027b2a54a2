"""Workflow steps: plain functions, each usable as a Hera script on either engine."""

import config  # noqa: F401  (sets OPENCV_IO_MAX_IMAGE_PIXELS before any cv2 import)
