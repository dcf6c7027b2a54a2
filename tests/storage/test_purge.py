"""Deleting media for good and the retention purge, on the real MongoDB and a real media
folder: results, heatmaps, and bytes only when no other media references them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from pymongo.database import Database

from config import Config
from storage import logs, media, results
from storage.purge import delete_media_fully, purge_expired

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def _stored(db: Database, root: Path, owner: str, blob: str, age_days: float = 0) -> str:
    rel = f"ab/{blob}.png"
    (root / rel).parent.mkdir(parents=True, exist_ok=True)
    (root / rel).write_bytes(b"png bytes " + blob.encode())
    media_id = media.insert_media(db, {
        "owner": owner, "sha256": blob, "modality": "image", "filename": "p.png", "size": 10,
        "path": rel, "created_at": NOW - timedelta(days=age_days)})
    heat = f"explanations/job-{media_id}/{media_id}.png"
    (root / heat).parent.mkdir(parents=True, exist_ok=True)
    (root / heat).write_bytes(b"heat")
    results.upsert_result(db, {"job_id": f"job-{media_id}", "media_id": media_id, "score": 0.4,
                               "verdict": "authentic", "explanation": {"heatmap": heat},
                               "model": {"name": "detector-image", "version": "1"}})
    return media_id


def test_unshared_bytes_go_with_the_media(db: Database, detector_env: Config) -> None:
    root = detector_env.media_root
    media_id = _stored(db, root, "alice", "one")
    assert delete_media_fully(db, root, media_id, owner="bob") is None  # not bob's
    removed = delete_media_fully(db, root, media_id, owner="alice")
    assert removed == {"media_id": media_id, "results": 1, "heatmaps": 1, "evidence": 0,
                       "bytes_removed": True, "bytes_shared": False}
    assert media.get_media(db, media_id) is None
    assert db.results.count_documents({"media_id": media_id}) == 0
    assert not (root / "ab/one.png").exists()
    assert not (root / f"explanations/job-{media_id}/{media_id}.png").exists()


def test_peak_frames_and_waveforms_go_with_the_media(db: Database,
                                                    detector_env: Config) -> None:
    """Every result's evidence files (each job that scored the media wrote its own) are removed."""
    root = detector_env.media_root
    files = {}
    for modality, key, suffix in (("video", "frame", ".frame.png"),
                                  ("audio", "waveform", ".waveform.json")):
        media_id = media.insert_media(db, {
            "owner": "alice", "sha256": modality, "modality": modality, "filename": "f",
            "size": 1, "path": f"ab/{modality}.bin", "created_at": NOW})
        (root / "ab").mkdir(parents=True, exist_ok=True)
        (root / f"ab/{modality}.bin").write_bytes(b"x")
        for job in ("job-a", "job-b"):
            rel = f"explanations/{job}/{media_id}{suffix}"
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_bytes(b"evidence")
            files.setdefault(media_id, []).append(root / rel)
            results.upsert_result(db, {"job_id": job, "media_id": media_id, "score": 0.4,
                                       "verdict": "authentic", "explanation": {key: rel},
                                       "model": {"name": f"detector-{modality}", "version": job}})
    for media_id, paths in files.items():
        removed = delete_media_fully(db, root, media_id, owner="alice")
        assert (removed["evidence"], removed["heatmaps"]) == (2, 0)
        assert not any(p.exists() for p in paths)


def test_shared_bytes_stay_while_another_media_references_them(db: Database,
                                                               detector_env: Config) -> None:
    root = detector_env.media_root
    mine, theirs = _stored(db, root, "alice", "same"), _stored(db, root, "bob", "same")
    assert delete_media_fully(db, root, mine)["bytes_removed"] is False
    assert (root / "ab/same.png").is_file()  # bob's upload still needs them
    assert results.latest_result(db, theirs, "bob") is not None
    assert delete_media_fully(db, root, theirs)["bytes_removed"] is True
    assert not (root / "ab/same.png").exists()


def test_retention_purges_only_media_older_than_the_limit(db: Database,
                                                          detector_env: Config) -> None:
    root = detector_env.media_root
    old = [_stored(db, root, "alice", f"old{i}", age_days=40 + i) for i in range(3)]
    young = _stored(db, root, "alice", "young", age_days=5)
    assert purge_expired(db, root, 30, NOW, limit=2) == [old[2], old[1]]  # oldest first
    assert purge_expired(db, root, 30, NOW) == [old[0]]
    assert purge_expired(db, root, 30, NOW) == []
    assert [m["media_id"] for m in db.media.find({}, {"media_id": 1})] == [young]
    assert (root / "ab/young.png").is_file() and not (root / "ab/old0.png").exists()
    assert db.results.count_documents({}) == 1
    events = [e for e in logs.recent_events(db) if e["event"] == "media.deleted"]
    assert sum(len(e["media_ids"]) for e in events) == 3
