"""The Lightning data module of one training run: the trainable units of the chosen media."""

from __future__ import annotations

import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader, TensorDataset

from models.training.prepared import Prepared
from models.training.units import subset


class UnitDataModule(L.LightningDataModule):
    """Training units `x` with labels `y` in shuffled batches of `batch_size`; the shuffling
    has its own generator seeded with `seed`, so the batch order depends on nothing else
    (not on how much of the global random state building the network used)."""

    def __init__(self, x: np.ndarray, y: np.ndarray, batch_size: int, seed: int) -> None:
        super().__init__()
        if len(x) != len(y):
            raise ValueError(f"{len(x)} units but {len(y)} labels")
        self.x, self.y = x, y
        self.batch_size, self.seed = batch_size, seed

    @classmethod
    def of_media(cls, prepared: Prepared, train: np.ndarray) -> UnitDataModule:
        """The usable training-mode units of the media where `train` (a bool per media)
        holds, batched and seeded by the prepared data's recipe and seed."""
        units = subset(prepared.train_units, train)
        return cls(units.x[units.use], units.y[units.use], prepared.recipe.batch_size,
                   prepared.seed)

    @property
    def positive_weight(self) -> float:
        """Negatives per positive unit (BCE `pos_weight`), with at least one positive counted."""
        positives = max(1.0, float(self.y.sum()))
        return (len(self.y) - positives) / positives

    def train_dataloader(self) -> DataLoader:
        return DataLoader(
            TensorDataset(torch.from_numpy(self.x), torch.from_numpy(self.y)),
            batch_size=self.batch_size, shuffle=True,
            generator=torch.Generator().manual_seed(self.seed),
        )
