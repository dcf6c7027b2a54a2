"""Fit one network on chosen media of a prepared data set, with its temperature and calibration."""

from __future__ import annotations

from dataclasses import dataclass

import lightning as L
import numpy as np
import torch

from models.training.calibration import calibrate, choose_threshold, fit_platt, fit_temperature
from models.training.datamodule import UnitDataModule
from models.training.module import DetectorModule
from models.training.networks import DEFAULT_HPARAMS, build_network
from models.training.prepared import Prepared
from models.training.scores import auc, scores_of, unit_logits
from models.training.units import subset


def fill_ngram_tables(network: torch.nn.Module, seed: int = 0) -> None:
    """Fill the text network's 2-gram and 3-gram tables from the reference corpus."""
    from models.features.text import ngram_ids, ngram_tokens
    from models.training.data.text import reference_texts

    bigrams: set[int] = set()
    trigrams: set[int] = set()
    for text in reference_texts(seed):
        tokens = ngram_tokens(text)
        bigrams.update(ngram_ids(tokens, 2))
        trigrams.update(ngram_ids(tokens, 3))
    network.bigrams.fill(sorted(bigrams))
    network.trigrams.fill(sorted(trigrams))


@dataclass
class Fitted:
    """A trained network with its unit temperature, media calibration `(a, b)`, decision
    threshold and uncertain band (all fitted on media it was not trained on)."""

    network: torch.nn.Module
    temperature: float = 1.0
    calibration: tuple[float, float] = (1.0, 0.0)
    threshold: float = 0.5
    band: float = 0.1
    val_auc: float | None = None
    n_train_units: int = 0
    n_train_media: int = 0
    n_val_media: int = 0


def fit(prepared: Prepared, train: np.ndarray, val: np.ndarray, progress: bool = True) -> Fitted:
    """Train on the media where `train` holds (training-mode units, `UnitDataModule`) with
    Lightning; fit the unit temperature on the `val` media's units and, on their media scores,
    a media calibration, threshold and band (`models.training.calibration`). `train` and `val`
    are bools per media."""
    modality, recipe, seed = prepared.modality, prepared.recipe, prepared.seed
    L.seed_everything(seed, workers=True, verbose=False)
    data = UnitDataModule.of_media(prepared, train)
    network = build_network(modality, **DEFAULT_HPARAMS[modality])
    if modality == "text":
        fill_ngram_tables(network, seed)
    module = DetectorModule(network, lr=recipe.lr, pos_weight=data.positive_weight)
    trainer = L.Trainer(
        max_epochs=recipe.epochs, accelerator="cpu", devices=1, deterministic=True,
        enable_progress_bar=progress, logger=False, enable_checkpointing=False,
        enable_model_summary=False, num_sanity_val_steps=0,
    )
    trainer.fit(module, datamodule=data)
    fitted = Fitted(network=network.eval(), n_train_units=len(data.y),
                    n_train_media=int(np.sum(train)), n_val_media=int(np.sum(val)))
    if np.any(val):
        v = subset(prepared.eval_units, val)
        v_logits = unit_logits(fitted.network, v.x)
        fitted.temperature = fit_temperature(v_logits[v.use], v.y[v.use])
        raw = scores_of(v_logits, fitted.temperature, v)
        fitted.calibration = fit_platt(raw, v.media_labels)
        scores = calibrate(raw, fitted.calibration)
        fitted.threshold, fitted.band = choose_threshold(scores, v.media_labels)
        fitted.val_auc = auc(v.media_labels, scores)
    return fitted
