"""The media volume full (ENOSPC injected where bytes are written): 507, nothing left behind."""

from __future__ import annotations

import errno
import io
import os
import shutil
import tempfile

from fault_helpers import bearer

from config import get_config
from storage.db import get_db

TEXT = "Plain words written by a person for the detector to read, twice over."


def _full(*_args: object, **_kwargs: object) -> None:
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def _nothing_left(cfg) -> None:
    db = get_db()
    assert db.media.count_documents({}) == 0 and db.jobs.count_documents({}) == 0
    assert [p for p in cfg.media_root.rglob("*") if p.is_file()] == []  # no blob, no .part
    tmp = cfg.var_dir / "tmp"
    assert not tmp.exists() or list(tmp.iterdir()) == []


def test_media_volume_full_while_the_blob_is_written(make_app, monkeypatch):
    """The upload's temp file is on another file system (a pod's emptyDir and the media PVC):
    the blob is copied, and the copy runs out of space half-way."""
    cfg = get_config()
    client = make_app().test_client()
    alice = bearer(client, "alice")
    real_replace, real_copy = os.replace, shutil.copyfileobj

    def other_fs(src, dst, *args, **kwargs):
        if str(src).startswith(str(cfg.var_dir / "tmp")):
            raise OSError(errno.EXDEV, os.strerror(errno.EXDEV))
        return real_replace(src, dst, *args, **kwargs)

    def copy_until_full(src, dst, *args, **kwargs):
        dst.write(src.read(16))  # some bytes landed, then the volume is full
        dst.flush()
        _full()

    monkeypatch.setattr(os, "replace", other_fs)
    monkeypatch.setattr(shutil, "copyfileobj", copy_until_full)
    response = client.post("/api/v1/detections?mode=async", headers=alice,
                           data={"file": [(io.BytesIO(TEXT.encode()), "note.txt")]})
    monkeypatch.setattr(shutil, "copyfileobj", real_copy)
    monkeypatch.setattr(os, "replace", real_replace)
    assert response.status_code == 507
    assert response.json == {"error": {"code": "insufficient_storage", "message":
                                       "no space left to store the upload; try again later"}}
    _nothing_left(cfg)


def test_upload_temp_volume_full_while_the_request_is_read(make_app, monkeypatch):
    cfg = get_config()
    client = make_app().test_client()
    alice = bearer(client, "alice")
    real_temp = tempfile.NamedTemporaryFile

    class Full:
        """A temp file whose writes fail once a few bytes are in."""

        def __init__(self, *args, **kwargs):
            self._fh = real_temp(*args, **kwargs)

        def write(self, data: bytes) -> int:
            self._fh.write(data[:8])
            _full()

        def __getattr__(self, name):
            return getattr(self._fh, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self._fh.close()

    monkeypatch.setattr(tempfile, "NamedTemporaryFile", Full)
    response = client.post("/api/v1/detections?mode=async", headers=alice, json={"text": TEXT})
    monkeypatch.setattr(tempfile, "NamedTemporaryFile", real_temp)
    assert response.status_code == 507
    assert response.json["error"]["code"] == "insufficient_storage"
    _nothing_left(cfg)


def test_other_os_errors_stay_internal_errors(make_app, monkeypatch):
    cfg = get_config()
    client = make_app().test_client()
    alice = bearer(client, "alice")
    real_replace, real_copy = os.replace, shutil.copyfileobj

    def denied(*_args: object, **_kwargs: object) -> None:
        raise PermissionError(errno.EACCES, "denied")

    monkeypatch.setattr(shutil, "copyfileobj", denied)
    monkeypatch.setattr(os, "replace", denied)
    response = client.post("/api/v1/detections?mode=async", headers=alice, json={"text": TEXT})
    monkeypatch.setattr(shutil, "copyfileobj", real_copy)
    monkeypatch.setattr(os, "replace", real_replace)
    assert response.status_code == 500 and "denied" not in response.get_data(as_text=True)
    assert response.json["error"]["code"] == "internal_error"
    _nothing_left(cfg)
