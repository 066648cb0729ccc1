"""Fully connected networks (FC Small / FC Large) with named hidden layers ``hidden1``, ``hidden2``, ...

Each hidden layer is Linear + activation; its output is the representation Z that is probed. The readout is a
plain Linear layer (logits).
"""
from __future__ import annotations

from collections import OrderedDict

from torch import nn

ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh}


class MLP(nn.Sequential):
    def __init__(self, in_features: int, hidden: tuple[int, ...], out_features: int, activation: str = "relu"):
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
        if not hidden or min(hidden) < 1:
            raise ValueError(f"hidden must list at least one positive width, got {hidden}")
        layers = OrderedDict()
        width = in_features
        for i, h in enumerate(hidden, start=1):
            layers[f"hidden{i}"] = nn.Sequential(nn.Linear(width, h), ACTIVATIONS[activation]())
            width = h
        layers["readout"] = nn.Linear(width, out_features)
        super().__init__(layers)

    @property
    def hidden_layers(self) -> list[str]:
        return [name for name in self._modules if name.startswith("hidden")]
