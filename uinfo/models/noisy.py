"""Noisy fully connected networks (Goldfeld et al. 2019): T_l = S_l + Z_l, S_l = f_l(T_{l-1}), Z_l ~ N(0, beta^2 I)
added after every hidden activation. As in the authors' code the noise is on in training mode and off in eval
mode unless ``noise_at_eval``; the readout is linear and noiseless."""
from __future__ import annotations

import torch
from torch import nn

NOISY_ACTIVATIONS = {"tanh": torch.tanh, "relu": torch.relu, "linear": lambda x: x}


class NoisyMLP(nn.Module):
    def __init__(self, in_features: int, hidden: tuple[int, ...], out_features: int, activation: str = "tanh",
                 beta: float = 0.005, noise_at_eval: bool = False):
        super().__init__()
        if activation not in NOISY_ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(NOISY_ACTIVATIONS)}, got {activation!r}")
        if not beta >= 0:
            raise ValueError(f"beta (noise standard deviation) must be >= 0, got {beta}")
        if not hidden or min(hidden) < 1:
            raise ValueError(f"hidden must list positive widths, got {hidden}")
        widths = (in_features, *hidden)
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:]))
        self.readout = nn.Linear(widths[-1], out_features)
        self.activation, self.beta, self.noise_at_eval = activation, float(beta), noise_at_eval

    def _noisy(self) -> bool:
        return self.beta > 0 and (self.training or self.noise_at_eval)

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        act = NOISY_ACTIVATIONS[self.activation]
        for layer in self.layers:
            x = act(layer(x))
            if self._noisy():
                x = x + self.beta * torch.randn(x.shape, generator=generator, dtype=x.dtype)
        return self.readout(x)

    @torch.no_grad()
    def presamples(self, x: torch.Tensor, replicas: int, generator: torch.Generator | None = None) -> list:
        """For every hidden layer l, S_l = f_l(T_{l-1}) of each input under ``replicas`` independent noise draws in
        the layers before it: a list of (m, replicas, d_l) arrays (noise always on here, as the SP estimator needs)."""
        if not (isinstance(replicas, int) and replicas >= 1):
            raise ValueError(f"replicas must be a positive integer, got {replicas!r}")
        act = NOISY_ACTIVATIONS[self.activation]
        t = x.repeat_interleave(replicas, dim=0)
        out = []
        for layer in self.layers:
            s = act(layer(t))
            out.append(s.reshape(x.shape[0], replicas, -1).double().numpy())
            t = s + self.beta * torch.randn(s.shape, generator=generator, dtype=s.dtype)
        return out
