"""Stored media are private to the service's user: files 0600, folders 0700, whatever the umask."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from models.media.probe import MediaInfo
from workflows.ingest import Staged, store_blob


@pytest.fixture
def open_umask() -> Iterator[None]:
    old = os.umask(0o022)
    yield
    os.umask(old)


def _assert_private(root: Path, rel: str) -> None:
    assert (root / rel).stat().st_mode & 0o777 == 0o600
    assert (root / rel).parent.stat().st_mode & 0o777 == 0o700


@pytest.mark.parametrize("move", [True, False])
def test_store_blob_makes_private_files(tmp_path: Path, open_umask: None, move: bool) -> None:
    src = tmp_path / "in.txt"
    src.write_text("some words")
    src.chmod(0o644)  # a user's file given to `detector detect`, or a moved upload
    item = Staged(src, "in.txt", MediaInfo(modality="text", mime="text/plain", chars=10), 10,
                  "ab" + "0" * 62)
    rel, created = store_blob(item, tmp_path / "media", move=move)
    assert created
    _assert_private(tmp_path / "media", rel)


def test_an_upload_is_stored_private(client, auth, upload, samples, detector_env,
                                     open_umask: None) -> None:
    answer = client.post("/api/v1/detections?mode=async", headers=auth.headers(),
                         data=upload((samples["png"], "a.png")))
    assert answer.status_code == 202
    stored = [p for p in detector_env.media_root.rglob("*") if p.is_file()]
    assert len(stored) == 1
    _assert_private(detector_env.media_root, str(stored[0].relative_to(detector_env.media_root)))
