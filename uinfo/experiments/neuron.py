"""Goldfeld et al. (2019), the single tanh neuron T = tanh(w X + b) + Z: I(X;T) over training, exactly (quadrature),
by the SP estimator and by binning. Results in nats."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..engine.phases import epoch_loop
from ..engine.runs import stored_runs
from ..engine.training import log_epochs
from ..estimators.shannon import binned_entropy, gaussian_entropy, sp_mutual_information
from ..store import Store
from .checks import require_positive

NEURON_EXPERIMENT = "single_neuron"


@dataclass(frozen=True)
class NeuronConfig:
    inputs: tuple = (-3.0, -1.0, 1.0)
    labels: tuple = (-1, -1, 1)           # {-3, -1} -> -1, {1} -> +1 (spec 3, [MEM low]: a notebook parameter)
    beta: float = 0.005
    loss: str = "squared"                 # squared error on +-1 targets, or "cross_entropy" on p = (1 + T) / 2
    lr: float = 0.1
    epochs: int = 100000                  # full-batch gradient steps
    n_checkpoints: int = 80
    w0: float = 0.001
    b0: float = 0.0
    seed: int = 0
    n_mc: int = 2000                      # Monte Carlo draws per centre for the SP estimate (3 centres)
    bin_width: float = 0.05               # binning of the deterministic neuron tanh(wX + b), B = 10 beta

    def __post_init__(self):
        if len(self.inputs) != len(self.labels) or len(self.inputs) < 2:
            raise ValueError(f"inputs and labels must have the same length >= 2, got {self.inputs} / {self.labels}")
        if any(y not in (-1, 1) for y in self.labels):
            raise ValueError(f"labels must be -1 or +1, got {self.labels}")
        if self.loss not in ("squared", "cross_entropy"):
            raise ValueError(f"loss must be 'squared' or 'cross_entropy', got {self.loss!r}")
        require_positive(self, "epochs", "n_checkpoints", "n_mc")
        require_positive(self, "beta", "lr", "bin_width", integer=False)


def constellation_mi(points, beta: float, grid: int = 40001) -> float:
    """I(X;T) in nats for X uniform over the constellation ``points`` (1-D) and T = X' + N(0, beta^2): the
    entropy of the 1-D Gaussian mixture by quadrature (trapezoid rule on +-10 beta around the points; exact to
    ~1e-6 here) minus h(Z)."""
    c = np.sort(np.asarray(points, dtype=np.float64))
    # integrate bump by bump: merged points share one window, distant ones get their own
    windows, lo, hi = [], c[0] - 10 * beta, c[0] + 10 * beta
    for x in c[1:]:
        if x - 10 * beta <= hi:
            hi = x + 10 * beta
        else:
            windows.append((lo, hi))
            lo, hi = x - 10 * beta, x + 10 * beta
    windows.append((lo, hi))
    h = 0.0
    for lo, hi in windows:
        t = np.linspace(lo, hi, grid)
        g = np.exp(-(t[:, None] - c[None, :]) ** 2 / (2 * beta ** 2)).mean(1) / (beta * math.sqrt(2 * math.pi))
        f = -g * np.log(np.maximum(g, 1e-300))
        h += float(np.sum((f[1:] + f[:-1]) / 2) * (t[1] - t[0]))
    return h - gaussian_entropy(1, beta)


def run_single_neuron(config: NeuronConfig, progress: bool = False, state_path=None) -> pd.DataFrame:
    """Full-batch gradient descent on the noisy neuron (noise on while training, as in the authors' code); at
    log-spaced epochs: w, b, the noiseless loss, I(X;T) exactly (quadrature), by the SP estimator, and the
    binned entropy of the deterministic neuron."""
    x, y = np.asarray(config.inputs, float), np.asarray(config.labels, float)
    rng = np.random.default_rng(config.seed)
    neuron = dict(w=config.w0, b=config.b0)
    rows = []

    def measure(epoch: int) -> None:
        w, b = neuron["w"], neuron["b"]
        s = np.tanh(w * x + b)
        sp = sp_mutual_information(s[:, None, None], config.beta, first_layer=True, n_mc=config.n_mc,
                                   seed=[config.seed, epoch])
        rows.append(dict(seed=config.seed, epoch=epoch, w=w, b=b, loss=float(np.mean((s - y) ** 2)),
                         mi_exact=constellation_mi(s, config.beta), mi_sp=sp.mi, se_sp=sp.se,
                         binned=binned_entropy(s, config.bin_width), **{f"t{i}": v for i, v in enumerate(s)}))

    def step(epoch: int) -> None:  # one full-batch gradient step, noise on
        w, b = neuron["w"], neuron["b"]
        th = np.tanh(w * x + b)
        t = th + config.beta * rng.standard_normal(len(x))
        if config.loss == "squared":
            dt = 2 * (t - y) / len(x)
        else:
            p, target = np.clip((1 + t) / 2, 1e-6, 1 - 1e-6), (1 + y) / 2
            dt = (-(target / p) + (1 - target) / (1 - p)) / 2 / len(x)
        du = dt * (1 - th ** 2)
        neuron.update(w=w - config.lr * float((du * x).sum()), b=b - config.lr * float(du.sum()))

    epoch_loop(config.epochs, log_epochs(config.epochs, config.n_checkpoints), step, measure, progress=progress,
               desc="single neuron", mininterval=1)
    return pd.DataFrame(rows)


def single_neuron_runs(configs, store: Store | None = None, progress: bool = True) -> pd.DataFrame:
    return stored_runs(NEURON_EXPERIMENT, run_single_neuron, configs, store, progress)

