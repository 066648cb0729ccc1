"""Measuring at a checkpoint: representations of named layers read with forward hooks in eval mode (``extract``),
and the checkerboard's probe: usable information of every probed layer about every variable."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..estimators.usable import cross_fitted_usable_information_batch


@torch.no_grad()
def extract(model: nn.Module, layers: list[str], inputs: torch.Tensor, batch_size: int = 4096) -> dict:
    """Outputs of ``layers`` (names from ``model.named_modules()``) for ``inputs``, flattened to (n, features).

    The model runs once per batch in eval mode without gradients; its previous train/eval mode is restored.
    """
    modules = dict(model.named_modules())
    missing = [name for name in layers if name not in modules]
    if missing:
        raise ValueError(f"unknown layer(s) {missing}; the model has {[n for n in modules if n]}")
    captured: dict[str, list] = {name: [] for name in layers}
    hooks = [modules[name].register_forward_hook(lambda _m, _i, out, name=name: captured[name].append(
        out.detach().flatten(1).float())) for name in layers]
    was_training = model.training
    model.eval()
    try:
        for start in range(0, inputs.shape[0], batch_size):
            model(inputs[start:start + batch_size])
    finally:
        for h in hooks:
            h.remove()
        model.train(was_training)
    return {name: torch.cat(chunks) for name, chunks in captured.items()}


def decoder_fields(result) -> dict:
    """A decoder's result as record fields: usable information, H(Y) and the held-out cross-entropy (bits), and the
    decoder's accuracy."""
    return dict(bits=result.bits, entropy_bits=result.entropy_bits, cross_entropy_bits=result.cross_entropy_bits,
                decoder_accuracy=result.accuracy)


def logit_fields(name: str, logits: torch.Tensor, y: torch.Tensor) -> dict:
    """The network's own cross-entropy (nats) and accuracy on an evaluation set, as fields ``{name}_loss`` and
    ``{name}_accuracy``."""
    return {f"{name}_loss": F.cross_entropy(logits, y).item(),
            f"{name}_accuracy": (logits.argmax(1) == y).float().mean().item()}


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
            out.update(logit_fields(name, self.model(x), labels[self.target]))
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
            self.records.append(dict(step=step, epoch=epoch, layer=layer, variable=var, **decoder_fields(res),
                                     **metrics))
