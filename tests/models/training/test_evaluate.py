"""Leave-one-generator-out evaluation: EER, subsets, the data cache, the report files."""

from __future__ import annotations

import json

import numpy as np
import pytest

from models.training import evaluate as ev
from models.training import feature_cache, prepared, units
from models.training import fit as tr


def test_equal_error_rate_known_cases():
    labels = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    assert ev.equal_error_rate(labels, np.array([0.1, 0.2, 0.3, 0.4, 0.6, 0.7, 0.8, 0.9])) == 0
    assert ev.equal_error_rate(labels, np.array([0.9, 0.8, 0.7, 0.6, 0.4, 0.3, 0.2, 0.1])) == 1
    # one authentic above one synthetic: 1 of 4 wrong each way at the crossing
    assert ev.equal_error_rate(labels, np.array([0.1, 0.2, 0.3, 0.65, 0.6, 0.7, 0.8, 0.9])) == 0.25
    assert ev.equal_error_rate(np.array([1, 1]), np.array([0.2, 0.3])) is None


def test_figures_and_roc_points():
    labels = np.array([0, 0, 1, 1])
    found = ev.figures(labels, np.array([0.1, 0.6, 0.4, 0.9]), threshold=0.5)
    assert found["auc"] == 0.75 and found["accuracy"] == 0.5
    assert (found["n_authentic"], found["n_synthetic"]) == (2, 2)
    assert len(found["roc"]["fpr"]) == ev.ROC_POINTS and found["roc"]["tpr"][-1] == 1.0
    assert all(a <= b for a, b in zip(found["roc"]["tpr"], found["roc"]["tpr"][1:], strict=False))


def _units(media_of_units: list[int], labels: list[int]) -> units.UnitSet:
    n = len(media_of_units)
    return units.UnitSet(x=np.arange(n, dtype=np.float32)[:, None], y=np.zeros(n, np.float32),
                         media=np.array(media_of_units), use=np.ones(n, bool),
                         media_labels=np.array(labels))


def test_subset_drops_media_and_renumbers():
    unit_set = _units([0, 0, 1, 2, 2, 2], [0, 1, 1])
    kept = units.subset(unit_set, np.array([True, False, True]))
    assert kept.x[:, 0].tolist() == [0, 1, 3, 4, 5]
    assert kept.media.tolist() == [0, 0, 1, 1, 1] and kept.media_labels.tolist() == [0, 1]


@pytest.fixture
def cache_dir(tmp_path):
    return tmp_path / "cache"


def test_prepare_is_cached_and_keyed_by_seed(cache_dir, monkeypatch):
    first = feature_cache.load_or_prepare(cache_dir, "text", seed=1, quick=True)
    path = feature_cache.cache_path(cache_dir, "text", 1, True)
    assert path.is_file() and path.is_relative_to(cache_dir / "units")
    assert feature_cache.cache_path(cache_dir, "text", 2, True) != path

    def no_generation(*_args):
        raise AssertionError("the cache was not used")

    monkeypatch.setattr(prepared, "generate", no_generation)
    again = feature_cache.load_or_prepare(cache_dir, "text", seed=1, quick=True)
    np.testing.assert_array_equal(first.eval_units.x, again.eval_units.x)
    for name in ("kinds", "families", "groups", "held_out"):
        np.testing.assert_array_equal(getattr(first, name), getattr(again, name))
    assert again.train_units is again.eval_units  # text: one featurisation serves both
    assert (again.modality, again.seed, again.quick) == ("text", 1, True)


def test_held_out_generator_trains_without_it(cache_dir, monkeypatch):
    data = feature_cache.load_or_prepare(cache_dir, "text", seed=1, quick=True)
    generator = ev.generators_of(data)[0]
    seen = {}
    real_fit = tr.fit

    def spy(p, train, val, progress=True):
        seen["train"], seen["val"] = train.copy(), val.copy()
        return real_fit(p, train, val, progress=False)

    monkeypatch.setattr(tr, "fit", spy)
    found = ev.held_out_generator(data, generator)
    own = data.kinds == generator
    assert not (seen["train"] & own).any() and not (seen["val"] & own).any()
    assert not (seen["train"] & data.held_out).any()
    assert found["n_train_media"] == int((~own & ~data.held_out).sum())
    assert found["n_authentic"] == int((data.held_out & (data.labels == 0)).sum())
    assert found["n_synthetic"] == int(own.sum())


def test_evaluate_writes_report_and_roc(cache_dir, tmp_path):
    report = ev.evaluate(["text"], seed=1, quick=True, jobs=1, cache_dir=cache_dir)
    entry = report["modalities"]["text"]
    data = feature_cache.load_or_prepare(cache_dir, "text", 1, True)
    assert set(entry["held_out"]) == set(ev.generators_of(data))
    assert entry["in_distribution"]["weights"].endswith("text.pt")
    family = entry["family"]
    assert {row["family"] for row in family["families"]} == set(data.families[data.labels == 0])
    assert feature_cache.cache_path(cache_dir, "text", 1, True, "cv").is_file()
    assert 0 <= family["false_positive_rate"] <= 1 and family["reliability"]["count"]
    assert entry["target"] == ev.TARGETS["text"]
    paths = ev.write_report(report, tmp_path / "out")
    assert paths["roc"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = paths["markdown"].read_text()
    assert "![ROC curves](roc.png)" in text and "![Reliability](reliability.png)" in text
    assert paths["reliability"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "leave one source family out" in text
    for generator in entry["held_out"]:
        assert f"| {generator} |" in text
    assert json.loads(paths["json"].read_text())["modalities"]["text"]["target"] == 0.85


def test_prepare_replaces_its_own_stale_cache_only(cache_dir):
    path = feature_cache.cache_path(cache_dir, "text", 1, True)
    path.parent.mkdir(parents=True)
    stale = path.with_name("text-s1-quick-0123456789abcdef.npz")
    other = path.with_name("text-s1-0123456789abcdef.npz")  # the full recipe's: kept
    stale.write_bytes(b"old")
    other.write_bytes(b"full")
    feature_cache.load_or_prepare(cache_dir, "text", seed=1, quick=True)
    assert path.is_file() and not stale.exists() and other.exists()
