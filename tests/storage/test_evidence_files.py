"""Explanation files on the media volume: an image's heatmap, a video's peak frame, a sound's
waveform envelope, each beside the others under `explanations/<job_id>/`."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from storage.evidence import write_evidence, write_heatmap


def _photo() -> np.ndarray:
    y, x = np.mgrid[0:120, 0:160]
    return np.dstack([x, y, (x + y) // 2]).astype(np.uint8)


def test_write_heatmap_only_for_images(tmp_path: Path):
    media_root = tmp_path / "media"
    (media_root / "ab").mkdir(parents=True)
    assert cv2.imwrite(str(media_root / "ab" / "photo.png"), _photo())
    media = {"media_id": "m1", "modality": "image", "path": "ab/photo.png"}
    result = {"explanation": {"units": [{"box": [0, 0, 64, 64], "score": 0.7}], "faces": []}}
    rel = write_heatmap(media_root, "job1", media, result)
    assert rel == "explanations/job1/m1.png"
    assert cv2.imread(str(media_root / rel)).shape == (120, 160, 3)
    assert write_heatmap(media_root, "job1", {**media, "modality": "text"}, result) is None
    unboxed = {"explanation": {"units": [{"score": 1.0}]}}
    assert write_heatmap(media_root, "job1", media, unboxed) is None


def test_evidence_for_videos_and_sounds_only(tmp_path: Path):
    """A video's peak frame (scored area outlined) and a sound's envelope, beside the heatmap;
    nothing for a refused result or another modality."""
    import json

    import soundfile as sf

    root = tmp_path / "media"
    (root / "ab").mkdir(parents=True)
    clip = root / "ab" / "clip.mp4"
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"mp4v"), 10.0, (64, 48))
    for i in range(10):
        writer.write(np.full((48, 64, 3), i * 20, np.uint8))
    writer.release()
    video = {"media_id": "v1", "modality": "video", "path": "ab/clip.mp4"}
    units = [{"time_s": 0.2, "score": 0.3, "box": [0, 0, 64, 48]},
             {"time_s": 0.5, "score": 0.8, "box": [8, 8, 20, 20], "faces": []}]
    assert write_evidence(root, "job1", video, {"explanation": {"units": units}}) == {
        "frame": "explanations/job1/v1.frame.png"}
    frame = cv2.imread(str(root / "explanations/job1/v1.frame.png"))
    assert frame[8, 12].tolist() == [255, 255, 255] and int(frame[30, 50].mean()) > 80
    scored = {"explanation": {"units": units}}
    assert write_evidence(root, "job1", video, scored, decode=False) == {}
    sf.write(str(root / "ab" / "s.wav"), np.full(8000, 0.25, np.float32), 16000)
    sound = {"media_id": "s1", "modality": "audio", "path": "ab/s.wav"}
    assert write_evidence(root, "job1", sound, {"explanation": {}}) == {
        "waveform": "explanations/job1/s1.waveform.json"}
    body = json.loads((root / "explanations/job1/s1.waveform.json").read_text())
    assert body["duration_s"] == 0.5 and len(body["peaks"]) == 800
    refused = {"explanation": {}, "reason_code": "audio_silent"}
    assert write_evidence(root, "job2", sound, refused) == {}
    assert write_evidence(root, "job2", {**sound, "modality": "text"}, {"explanation": {}}) == {}
