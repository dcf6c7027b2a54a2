"""A stored media for its featuriser: fully probed against the limits, then decoded; whatever goes
wrong is a MediaError with an HTTP-like status and no file path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import soundfile as sf

from config import Limits
from models.media.decode import ImageTooLarge, decode
from models.media.probe import MediaError, probe_media


def check_media(path: Path, modality: str, limits: Limits) -> None:
    """The full probe of a stored media (`probe_media`, everything decoded that it checks);
    MediaError when it is broken, over a limit or not `modality`."""
    info = probe_media(path, "media.txt" if modality == "text" else path.name, limits)
    if info.modality != modality:
        raise MediaError(f"the file holds {info.modality}, not {modality}", 422)


def decode_media(path: Path, modality: str, limits: Limits) -> Any:
    """`check_media`, then decode for the featuriser; whatever the decoders raise on a broken
    file becomes a MediaError (422) without the file's path."""
    check_media(path, modality, limits)
    try:
        return decode(modality, path)
    except ImageTooLarge as exc:
        raise MediaError("the image is over the decoder's pixel limit", 413) from exc
    except (ValueError, RuntimeError, EOFError, cv2.error, sf.LibsndfileError) as exc:
        raise MediaError(f"the {modality} file cannot be decoded (corrupt or truncated)",
                         422) from exc
