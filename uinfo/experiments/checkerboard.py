"""Checkerboard experiments: a fully connected net trained on direction, with usable information of direction,
colour and target configuration measured in every hidden layer over training (Kleinman et al. 2021, Fig. 1)."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import pandas as pd
import torch
from tqdm.auto import tqdm

from ..estimators.usable import DECODERS
from ..measure import UsableInformationProbe
from ..models import MLP
from ..models.mlp import ACTIVATIONS
from ..store import Store, config_key
from ..tasks.checkerboard import VARIABLES, checkerboard_splits
from ..training import SGDConfig, checkpoint_schedule, steps_per_epoch, train_sgd

EXPERIMENT = "checkerboard"


@dataclass(frozen=True)
class CheckerboardConfig:
    """Everything that determines one run. The defaults are the paper's FC Small setting (lr 0.05, batch 32,
    10000 samples split 90/10) with our choices where the paper is silent (see the notebook's table)."""

    seed: int = 0
    hidden: tuple = (5, 5)
    activation: str = "relu"
    sigma: float = 0.1
    n_samples: int = 10000
    train_fraction: float = 0.9
    n_analysis: int = 4000
    lr: float = 0.05
    batch_size: int = 32
    epochs: int = 200
    momentum: float = 0.0
    weight_decay: float = 0.0
    n_checkpoints: int = 60
    decoder: str = "linear"

    def __post_init__(self):
        object.__setattr__(self, "hidden", tuple(int(h) for h in self.hidden))
        problems = []
        if not (isinstance(self.seed, int) and self.seed >= 0):
            problems.append(f"seed must be a non-negative integer, got {self.seed!r}")
        if not self.hidden or min(self.hidden) < 1:
            problems.append(f"hidden must list positive widths, got {self.hidden}")
        if self.activation not in ACTIVATIONS:
            problems.append(f"activation must be one of {sorted(ACTIVATIONS)}, got {self.activation!r}")
        if self.decoder not in DECODERS:
            problems.append(f"decoder must be one of {DECODERS}, got {self.decoder!r}")
        if not self.sigma >= 0:
            problems.append(f"sigma must be >= 0, got {self.sigma}")
        if not (isinstance(self.n_samples, int) and self.n_samples >= 20):
            problems.append(f"n_samples must be an integer >= 20, got {self.n_samples!r}")
        if not (isinstance(self.n_analysis, int) and self.n_analysis >= 20):
            problems.append(f"n_analysis must be an integer >= 20, got {self.n_analysis!r}")
        if not 0 < self.train_fraction < 1:
            problems.append(f"train_fraction must be in (0, 1), got {self.train_fraction}")
        if not (isinstance(self.n_checkpoints, int) and self.n_checkpoints >= 1):
            problems.append(f"n_checkpoints must be a positive integer, got {self.n_checkpoints!r}")
        if problems:
            raise ValueError("invalid CheckerboardConfig: " + "; ".join(problems))
        self.sgd()  # validates the optimizer settings

    def sgd(self) -> SGDConfig:
        return SGDConfig(lr=self.lr, batch_size=self.batch_size, epochs=self.epochs, momentum=self.momentum,
                         weight_decay=self.weight_decay)

    def replace(self, **changes) -> "CheckerboardConfig":
        return dataclasses.replace(self, **changes)


def run_checkerboard(config: CheckerboardConfig, progress: bool = False) -> pd.DataFrame:
    """Train one network and measure it at every checkpoint. Returns tidy records: one row per
    checkpoint x hidden layer x variable, with the run's loss and accuracy on its train and validation splits."""
    torch.manual_seed(config.seed)
    data = checkerboard_splits(config.n_samples, config.train_fraction, config.n_analysis, config.sigma,
                               config.seed)
    train, val, analysis = data["train"], data["val"], data["analysis"]
    model = MLP(4, config.hidden, 2, config.activation)
    probe = UsableInformationProbe(model, model.hidden_layers, analysis.x, analysis.labels,
                                   {"train": (train.x, train.labels), "val": (val.x, val.labels)},
                                   target="direction", decoder=config.decoder, split_seed=config.seed)
    per_epoch = steps_per_epoch(len(train), config.batch_size)
    steps = checkpoint_schedule(per_epoch * config.epochs, config.n_checkpoints)
    bar = tqdm(total=per_epoch * config.epochs, desc=f"seed {config.seed}", leave=False, disable=not progress)
    with bar:
        train_sgd(model, train.x, train.labels["direction"], config.sgd(), config.seed, steps, probe, bar)
    records = pd.DataFrame(probe.records)
    records.insert(0, "run", config_key(EXPERIMENT, config))
    for name, value in dataclasses.asdict(config).items():
        records[name] = str(value) if isinstance(value, tuple) else value
    return records


def checkerboard_runs(configs, store: Store | None = None, progress: bool = True) -> pd.DataFrame:
    """Records of many runs, each read from the store when it is there and computed (then stored) when not,
    so an interrupted sweep resumes at the first missing run."""
    frames, computed = [], 0
    for config in tqdm(list(configs), desc="checkerboard runs", disable=not progress):
        if store is None:
            frames.append(run_checkerboard(config))
            computed += 1
            continue
        records, fresh = store.get_or_compute(EXPERIMENT, config, lambda: run_checkerboard(config, progress))
        frames.append(records)
        computed += fresh
    out = pd.concat(frames, ignore_index=True)
    out.attrs["computed_runs"] = computed
    return out


# ---------------------------------------------------------------------------------------------------------------
# checkerboard_dynamics: profiles are data, not branches

MAIN_WIDTH = 5
DYNAMICS_PROFILES = {
    # seconds, for CI: tiny data, two epochs
    "smoke": dict(seeds=(0, 1), widths=(5, 100), variants=({"weight_decay": 1e-3},),
                  base=dict(n_samples=600, n_analysis=400, epochs=2, n_checkpoints=6)),
    # a 2-core laptop: the paper's data and optimizer, fewer epochs and checkpoints
    "quick": dict(seeds=tuple(range(5)), widths=(3, 5, 8, 16, 100),
                  variants=({"weight_decay": 1e-3}, {"activation": "tanh"}), base=dict(epochs=60, n_checkpoints=30)),
    # the paper's setting as far as it is known (200 epochs is the spec's recommendation)
    "paper": dict(seeds=tuple(range(10)), widths=(3, 5, 8, 16, 100),
                  variants=({"weight_decay": 1e-3}, {"activation": "tanh"}, {"momentum": 0.9}),
                  base=dict(epochs=200, n_checkpoints=60)),
}


def dynamics_configs(profile: str, seeds=None, widths=None) -> list[CheckerboardConfig]:
    """FC Small (two hidden layers of equal width) for every width x seed of a profile, then the profile's
    variants (other settings changed one at a time) at the main width."""
    if profile not in DYNAMICS_PROFILES:
        raise ValueError(f"profile must be one of {sorted(DYNAMICS_PROFILES)}, got {profile!r}")
    spec = DYNAMICS_PROFILES[profile]
    seeds = spec["seeds"] if seeds is None else tuple(seeds)
    widths = spec["widths"] if widths is None else tuple(int(w) for w in widths)
    configs = [CheckerboardConfig(seed=s, hidden=(w, w), **spec["base"]) for w in widths for s in seeds]
    configs += [CheckerboardConfig(seed=s, hidden=(MAIN_WIDTH, MAIN_WIDTH), **{**spec["base"], **variant})
                for variant in spec.get("variants", ()) for s in seeds]
    return configs



# ---------------------------------------------------------------------------------------------------------------
# checkerboard_lr_batch: the learning rate and batch size of SGD (spec section 4)

FULL_BATCH = 9000  # larger than any training split here: train_sgd then takes the whole split as one batch
LR_BATCH_PROFILES = {
    "smoke": dict(seeds=(0,), lrs=(0.01, 0.05), batch_sizes=(32, 128), grid_lrs=(), grid_batch_sizes=(),
                  base=dict(n_samples=600, n_analysis=400, epochs=2, n_checkpoints=6)),
    # same base as checkerboard_dynamics' quick profile, so the shared lr 0.05 / batch 32 runs come from the store
    "quick": dict(seeds=tuple(range(5)), lrs=(0.001, 0.005, 0.01, 0.05, 0.1), batch_sizes=(8, 32, 128, 512, FULL_BATCH),
                  grid_lrs=(0.01, 0.1), grid_batch_sizes=(8, 128), base=dict(epochs=60, n_checkpoints=30)),
    "paper": dict(seeds=tuple(range(10)), lrs=(0.001, 0.005, 0.01, 0.05, 0.1), batch_sizes=(8, 32, 128, 512, FULL_BATCH),
                  grid_lrs=(0.005, 0.01, 0.05, 0.1), grid_batch_sizes=(8, 32, 128, 512),
                  base=dict(epochs=200, n_checkpoints=60)),
}


def lr_batch_configs(profile: str, seeds=None) -> list[CheckerboardConfig]:
    """FC Small at the main width: a learning-rate sweep at batch 32, a batch-size sweep at lr 0.05, and a small
    lr x batch grid (to see whether lr / batch orders the results); each (lr, batch) once, every seed."""
    if profile not in LR_BATCH_PROFILES:
        raise ValueError(f"profile must be one of {sorted(LR_BATCH_PROFILES)}, got {profile!r}")
    spec = LR_BATCH_PROFILES[profile]
    seeds = spec["seeds"] if seeds is None else tuple(seeds)
    pairs = [(lr, 32) for lr in spec["lrs"]] + [(0.05, bs) for bs in spec["batch_sizes"]]
    pairs += [(lr, bs) for lr in spec["grid_lrs"] for bs in spec["grid_batch_sizes"]]
    pairs = list(dict.fromkeys(pairs))
    return [CheckerboardConfig(seed=s, hidden=(MAIN_WIDTH, MAIN_WIDTH), lr=lr, batch_size=bs, **spec["base"])
            for lr, bs in pairs for s in seeds]
