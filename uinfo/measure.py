"""The measuring callback: usable information of every probed layer about every variable at a checkpoint."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .estimators.usable import cross_fitted_usable_information_batch
from .probing import extract


class UsableInformationProbe:
    """Called at each checkpoint: extracts the layers' eval-mode features of a held-out analysis set once, fits
    cross-fitted decoders for every (layer, variable) together, and records loss and accuracy on the named
    evaluation sets. ``records`` holds one dict per layer x variable x checkpoint."""

    def __init__(self, model: nn.Module, layers: list[str], analysis_x: torch.Tensor, analysis_labels: dict,
                 eval_sets: dict, target: str, decoder: str = "linear", split_seed: int = 0, **decoder_options):
        self.model, self.layers = model, list(layers)
        self.analysis_x, self.analysis_labels = analysis_x, dict(analysis_labels)
        self.eval_sets, self.target = dict(eval_sets), target
        self.decoder, self.split_seed, self.decoder_options = decoder, split_seed, decoder_options
        self.records: list[dict] = []

    @torch.no_grad()
    def _metrics(self) -> dict:
        was_training = self.model.training
        self.model.eval()
        out = {}
        for name, (x, labels) in self.eval_sets.items():
            logits = self.model(x)
            y = labels[self.target]
            out[f"{name}_loss"] = F.cross_entropy(logits, y).item()
            out[f"{name}_accuracy"] = (logits.argmax(1) == y).float().mean().item()
        self.model.train(was_training)
        return out

    def __call__(self, step: int, epoch: float) -> None:
        feats = extract(self.model, self.layers, self.analysis_x)
        keys = [(layer, var) for layer in self.layers for var in self.analysis_labels]
        results = cross_fitted_usable_information_batch(
            [(feats[layer], self.analysis_labels[var]) for layer, var in keys], self.decoder,
            split_seed=self.split_seed, **self.decoder_options)
        metrics = self._metrics()
        for (layer, var), res in zip(keys, results):
            self.records.append(dict(step=step, epoch=epoch, layer=layer, variable=var, bits=res.bits,
                                     entropy_bits=res.entropy_bits, cross_entropy_bits=res.cross_entropy_bits,
                                     decoder_accuracy=res.accuracy, **metrics))
