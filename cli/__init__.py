"""The `detector` command line: serve, users, detect, train."""

import config  # noqa: F401  (sets OPENCV_IO_MAX_IMAGE_PIXELS before any cv2 import)
