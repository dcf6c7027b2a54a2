"""Decoders and featurisers: shapes, unit metadata and round trips through real files."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import soundfile

from models.features import featurize
from models.features.audio import N_MELS, SEGMENT_FRAMES
from models.features.image import MAX_PATCHES_PER_REGION, PATCH, noise_level, patch_channels
from models.features.text import TEXT_WIDTH
from models.features.video import detail_map
from models.media.decode import SAMPLE_RATE, decode_audio, decode_image, decode_video, read_text


def test_image_grid_patches_keep_native_pixels() -> None:
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (200, 300, 3), dtype=np.uint8)
    out = featurize("image", image)
    x, meta = out["x"], out["meta"]
    assert x.dtype == np.float32 and x.shape[1:] == (5, PATCH, PATCH)
    assert 1 <= len(x) <= MAX_PATCHES_PER_REGION
    assert len(meta["patches"]) == len(x) and meta["faces"] == []
    px, py, pw, ph = meta["patches"][0]
    # channels 0-2 are the native pixels of the patch (BGR / 255, mean colour removed, x2)
    patch = image[py : py + ph, px : px + pw].astype(np.float64) / 255.0
    expected = ((patch - patch.reshape(-1, 3).mean(0)) * 2).transpose(2, 0, 1)
    np.testing.assert_allclose(x[0, :3], expected, atol=1e-4)
    np.testing.assert_allclose(
        x[0], patch_channels(image[py : py + ph, px : px + pw], noise_level(image)))
    json.dumps(meta)


def test_small_image_is_padded() -> None:
    out = featurize("image", np.full((40, 50, 3), 128, np.uint8))
    assert out["x"].shape == (1, 5, PATCH, PATCH)


def test_audio_segments_and_times() -> None:
    sr = SAMPLE_RATE
    t = np.arange(int(2.8 * sr)) / sr
    out = featurize("audio", ((0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), sr))
    assert out["x"].shape == (3, 2, N_MELS, SEGMENT_FRAMES)
    segments = out["meta"]["segments"]
    assert segments[0] == [0.0, 1.0] and segments[-1][1] == pytest.approx(2.8)
    json.dumps(out["meta"])


def test_audio_resamples_other_rates() -> None:
    out = featurize("audio", (np.zeros(22050 * 2, np.float32), 22050))
    assert out["x"].shape == (2, 2, N_MELS, SEGMENT_FRAMES)


def test_video_frames_and_temporal_channel() -> None:
    rng = np.random.default_rng(1)
    still = rng.integers(0, 256, (120, 160, 3), dtype=np.uint8)
    frames = [still.copy() for _ in range(4)]
    frames[2] = np.clip(frames[2].astype(int) + 40, 0, 255).astype(np.uint8)  # a flicker
    out = featurize("video", (frames, 2.0))
    x, meta = out["x"], out["meta"]
    assert x.shape == (4, 5, PATCH, PATCH)
    assert meta["times"] == [0.0, 0.5, 1.0, 1.5]
    assert np.abs(x[1, 3]).max() == 0  # identical to the previous frame
    assert np.abs(x[2, 3]).mean() > 0.3  # the flicker shows in the difference channel
    json.dumps(meta)


def test_video_detail_map_sees_a_blurred_centre_the_resized_crop_loses() -> None:
    """An up-sampled (blurred) centre has less native detail than its surround; the map of a
    frame blurred there is low in the centre, the untouched frame's is even."""
    import cv2

    rng = np.random.default_rng(2)
    frame = np.clip(128 + rng.normal(0, 15, (240, 240, 3)), 0, 255).astype(np.uint8)
    small = cv2.resize(frame[60:180, 60:180], (40, 40), interpolation=cv2.INTER_AREA)
    faked = frame.copy()
    faked[60:180, 60:180] = cv2.resize(small, (120, 120), interpolation=cv2.INTER_LINEAR)
    box = [0, 0, 240, 240]
    real_map, fake_map = detail_map(frame, box), detail_map(faked, box)
    centre = slice(24, 40)
    assert fake_map[centre, centre].mean() < 0.5 * fake_map[:8, :].mean()
    assert real_map[centre, centre].mean() > 0.7 * real_map[:8, :].mean()


def test_text_sentences() -> None:
    text = "The cat sat on the mat. It was happy! Was it? Yes."
    out = featurize("text", text)
    sentences = out["meta"]["sentences"]
    assert [s["text"] for s in sentences] == ["The cat sat on the mat.", "It was happy!",
                                              "Was it?", "Yes."]
    assert out["x"].shape == (4, TEXT_WIDTH)
    assert text[sentences[1]["start"] : sentences[1]["end"]] == "It was happy!"
    assert not np.allclose(out["x"][0], out["x"][1])


def test_unknown_modality() -> None:
    with pytest.raises(ValueError):
        featurize("smell", None)


def test_decoders_round_trip(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    image = rng.integers(0, 256, (70, 90, 3), dtype=np.uint8)
    cv2.imwrite(str(tmp_path / "a.png"), image)
    np.testing.assert_array_equal(decode_image(tmp_path / "a.png"), image)

    soundfile.write(tmp_path / "a.wav", rng.normal(0, 0.1, 22050).astype(np.float32), 22050)
    samples, sr = decode_audio(tmp_path / "a.wav")
    assert sr == 16000 and samples.dtype == np.float32 and len(samples) == 16000

    writer = cv2.VideoWriter(str(tmp_path / "a.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), 10.0,
                             (96, 64))
    for i in range(30):
        writer.write(np.full((64, 96, 3), i * 8, np.uint8))
    writer.release()
    frames, fps = decode_video(tmp_path / "a.mp4", max_frames=4)
    assert len(frames) == 4 and frames[0].shape == (64, 96, 3)
    assert fps == pytest.approx(4 / 3, rel=0.2)  # 4 frames spread over 3 seconds

    (tmp_path / "a.txt").write_bytes("héllo wörld\n".encode())
    assert read_text(tmp_path / "a.txt") == "héllo wörld\n"

    with pytest.raises(ValueError):
        decode_image(tmp_path / "a.txt")


def test_face_found_in_real_photo() -> None:
    path = Path("/usr/share/doc/opencv-doc/examples/data/Megamind.avi")
    if not path.exists():
        pytest.skip("opencv-doc not installed")
    frames, _ = decode_video(path, max_frames=8)
    out = featurize("video", (frames, 2.0))
    assert any(out["meta"]["faces"])
