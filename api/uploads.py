"""Uploads: stream request files to temp files under var/tmp and probe them (workflows.ingest)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import IO

from flask import Request, current_app, request

from api.context import limits
from api.error_codes import code_for
from api.errors import ApiError
from api.request_bodies import clean_filename, json_text
from config import Limits
from models.media.probe import MediaError
from workflows.ingest import Staged, stage

TEXT_FILENAME = "text.txt"


class UploadRequest(Request):
    """A request whose file parts go straight to named temp files under var/tmp."""

    def _get_file_stream(
        self,
        total_content_length: int | None,
        content_type: str | None,
        filename: str | None = None,
        content_length: int | None = None,
    ) -> IO[bytes]:
        return new_temp_file()


def temp_dir() -> Path:
    path = current_app.config["UPLOAD_TMP"]
    path.mkdir(parents=True, exist_ok=True)
    return path


def new_temp_file(suffix: str = "") -> IO[bytes]:
    """A temp file under var/tmp, deleted when the request ends unless moved away."""
    handle = tempfile.NamedTemporaryFile(
        dir=temp_dir(), prefix="upload-", suffix=suffix, delete=False
    )
    request.__dict__.setdefault("upload_temp_paths", []).append(Path(handle.name))
    return handle


def remove_temp_files() -> None:
    """Delete whatever this request left under var/tmp (teardown)."""
    for path in request.__dict__.pop("upload_temp_paths", []):
        path.unlink(missing_ok=True)


def _size(stream: IO[bytes]) -> int:
    stream.flush()
    return os.fstat(stream.fileno()).st_size


def collect() -> list[tuple[Path, str]]:
    """(temp path, filename) for each input of the request; 4xx ApiError when there is none."""
    lim = limits()
    if request.mimetype == "multipart/form-data":
        files = [f for f in request.files.getlist("file") if f.filename or _size(f.stream) > 0]
        if not files:
            raise ApiError(400, "missing_field", "send the media in the multipart field 'file'")
        if len(files) > lim.max_files_per_request:
            raise ApiError(413, "too_many_files", f"{len(files)} files; the limit is "
                           f"{lim.max_files_per_request} a request")
        for f in files:
            f.stream.flush()
        return [(Path(f.stream.name), clean_filename(f.filename)) for f in files]
    if request.is_json:
        text = json_text(lim.max_text_chars)
        with new_temp_file(".txt") as fh:
            fh.write(text.encode("utf-8"))
        return [(Path(fh.name), TEXT_FILENAME)]
    raise ApiError(415, "unsupported_type",
                   "send multipart/form-data with the field 'file', or JSON {\"text\": ...}")


def probe_all(inputs: list[tuple[Path, str]], lim: Limits,
              decode_images: bool = True) -> list[Staged]:
    """Probe every input before anything is stored; the first bad one fails the request.

    `decode_images=False` when the inference service will decode the images (the sync path):
    see `models.media.probe.probe_media`."""
    staged = []
    for path, filename in inputs:
        try:
            staged.append(stage(path, filename, lim, decode_images=decode_images))
        except MediaError as exc:
            raise _bad_input(filename, exc) from exc
    return staged


def _bad_input(filename: str, exc: MediaError) -> ApiError:
    return ApiError(exc.status, code_for(exc.status), f"{filename}: {exc.message}",
                    filename=filename)
