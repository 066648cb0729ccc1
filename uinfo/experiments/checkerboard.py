"""Checkerboard experiments: a fully connected net trained on direction, with usable information of direction,
colour and target configuration measured in every hidden layer over training (Kleinman et al. 2021, Fig. 1)."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import pandas as pd
import torch

from ..engine.phases import Checkpoint, Phase, phase_seed, run_phases, tidy_records
from ..engine.probe import UsableInformationProbe
from ..engine.runs import stored_run, stored_runs
from ..engine.training import SGDConfig, checkpoint_schedule, steps_per_epoch
from ..estimators.usable import DECODERS
from ..models import MLP, RecurrentClassifier
from ..models.mlp import ACTIVATIONS
from ..store import Store
from ..tasks.checkerboard import GRACE_STEPS, TRIAL_CHANNELS, VARIABLES, checkerboard_splits, checkerboard_trials

EXPERIMENT = "checkerboard"
ARCHITECTURES = ("mlp", "rnn", "gru")


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
    architecture: str = "mlp"
    pretrain_target: str | None = None
    pretrain_epochs: int = 0
    reset_readout: bool = False
    warmup_epochs: int = 0
    warmup_lr: float | None = None
    warmup_batch_size: int | None = None

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
        if self.architecture not in ARCHITECTURES:
            problems.append(f"architecture must be one of {ARCHITECTURES}, got {self.architecture!r}")
        elif self.architecture != "mlp" and len(self.hidden) != 1:
            problems.append(f"a recurrent network has one hidden layer: hidden must be (width,), got {self.hidden}")
        elif self.architecture == "gru" and self.activation != "tanh":
            problems.append("a GRU's activation is fixed: use activation='tanh'")
        if self.pretrain_target not in (None, *VARIABLES):
            problems.append(f"pretrain_target must be None or one of {VARIABLES}, got {self.pretrain_target!r}")
        if not (isinstance(self.pretrain_epochs, int) and self.pretrain_epochs >= 0):
            problems.append(f"pretrain_epochs must be a non-negative integer, got {self.pretrain_epochs!r}")
        elif (self.pretrain_target is None) != (self.pretrain_epochs == 0):
            problems.append("pretrain_target and pretrain_epochs > 0 go together (set both or neither)")
        if self.reset_readout and not self.pretrain_epochs:
            problems.append("reset_readout applies after pretraining: it needs pretrain_epochs > 0")
        if not (isinstance(self.warmup_epochs, int) and 0 <= self.warmup_epochs < self.epochs):
            problems.append(f"warmup_epochs must be an integer in [0, epochs={self.epochs}), got {self.warmup_epochs!r}")
        elif self.warmup_epochs and self.warmup_lr is None and self.warmup_batch_size is None:
            problems.append("warmup_epochs > 0 needs a warmup_lr or a warmup_batch_size that differs")
        if problems:
            raise ValueError("invalid CheckerboardConfig: " + "; ".join(problems))
        self.phases()  # validates the optimizer settings

    def sgd(self, epochs: int | None = None, lr: float | None = None, batch_size: int | None = None) -> SGDConfig:
        return SGDConfig(lr=self.lr if lr is None else lr, batch_size=batch_size or self.batch_size,
                         epochs=self.epochs if epochs is None else epochs, momentum=self.momentum,
                         weight_decay=self.weight_decay)

    def phases(self) -> list[tuple[str, str, SGDConfig]]:
        """(name, target, optimizer) of each training phase in order: an optional pretraining on another
        variable, an optional warm-up (the first ``warmup_epochs`` of direction training at another lr or batch
        size), then direction training; ``epochs`` counts the warm-up and the main phase together."""
        out = []
        if self.pretrain_epochs:
            out.append(("pretrain", self.pretrain_target, self.sgd(self.pretrain_epochs)))
        if self.warmup_epochs:
            out.append(("warmup", "direction", self.sgd(self.warmup_epochs, self.warmup_lr, self.warmup_batch_size)))
        out.append(("train", "direction", self.sgd(self.epochs - self.warmup_epochs)))
        return out

    def replace(self, **changes) -> "CheckerboardConfig":
        return dataclasses.replace(self, **changes)


def build_model(config: CheckerboardConfig) -> torch.nn.Module:
    torch.manual_seed(config.seed)
    if config.architecture == "mlp":
        return MLP(4, config.hidden, 2, config.activation)
    return RecurrentClassifier(TRIAL_CHANNELS, config.hidden[0], 2, config.architecture, config.activation,
                               grace=GRACE_STEPS)


def run_data(config: CheckerboardConfig) -> dict:
    """The run's train / val / analysis sets; sequences for a recurrent network (trial noise seeded per split)."""
    data = checkerboard_splits(config.n_samples, config.train_fraction, config.n_analysis, config.sigma,
                               config.seed)
    if config.architecture != "mlp":
        data = {name: checkerboard_trials(split, seed=[config.seed, 2, i]) for i, (name, split) in enumerate(data.items())}
    return data


