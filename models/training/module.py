"""The Lightning module shared by every modality: a given network trained with BCE-with-logits."""

from __future__ import annotations

from typing import Any

import lightning as L
import torch
from torch import nn


class DetectorModule(L.LightningModule):
    """Binary authentic (0) / synthetic (1) classifier over feature units: `network` (from
    `models.training.networks.build_network`) maps a batch of units to one logit per unit."""

    def __init__(
        self,
        network: nn.Module,
        lr: float = 2e-3,
        weight_decay: float = 1e-4,
        pos_weight: float = 1.0,
    ) -> None:
        super().__init__()
        self.save_hyperparameters(ignore=["network"])  # the network's weights are not a setting
        self.net = network
        self.loss = nn.BCEWithLogitsLoss(pos_weight=torch.tensor(float(pos_weight)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def _step(self, batch: tuple[torch.Tensor, torch.Tensor], stage: str) -> torch.Tensor:
        x, y = batch
        logits = self(x)
        loss = self.loss(logits, y.float())
        acc = ((logits > 0).float() == y.float()).float().mean()
        self.log(f"{stage}_loss", loss, prog_bar=True, batch_size=len(y))
        self.log(f"{stage}_acc", acc, prog_bar=True, batch_size=len(y))
        return loss

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], _: int) -> torch.Tensor:
        return self._step(batch, "train")

    def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], _: int) -> torch.Tensor:
        return self._step(batch, "val")

    def configure_optimizers(self) -> Any:
        """AdamW with a one-cycle schedule (warm-up, then annealing) over the whole run."""
        optimizer = torch.optim.AdamW(
            self.parameters(), lr=self.hparams.lr, weight_decay=self.hparams.weight_decay
        )
        steps = int(self.trainer.estimated_stepping_batches) if self._trainer else 0
        if steps <= 1:
            return optimizer
        schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=self.hparams.lr,
                                                       total_steps=steps)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": schedule,
                                                         "interval": "step"}}
