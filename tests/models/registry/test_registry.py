"""MLflow registry: baselines registered once as champions, loaded with their tags, scored."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from config import Config
from models import MODALITIES
from models.features import featurize
from models.registry import client as registry
from models.registry.settings import RegistrySettings
from models.scoring import score

OPENCV_DATA = Path("/usr/share/doc/opencv-doc/examples/data")


def test_ensure_baselines_registers_champions_once(fresh_mlflow: Config) -> None:
    versions = registry.ensure_baselines()
    assert set(versions) == set(MODALITIES)
    for modality in MODALITIES:
        assert registry.champion_version(modality) == versions[modality]
        tags = registry.version_tags(modality, versions[modality])
        assert float(tags["threshold"]) > 0 and float(tags["uncertain_band"]) > 0
        # the text model carries the digest of the language models its features came from
        assert ("text_lm_sha256" in tags) == (modality == "text")
    lm = registry.WEIGHTS_DIR / "text-lm.npz"
    assert registry.version_tags("text", versions["text"])[
        "text_lm_sha256"] == registry._sha256(lm)
    assert registry.ensure_baselines() == versions
    listed = registry.list_models()
    assert sorted((row["name"], row["aliases"]) for row in listed) == sorted(
        (name, ["champion"]) for name in registry.MODEL_NAMES.values())
    assert registry.champion_version("image") == versions["image"]


def test_changed_baseline_weights_replace_a_baseline_champion_only(
    fresh_mlflow: Config, tmp_path
) -> None:
    import shutil

    weights = tmp_path / "weights"
    shutil.copytree(registry.WEIGHTS_DIR, weights)
    first = registry.ensure_baselines(weights_dir=weights)
    (weights / "text.pt").write_bytes((weights / "text.pt").read_bytes() + b"\0")  # a new file
    second = registry.ensure_baselines(weights_dir=weights)
    assert int(second["text"]) == int(first["text"]) + 1  # the new baseline is champion
    assert {m: v for m, v in second.items() if m != "text"} == {
        m: v for m, v in first.items() if m != "text"}
    own = registry.register_weights("text", weights / "text.pt", champion=True)  # a user's
    (weights / "text.pt").write_bytes((weights / "text.pt").read_bytes() + b"\0")
    assert registry.ensure_baselines(weights_dir=weights)["text"] == own  # left alone


def test_load_champion_reads_tags_and_caches(detector_env: Config) -> None:
    registry.ensure_baselines()
    loaded = registry.load_champion("text")
    assert loaded.name == "detector-text" and isinstance(loaded.version, str)
    assert registry.load_champion("text") is loaded
    tags = registry.version_tags("text", loaded.version)
    assert loaded.threshold == pytest.approx(float(tags["threshold"]))
    assert loaded.uncertain_band == pytest.approx(float(tags["uncertain_band"]))
    from models.features.text import TEXT_WIDTH

    probs = loaded.predict(np.zeros((3, TEXT_WIDTH), np.float32))
    assert probs.shape == (3,) and np.all((probs >= 0) & (probs <= 1))


def test_new_champion_is_picked_up(detector_env: Config, tmp_path: Path) -> None:
    registry.ensure_baselines()
    weights = Path(registry.WEIGHTS_DIR) / "audio.pt"
    before = registry.champion_version("audio")
    version = registry.register_weights("audio", weights, champion=False)
    assert registry.champion_version("audio") == before
    registry.set_version_tag("audio", version, "threshold", "0.3125")
    assert registry.move_champion("audio", version, "test: a new champion") == before
    loaded = registry.load_champion("audio")
    assert loaded.version == version and loaded.threshold == 0.3125
    registry.move_champion("audio", before, "test: the champion back")


def test_missing_champion_is_a_clear_error(tmp_path: Path) -> None:
    empty = RegistrySettings(f"sqlite:///{tmp_path / 'empty.db'}", tmp_path / "artifacts",
                             tmp_path / "audit.jsonl")
    with pytest.raises(LookupError):
        registry.load_champion("image", empty)


@pytest.mark.skipif(not OPENCV_DATA.exists(), reason="opencv-doc not installed")
def test_image_scores_differ_for_authentic_and_synthetic(detector_env: Config) -> None:
    from models.training.data.image import upsample

    registry.ensure_baselines()
    loaded = registry.load_champion("image")
    photo = __import__("cv2").imread(str(OPENCV_DATA / "building.jpg"))[:256, :256]
    fake = upsample(np.random.default_rng(0), photo)
    real_result = score("image", featurize("image", photo), loaded)
    fake_result = score("image", featurize("image", fake), loaded)
    assert fake_result["score"] > real_result["score"]
    assert real_result["model"] == {"name": "detector-image", "version": loaded.version}
    assert len(real_result["explanation"]["units"]) == real_result["explanation"]["n_units"]


@pytest.mark.skipif(not Path("/usr/share/games/fortunes").exists(), reason="needs fortunes")
def test_text_scores_separate_human_and_machine(detector_env: Config) -> None:
    from models.training.data import generate

    registry.ensure_baselines()
    loaded = registry.load_champion("text")
    from models.training.folds import holdout

    # the training seed keeps the language models' reference corpus off the human side; the
    # held-out items were never trained on
    drawn = generate("text", 150, seed=0)
    held = holdout(np.array([s.group for s in drawn]), seed=0)
    samples = [s for s, h in zip(drawn, held, strict=True) if h]
    scores = {0: [], 1: []}
    for s in samples:
        scores[s.label].append(score("text", featurize("text", s.media), loaded)["score"])
    assert np.mean(scores[1]) > np.mean(scores[0]) + 0.2


def test_a_text_version_scores_with_its_own_language_models(fresh_mlflow: Config,
                                                            tmp_path) -> None:
    """The LM file travels with the version, its digest is checked, and features use it."""
    import shutil

    from models.features.text_lm import HumanLM, lm_features, served_lm, version_lm

    weights = tmp_path / "weights"
    weights.mkdir()
    shutil.copy(registry.WEIGHTS_DIR / "text.pt", weights / "text.pt")
    other = HumanLM(["A tiny corpus of human text. It has two sentences about a cat.",
                     "Another short text, written by a person, about the weather today."])
    other.save(weights / "text-lm.npz")
    version = registry.register_weights("text", weights / "text.pt", champion=False)
    loaded = registry.load_version("text", version)
    assert loaded.text_lm is not None
    text = "The committee met on Tuesday. It agreed to publish the report next week."
    from models.features.text import split_sentences

    spans = split_sentences(text)
    with version_lm(loaded.text_lm):
        own = lm_features(text, spans)
    np.testing.assert_array_equal(own, other.features(text, spans))
    assert not np.array_equal(own, served_lm().features(text, spans))


def test_a_tampered_language_model_file_refuses_to_load(fresh_mlflow: Config,
                                                        tmp_path) -> None:
    from models.features.text_lm import ARTIFACT_NAME

    folder = tmp_path / "artifacts"
    folder.mkdir()
    (folder / ARTIFACT_NAME).write_bytes((registry.WEIGHTS_DIR / ARTIFACT_NAME).read_bytes())
    good = registry._sha256(folder / ARTIFACT_NAME)
    assert registry._version_text_lm(folder, {"text_lm_sha256": good}, "text") is not None
    (folder / ARTIFACT_NAME).write_bytes((folder / ARTIFACT_NAME).read_bytes() + b"\0")
    with pytest.raises(ValueError, match="does not match"):
        registry._version_text_lm(folder, {"text_lm_sha256": good}, "text")
    (folder / ARTIFACT_NAME).unlink()
    with pytest.raises(ValueError, match="missing"):
        registry._version_text_lm(folder, {"text_lm_sha256": good}, "text")
    assert registry._version_text_lm(folder, {}, "text") is None  # registered without one