def _schedule(config: CheckerboardConfig, n_train: int) -> list[list[int]]:
    """Checkpoint steps within each phase. The direction phases (warm-up + main) share one log-spaced schedule
    over their steps, so a warm-up of the same batch size leaves the checkpoints of the baseline unchanged;
    pretraining gets a third as many checkpoints of its own (its last one is the direction phase's step 0)."""
    phases = config.phases()
    lengths = [steps_per_epoch(n_train, sgd.batch_size) * sgd.epochs for _, _, sgd in phases]
    pre = 1 if phases[0][0] == "pretrain" else 0
    out = []
    if pre:
        out.append([s for s in checkpoint_schedule(lengths[0], max(1, config.n_checkpoints // 3)) if s < lengths[0]])
    direction = checkpoint_schedule(sum(lengths[pre:]), config.n_checkpoints)
    offset, last = 0, len(lengths) - 1
    for i in range(pre, len(lengths)):
        end = offset + lengths[i]
        out.append([s - offset for s in direction if offset <= s < end or (i == last and s == end)])
        offset = end
    return out


def run_checkerboard(config: CheckerboardConfig, progress: bool = False, state_path=None) -> pd.DataFrame:
    """Train one network and measure it at every checkpoint. Returns tidy records: one row per
    checkpoint x hidden layer x variable, with the run's loss and accuracy on its train and validation splits,
    the training ``phase`` and the ``epoch`` counted from the start of direction training (negative while
    pretraining).

    With ``state_path``, the run's full state (model, optimizer, schedule, generators, records so far) is written
    there atomically at every checkpoint, and a run started again with the same config and path continues from
    the last one: its records are bitwise those of an uninterrupted run (same machine and thread count)."""
    data = run_data(config)
    train, val, analysis = data["train"], data["val"], data["analysis"]
    model = build_model(config)
    probe = UsableInformationProbe(model, model.hidden_layers, analysis.x, analysis.labels,
                                   {"train": (train.x, train.labels), "val": (val.x, val.labels)},
                                   target="direction", decoder=config.decoder, split_seed=config.seed)

    def fresh_readout() -> None:  # a fresh readout for the new task, seeded, leaving the RNG as it was
        with torch.random.fork_rng():
            torch.manual_seed(config.seed + 7)
            model.readout.reset_parameters()

    named = config.phases()
    phases = [Phase(name, target, sgd, steps, phase_seed(config.seed, i, len(named)),
                    fresh_readout if config.reset_readout and i > 0 and named[i - 1][0] == "pretrain" else None)
              for i, ((name, target, sgd), steps) in enumerate(zip(named, _schedule(config, len(train))))]

    def measure(point: Checkpoint) -> None:
        n_before = len(probe.records)
        probe(point.total_step, point.epoch)
        for row in probe.records[n_before:]:
            row["phase"] = point.phase.name
    run_phases(model, phases, train.x, train.labels, measure, probe.records,
               first_epoch=-float(config.pretrain_epochs), state_path=state_path, progress=progress,
               desc=f"seed {config.seed}")
    return tidy_records(probe.records, EXPERIMENT, config)


def _compute(config: CheckerboardConfig, progress: bool, state_path) -> pd.DataFrame:
    return run_checkerboard(config, progress, state_path=state_path)


def _stored_run(config: CheckerboardConfig, store_root, progress: bool = False) -> tuple[pd.DataFrame, bool]:
    """One run through the store: read if finished, else computed with its resume state kept in the store."""
    return stored_run(EXPERIMENT, _compute, config, store_root, progress)


def checkerboard_runs(configs, store: Store | None = None, progress: bool = True, jobs: int = 1) -> pd.DataFrame:
    """Records of many runs, each read from the store when it is there and computed (then stored) when not,
    so an interrupted sweep resumes at the first missing run. With ``jobs`` > 1 the missing runs are computed in
    that many worker processes, one thread each (records keep the order of ``configs``)."""
    return stored_runs(EXPERIMENT, _compute, configs, store, progress, jobs)
