"""The perceptual decision-making checkerboard task (Kleinman et al. 2021, spec section 2.3).

Inputs (4 scalars): x0 = left-target colour (-1 red, +1 green), x1 = right-target colour = -x0,
x2 = red coherence c = 2R/225 - 1 (+ noise), x3 = green coherence -c (+ independent noise), with R red squares of
225 drawn uniformly from a fixed set of 14 counts. The network is trained on the direction only; the colour choice
and the target configuration are semantically meaningful but irrelevant, and direction = colour XOR configuration.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

RED_COUNTS = (11, 45, 67, 78, 90, 101, 108, 117, 124, 135, 147, 158, 180, 214)
BOARD_SQUARES = 225
VARIABLES = ("direction", "colour", "configuration")
# label meanings: direction 0 = left, 1 = right; colour 0 = red dominant, 1 = green dominant;
# configuration 0 = left target red, 1 = left target green
COHERENCES = tuple(2 * r / BOARD_SQUARES - 1 for r in RED_COUNTS)


@dataclass(frozen=True)
class CheckerboardData:
    """Inputs (n, 4) float32, the three labels as int64 tensors, and the noise-free red coherence."""

    x: torch.Tensor
    labels: dict
    coherence: torch.Tensor

    def __len__(self) -> int:
        return self.x.shape[0]

    def subset(self, idx) -> "CheckerboardData":
        return CheckerboardData(self.x[idx], {k: v[idx] for k, v in self.labels.items()}, self.coherence[idx])


def checkerboard(n: int, sigma: float = 0.1, seed=0) -> CheckerboardData:
    """Draw n trials. Noise of standard deviation sigma is added once per sample, independently, to the two
    coherence channels (the target inputs are noise-free). ``seed`` is anything numpy's default_rng accepts."""
    if int(n) < 1:
        raise ValueError(f"n must be a positive number of samples, got {n}")
    if not sigma >= 0:
        raise ValueError(f"sigma must be >= 0, got {sigma}")
    rng = np.random.default_rng(seed)
    red = np.asarray(RED_COUNTS)[rng.integers(len(RED_COUNTS), size=n)]
    c = 2 * red / BOARD_SQUARES - 1
    left_green = rng.integers(2, size=n)
    x0 = np.where(left_green == 1, 1.0, -1.0)
    noise = rng.normal(0.0, sigma, size=(n, 2)) if sigma > 0 else np.zeros((n, 2))
    x = np.stack([x0, -x0, c + noise[:, 0], -c + noise[:, 1]], axis=1)
    colour = (red < BOARD_SQUARES / 2).astype(np.int64)  # 1 = green dominant
    configuration = left_green.astype(np.int64)
    direction = colour ^ configuration  # left (0) when the dominant colour is the left target's colour
    labels = {"direction": torch.from_numpy(direction), "colour": torch.from_numpy(colour),
              "configuration": torch.from_numpy(configuration)}
    return CheckerboardData(torch.from_numpy(x).float(), labels, torch.from_numpy(c).float())


def checkerboard_splits(n_samples: int = 10000, train_fraction: float = 0.9, n_analysis: int = 4000,
                        sigma: float = 0.1, seed: int = 0) -> dict:
    """The data set of one run: ``train`` and ``val`` (n_samples split train_fraction / rest) and a fresh
    ``analysis`` set from an independent stream of the same generator, on which the decoders are fitted and
    evaluated (the network never trains on it)."""
    if not 0 < train_fraction < 1:
        raise ValueError(f"train_fraction must be in (0, 1), got {train_fraction}")
    data = checkerboard(n_samples, sigma, seed=[seed, 0])
    n_train = int(round(train_fraction * n_samples))
    if not 0 < n_train < n_samples:
        raise ValueError(f"n_samples={n_samples} with train_fraction={train_fraction} leaves an empty split")
    return {"train": data.subset(slice(0, n_train)), "val": data.subset(slice(n_train, None)),
            "analysis": checkerboard(n_analysis, sigma, seed=[seed, 1])}


