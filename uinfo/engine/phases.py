"""Training in phases with resume, written once for every experiment.

``run_phases`` runs SGD phases one after another (e.g. pretraining on another target, a warm-up at another lr,
then the main training), calls the experiment's measuring callback at each phase's checkpoints, and keeps the
run's resume state; ``epoch_loop`` is the same for loops that train and measure by whole epochs (Adam, full-batch
gradient descent). ``tidy_records`` turns a run's records into the stored table.
"""
from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import Callable

import pandas as pd
import torch
from tqdm.auto import tqdm

from ..store import config_key
from .state import load_state, save_state
from .training import SGDConfig, steps_per_epoch, train_sgd


@dataclass
class Phase:
    """One phase of training: ``sgd`` on the labels ``target``, measured at the steps ``checkpoints`` (counted
    within the phase), its minibatches drawn with ``seed``. ``start`` (if given) prepares the model when the phase
    begins, e.g. a fresh readout for the new target; it is also applied before a state saved inside this phase is
    restored, so the model has the phase's shape."""

    name: str
    target: str
    sgd: SGDConfig
    checkpoints: list
    seed: int
    start: Callable[[], None] | None = None


@dataclass(frozen=True)
class Checkpoint:
    """Where a measurement is taken: the phase, the step within it and from the start of the run, and the epoch
    counted from the run's epoch origin (negative before it, e.g. while pretraining)."""

    phase: Phase
    step: int
    total_step: int
    epoch: float


def phase_seed(seed: int, index: int, n_phases: int) -> int:
    """The minibatch seed of phase ``index``: the main (last) phase gets the run's seed, so a run without extra
    phases is the baseline run; earlier phases get seeds of their own."""
    return seed if index == n_phases - 1 else seed + 100003 * (index + 1)


def run_phases(model: torch.nn.Module, phases: list[Phase], x: torch.Tensor, labels: dict,
               measure: Callable[[Checkpoint], None], records: list, *, first_epoch: float = 0.0,
               state_path=None, progress: bool = False, desc: str = "", transform=None,
               precision: str = "float32") -> dict:
    """Train ``model`` on ``x`` through ``phases`` in order, calling ``measure(checkpoint)`` at every checkpoint;
    ``measure`` appends its rows to ``records``. Epochs are counted from ``first_epoch`` at the start of the first
    phase. Returns the seconds spent training and measuring ({"train", "measure"}).

    With ``state_path``, the model, the records so far, the torch RNG, the clock and the loop's state are saved
    there atomically at every checkpoint and between phases; started again with the same path, the run restores
    them (``records`` is refilled in place) and continues exactly: its records are bitwise those of an
    uninterrupted run (same machine and thread count)."""
    clock = dict(train=0.0, measure=0.0, since=time.perf_counter())
    saved = load_state(state_path)
    if saved is not None:
        for i, phase in enumerate(phases[1:saved["phase"] + 1], start=1):
            if phase.start is not None and (i < saved["phase"] or saved["loop"] is not None):
                phase.start()
        model.load_state_dict(saved["model"])
        records[:] = saved["records"]
        clock.update(train=saved["clock"]["train"], measure=saved["clock"]["measure"])
        torch.set_rng_state(saved["rng"])

    def save(phase: int, loop: dict | None) -> None:
        save_state(state_path, dict(phase=phase, loop=loop, model=model.state_dict(), records=records,
                                    clock=dict(train=clock["train"], measure=clock["measure"]),
                                    rng=torch.get_rng_state()), "state" if loop is not None else "phase")

    n = len(x)
    lengths = [steps_per_epoch(n, p.sgd.batch_size) * p.sgd.epochs for p in phases]
    with tqdm(total=sum(lengths), desc=desc, leave=False, disable=not progress) as bar:
        step0, epoch0 = 0, float(first_epoch)
        for i, phase in enumerate(phases):
            if saved is not None and i < saved["phase"]:  # finished before the interruption
                bar.update(lengths[i])
                step0 += lengths[i]
                epoch0 += phase.sgd.epochs
                continue
            resume = saved["loop"] if saved is not None and i == saved["phase"] else None
            if resume is None and i > 0 and phase.start is not None:
                phase.start()

            def at(step, epoch, phase=phase, step0=step0, epoch0=epoch0):
                now = time.perf_counter()
                clock["train"] += now - clock["since"]
                measure(Checkpoint(phase, step, step0 + step, epoch0 + epoch))
                clock["since"] = time.perf_counter()
                clock["measure"] += clock["since"] - now
            clock["since"] = time.perf_counter()
            train_sgd(model, x, labels[phase.target], phase.sgd, phase.seed, phase.checkpoints, at, bar,
                      resume=resume, save_state=None if state_path is None else lambda loop, i=i: save(i, loop),
                      transform=transform, precision=precision)
            step0 += lengths[i]
            epoch0 += phase.sgd.epochs
            if state_path is not None and i + 1 < len(phases):
                save(i + 1, None)
    clock["train"] += time.perf_counter() - clock["since"]
    return dict(train=clock["train"], measure=clock["measure"])


def epoch_loop(epochs: int, checkpoints, train_epoch: Callable[[int], None], measure: Callable[[int], None],
               save: Callable[[int], None] | None = None, start: int = 0, resumed: bool = False,
               progress: bool = False, desc: str = "", mininterval: float = 0.1) -> None:
    """Epochs ``start`` .. ``epochs``: ``measure(epoch)`` at each epoch in ``checkpoints`` (epoch 0 is before any
    training), then ``save(epoch)`` (if given, and not after the last), then ``train_epoch(epoch)`` to reach
    ``epoch + 1``. A run restored from a state saved at epoch ``start`` passes ``resumed``: that epoch was measured
    before the interruption and is not measured again."""
    wanted = set(int(e) for e in checkpoints)
    with tqdm(total=epochs, initial=start, desc=desc, disable=not progress, mininterval=mininterval) as bar:
        for epoch in range(start, epochs + 1):
            if epoch in wanted and not (resumed and epoch == start):
                measure(epoch)
                if save is not None and epoch < epochs:
                    save(epoch)
            if epoch == epochs:
                break
            train_epoch(epoch)
            bar.update(1)


def tidy_records(rows: list[dict], experiment: str, config) -> pd.DataFrame:
    """A run's rows as its stored table: the run's store key first, then the rows, then every config field
    (tuples as their text, so a CSV round trip keeps them)."""
    records = pd.DataFrame(rows)
    records.insert(0, "run", config_key(experiment, config))
    for name, value in dataclasses.asdict(config).items():
        records[name] = str(value) if isinstance(value, tuple) else value
    return records
