"""Representations of named layers for a batch of inputs, read with forward hooks in eval mode."""
from __future__ import annotations

import torch
from torch import nn


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