def direction_bayes_ceiling(sigma: float = 0.1, grid: int = 20001) -> dict:
    """The Bayes limit of the direction (and colour) decision from the inputs, by quadrature.

    The target configuration is known exactly from x0, so direction is as uncertain as colour. With independent
    noise sigma on x2 and x3, s = (x2 - x3) / 2 = c + N(0, sigma^2 / 2) is sufficient for c. Returns
    ``bits`` = I(direction; X) = H(direction) - E[h_b(P(colour | s))] with H(direction) = 1 bit, and the
    Bayes ``accuracy``.
    """
    if sigma == 0:
        return {"bits": 1.0, "accuracy": 1.0}
    c = np.asarray(COHERENCES)
    tau = sigma / math.sqrt(2)
    s = np.linspace(-1 - 10 * tau, 1 + 10 * tau, grid)
    like = np.exp(-0.5 * ((s[:, None] - c[None, :]) / tau) ** 2) / (tau * math.sqrt(2 * math.pi))
    density = like.mean(axis=1)  # p(s), coherences uniform
    p_red = like[:, c > 0].sum(axis=1) / like.sum(axis=1)
    p = np.clip(p_red, 1e-300, 1 - 1e-16)
    hb = -(p * np.log2(p) + (1 - p) * np.log2(np.clip(1 - p, 1e-300, None)))
    ds = s[1] - s[0]
    cond_entropy = float((density * hb).sum() * ds)
    accuracy = float((density * np.maximum(p_red, 1 - p_red)).sum() * ds)
    return {"bits": 1.0 - cond_entropy, "accuracy": accuracy}


# A discretised trial for recurrent networks (spec 2.5, RNN): the targets are shown from the first step, the
# checkerboard from a random onset step on, and the direction is read out after a grace period.
TRIAL_STEPS = 20
ONSET_STEPS = (4, 8)  # onset drawn uniformly from this closed range of steps
GRACE_STEPS = 3  # the readout averages the steps from onset + GRACE_STEPS on
STEP_SIGMA = 0.1  # fresh noise on the coherence channels at every step, on top of the trial's own sample
TRIAL_CHANNELS = 5  # x0..x3 as in `checkerboard`, then a checkerboard-on flag


def checkerboard_trials(data: CheckerboardData, seed=0, n_steps: int = TRIAL_STEPS, onset=ONSET_STEPS,
                        step_sigma: float = STEP_SIGMA) -> CheckerboardData:
    """Turn static trials into sequences (n, n_steps, 5): the target channels x0, x1 from step 0; the coherence
    channels x2, x3 (the trial's noisy sample plus fresh N(0, step_sigma^2) noise per step) and an on-flag from
    the onset step on, zeros before. Labels are unchanged. Per-step noise only removes information, so the static
    task's Bayes ceiling stays an upper bound."""
    lo, hi = onset
    if not 0 <= lo <= hi < n_steps - GRACE_STEPS:
        raise ValueError(f"onset range {onset} must lie in [0, {n_steps - GRACE_STEPS}) for {n_steps} steps "
                         f"and a grace period of {GRACE_STEPS}")
    if not step_sigma >= 0:
        raise ValueError(f"step_sigma must be >= 0, got {step_sigma}")
    rng = np.random.default_rng(seed)
    n = len(data)
    start = rng.integers(lo, hi + 1, size=n)
    on = (np.arange(n_steps)[None, :] >= start[:, None]).astype(np.float32)  # (n, T)
    x = np.zeros((n, n_steps, TRIAL_CHANNELS), dtype=np.float32)
    static = data.x.numpy()
    x[:, :, 0:2] = static[:, None, 0:2]
    noise = rng.normal(0.0, step_sigma, size=(n, n_steps, 2)) if step_sigma > 0 else 0.0
    x[:, :, 2:4] = (static[:, None, 2:4] + noise) * on[:, :, None]
    x[:, :, 4] = on
    return CheckerboardData(torch.from_numpy(x), data.labels, data.coherence)
