"""One training loop: minibatch SGD on in-memory tensors, an lr schedule, and callbacks at checkpoint steps."""
from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass
from typing import Callable, Iterable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class SGDConfig:
    """Plain minibatch SGD. ``lr_decay`` multiplies the learning rate after every epoch (1 = constant)."""

    lr: float = 0.05
    batch_size: int = 32
    epochs: int = 200
    momentum: float = 0.0
    weight_decay: float = 0.0
    lr_decay: float = 1.0

    def __post_init__(self):
        problems = []
        if not self.lr > 0:
            problems.append(f"lr must be > 0, got {self.lr}")
        if not (isinstance(self.batch_size, int) and self.batch_size >= 1):
            problems.append(f"batch_size must be a positive integer, got {self.batch_size!r}")
        if not (isinstance(self.epochs, int) and self.epochs >= 1):
            problems.append(f"epochs must be a positive integer, got {self.epochs!r}")
        if not 0 <= self.momentum < 1:
            problems.append(f"momentum must be in [0, 1), got {self.momentum}")
        if not self.weight_decay >= 0:
            problems.append(f"weight_decay must be >= 0, got {self.weight_decay}")
        if not 0 < self.lr_decay <= 1:
            problems.append(f"lr_decay must be in (0, 1], got {self.lr_decay}")
        if problems:
            raise ValueError("invalid SGDConfig: " + "; ".join(problems))


def steps_per_epoch(n_train: int, batch_size: int) -> int:
    return math.ceil(n_train / min(batch_size, n_train))


def checkpoint_schedule(total_steps: int, n_checkpoints: int, first_step: int = 1) -> list[int]:
    """Step 0 plus ``n_checkpoints`` steps spaced evenly in log(step) from ``first_step`` to ``total_steps``:
    dense early, where the transient is, and sparse late. Duplicates after rounding are dropped."""
    if n_checkpoints < 1 or total_steps < 1:
        raise ValueError(f"need n_checkpoints >= 1 and total_steps >= 1, got {n_checkpoints}, {total_steps}")
    first_step = min(max(1, first_step), total_steps)
    steps = np.unique(np.round(np.geomspace(first_step, total_steps, n_checkpoints)).astype(int))
    return [0, *[int(s) for s in steps]]


def log_epochs(epochs: int, n: int) -> list[int]:
    """Epoch 0 and the unique rounded values of n log-spaced epochs from 1 to ``epochs`` (Goldfeld et al.'s
    schedule: n = 100 up to 9999 gives 84 epochs)."""
    return [0] + sorted({int(round(e)) for e in np.logspace(0, math.log10(epochs), n)})


PRECISIONS = ("float32", "bf16")


def autocast(device: torch.device | str, precision: str):
    """A context for the forward pass: bf16 autocast (on the CPU or a GPU) or nothing for float32."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    if precision == "float32":
        return contextlib.nullcontext()
    return torch.autocast(torch.device(device).type, dtype=torch.bfloat16)


def train_sgd(model: nn.Module, x: torch.Tensor, y: torch.Tensor, config: SGDConfig, seed: int,
              checkpoints: Iterable[int], callback: Callable[[int, float], None], progress=None,
              resume: dict | None = None, save_state: Callable[[dict], None] | None = None,
              transform: Callable[[torch.Tensor, torch.Generator], torch.Tensor] | None = None,
              precision: str = "float32") -> None:
    """Train ``model`` on (x, y) with cross-entropy and SGD, calling ``callback(step, epoch)`` at each step in
    ``checkpoints`` (step 0 is before any update). Minibatches come from a seeded permutation per epoch; a
    partial last batch is kept. ``progress`` is an optional tqdm-like bar advanced once per step.

    Resuming: after each checkpoint's callback, ``save_state(state)`` (if given) receives the loop's state (the
    optimizer, the lr schedule, the minibatch generator, the epoch's permutation and the position in it); passing
    that dict back as ``resume``, with the model's parameters restored by the caller, continues the loop exactly
    where it was, so the rest of training is bitwise the same as without the interruption.

    ``transform(x[idx], generator)`` (e.g. normalization and random augmentation) is applied to every minibatch
    with the loop's own generator, so it too resumes exactly; ``precision`` "bf16" runs the forward pass under
    bf16 autocast."""
    n = x.shape[0]
    bs = min(config.batch_size, n)
    per_epoch = steps_per_epoch(n, bs)
    wanted = set(int(s) for s in checkpoints)
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.SGD(model.parameters(), lr=config.lr, momentum=config.momentum,
                          weight_decay=config.weight_decay)
    sched = torch.optim.lr_scheduler.ExponentialLR(opt, gamma=config.lr_decay)
    model.train()
    step, epoch, batch, perm = 0, 0, 0, None
    if resume is not None:
        opt.load_state_dict(resume["optimizer"])
        sched.load_state_dict(resume["schedule"])
        gen.set_state(resume["generator"])
        step, epoch, batch, perm = resume["step"], resume["epoch"], resume["batch"], resume["perm"]
        if progress is not None:
            progress.update(step)

    def save() -> None:
        if save_state is not None:
            save_state(dict(optimizer=opt.state_dict(), schedule=sched.state_dict(), generator=gen.get_state(),
                            step=step, epoch=epoch, batch=batch, perm=perm))

    if resume is None and 0 in wanted:
        callback(0, 0.0)
        save()
    while epoch < config.epochs:
        if perm is None:
            perm = torch.randperm(n, generator=gen)
        idx = perm[batch * bs:(batch + 1) * bs]
        xb = x[idx] if transform is None else transform(x[idx], gen)
        with autocast(xb.device, precision):
            loss = F.cross_entropy(model(xb), y[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step += 1
        batch += 1
        if progress is not None:
            progress.update(1)
        measured = step in wanted
        if measured:
            if not torch.isfinite(loss):
                raise FloatingPointError(f"training diverged at step {step}: the loss is {loss.item()}; "
                                         f"try a lower learning rate than {config.lr}")
            callback(step, step / per_epoch)
        if batch == per_epoch:  # end of the epoch
            sched.step()
            epoch, batch, perm = epoch + 1, 0, None
        if measured:
            save()
