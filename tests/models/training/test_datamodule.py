"""The training data module: which units it serves, in which seeded order, and that `fit`
trains on exactly those batches, the same weights every time."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from models.training import prepared as prepared_module
from models.training.datamodule import UnitDataModule
from models.training.fit import fit
from models.training.module import DetectorModule
from models.training.networks import build_network
from models.training.prepared import Prepared
from models.training.units import UnitSet


def tiny_video(n_media: int = 24, per_media: int = 3, seed: int = 0) -> Prepared:
    """Random video units (the cheapest network), synthetic media shifted; every fifth media
    held out, the last unit of every media not usable for training."""
    rng = np.random.default_rng(7)
    n = n_media * per_media
    media = np.repeat(np.arange(n_media), per_media)
    labels = (np.arange(n_media) % 2).astype(np.int64)
    x = rng.normal(size=(n, 5, 64, 64)).astype(np.float32)
    x[labels[media] == 1] += 0.3
    use = np.tile(np.arange(per_media) < per_media - 1, n_media)
    units = UnitSet(x=x, y=labels[media].astype(np.float32), media=media, use=use,
                    media_labels=labels)
    return Prepared("video", seed, True, units, units,
                    kinds=np.where(labels == 1, "fake", "real"),
                    families=np.array([f"f{i % 3}" for i in range(n_media)]),
                    groups=np.array([f"g{i}" for i in range(n_media)]),
                    held_out=np.arange(n_media) % 5 == 0)


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    """The quick recipe with two epochs of several batches (to see the order across epochs)."""
    quick = dataclasses.replace(prepared_module.QUICK, epochs=2, batch_size=8)
    monkeypatch.setattr(prepared_module, "QUICK", quick)


def test_serves_the_usable_units_of_the_training_media(small_batches: None) -> None:
    data = tiny_video()
    train = ~data.held_out
    module = UnitDataModule.of_media(data, train)
    chosen = train[data.train_units.media] & data.train_units.use
    np.testing.assert_array_equal(module.x, data.train_units.x[chosen])
    np.testing.assert_array_equal(module.y, data.train_units.y[chosen])
    assert (module.batch_size, module.seed) == (8, data.seed)
    positives = float(module.y.sum())
    assert module.positive_weight == pytest.approx((len(module.y) - positives) / positives)


def test_batches_are_shuffled_by_a_generator_of_their_own_seed() -> None:
    x = np.arange(20, dtype=np.float32)[:, None]
    y = (np.arange(20) % 2).astype(np.float32)
    loader = UnitDataModule(x, y, batch_size=8, seed=3).train_dataloader()
    # the seeded shuffling fit has always used: one generator, seeded once, for the whole run
    reference = DataLoader(TensorDataset(torch.from_numpy(x), torch.from_numpy(y)),
                           batch_size=8, shuffle=True,
                           generator=torch.Generator().manual_seed(3))
    epochs = []
    for _epoch in range(2):
        batches, expected = list(loader), list(reference)
        assert [len(b[0]) for b in batches] == [8, 8, 4]
        assert all(torch.equal(a[0], e[0]) and torch.equal(a[1], e[1])
                   for a, e in zip(batches, expected, strict=True))
        order = torch.cat([b[0][:, 0] for b in batches]).long()
        assert sorted(order.tolist()) == list(range(20))  # every unit once an epoch
        assert torch.equal(torch.cat([b[1] for b in batches]), torch.from_numpy(y)[order])
        epochs.append(order.tolist())
    assert epochs[0] != epochs[1] != list(range(20))
    torch.manual_seed(99)  # the global random state plays no part
    again = [b[0][:, 0].long().tolist() for b in UnitDataModule(x, y, 8, 3).train_dataloader()]
    assert sum(again, []) == epochs[0]
    other = UnitDataModule(x, y, batch_size=8, seed=4).train_dataloader()
    assert sum((b[0][:, 0].long().tolist() for b in other), []) != epochs[0]


def test_fit_trains_on_the_data_modules_batches(
    small_batches: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tiny_video()
    train, val = ~data.held_out, data.held_out
    seen: list[torch.Tensor] = []
    step = DetectorModule.training_step

    def recording(self: DetectorModule, batch: tuple[torch.Tensor, torch.Tensor],
                  index: int) -> torch.Tensor:
        seen.append(batch[0].clone())
        return step(self, batch, index)

    monkeypatch.setattr(DetectorModule, "training_step", recording)
    fitted = fit(data, train, val, progress=False)
    loader = UnitDataModule.of_media(data, train).train_dataloader()
    expected = [b[0] for _epoch in range(2) for b in loader]
    assert len(seen) == len(expected) > 2
    assert all(torch.equal(a, b) for a, b in zip(seen, expected, strict=True))
    assert fitted.n_train_units == int((train[data.train_units.media] & data.train_units.use).sum())


def test_fit_is_deterministic(small_batches: None) -> None:
    data = tiny_video()
    first = fit(data, ~data.held_out, data.held_out, progress=False)
    second = fit(data, ~data.held_out, data.held_out, progress=False)
    a, b = first.network.state_dict(), second.network.state_dict()
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert (first.temperature, first.calibration, first.threshold, first.band) == (
        second.temperature, second.calibration, second.threshold, second.band)
    other = fit(dataclasses.replace(data, seed=1), ~data.held_out, data.held_out,
                progress=False)
    assert not all(torch.equal(a[k], other.network.state_dict()[k]) for k in a)


def test_module_trains_the_network_it_is_given() -> None:
    network = build_network("video")
    module = DetectorModule(network, lr=1e-3, pos_weight=2.0)
    assert module.net is network
    assert "network" not in module.hparams and module.hparams.lr == 1e-3
    x = torch.randn(2, 5, 64, 64)
    module.eval()  # no dropout: the module's logits are its network's
    assert torch.equal(module(x), network(x))
