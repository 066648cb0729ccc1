"""A recurrent network for the discretised checkerboard trial (``uinfo.tasks.checkerboard.checkerboard_trials``).

The input's last channel flags the steps from checkerboard onset on. The probed representation ``hidden1`` is the
hidden state averaged over those steps; the output is the readout's logits averaged over the steps from
onset + ``grace`` on, so the direction is read out after a grace period.
"""
from __future__ import annotations

import torch
from torch import nn

CELLS = ("rnn", "gru")


def masked_mean(h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean over time of a sequence (n, T, H) over the steps where ``mask`` (n, T) is 1."""
    return (h * mask[..., None]).sum(1) / mask.sum(1, keepdim=True).clamp_min(1)


class PostOnsetMean(nn.Module):
    """`masked_mean` as a module, so that forward hooks can read the averaged state."""

    def forward(self, h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return masked_mean(h, mask)


class RecurrentClassifier(nn.Module):
    def __init__(self, in_channels: int, hidden: int, out_features: int, cell: str = "rnn",
                 activation: str = "tanh", grace: int = 3):
        super().__init__()
        if cell not in CELLS:
            raise ValueError(f"cell must be one of {CELLS}, got {cell!r}")
        if activation not in ("tanh", "relu"):
            raise ValueError(f"a recurrent network's activation must be 'tanh' or 'relu', got {activation!r}")
        if cell == "gru" and activation != "tanh":
            raise ValueError("a GRU's activation is fixed (tanh); use cell='rnn' for a ReLU network")
        if int(hidden) < 1 or int(grace) < 0:
            raise ValueError(f"need hidden >= 1 and grace >= 0, got {hidden}, {grace}")
        inputs = in_channels - 1  # the on-flag steers the averaging and is not an input to the cell
        self.cell = (nn.RNN(inputs, hidden, batch_first=True, nonlinearity=activation) if cell == "rnn"
                     else nn.GRU(inputs, hidden, batch_first=True))
        self.hidden1 = PostOnsetMean()
        self.readout = nn.Linear(hidden, out_features)
        self.grace = int(grace)

    @property
    def hidden_layers(self) -> list[str]:
        return ["hidden1"]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        on = x[..., -1]
        h, _ = self.cell(x[..., :-1])
        self.hidden1(h, on)  # the probed representation (read by a forward hook)
        respond = (on.cumsum(1) > self.grace).to(h.dtype)
        return masked_mean(self.readout(h), respond)
