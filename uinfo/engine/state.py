"""A run's resume state: saved atomically at checkpoints, read back when an interrupted run starts again."""
from __future__ import annotations

import errno
import os
import warnings
from pathlib import Path

import torch

from .. import faults


def load_state(path) -> dict | None:
    """A run's saved resume state, or None (none saved, or unreadable: reported, and the run starts again)."""
    if path is None or not Path(path).exists():
        return None
    try:
        return torch.load(path, weights_only=False)
    except Exception as err:  # a torn or foreign file: start the run again rather than fail
        warnings.warn(f"cannot read the resume state {path} ({err}); the run starts from the beginning")
        return None


def save_state(path: Path, state: dict, event: str = "state") -> None:
    """Write atomically: to a temporary file in the same folder, flushed to disk, then renamed over the old one,
    so a crash or a full disk leaves the previous state as it was. ``event`` names the save for the tests' fault
    injection (``uinfo.faults``): "state" at a checkpoint, "phase" between two training phases."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as fh:
            torch.save(state, fh)
            fh.flush()
            os.fsync(fh.fileno())
        faults.reached("state-write")
        os.replace(tmp, path)
    except OSError as err:
        if err.errno == errno.ENOSPC:
            raise OSError(errno.ENOSPC, f"no space left on the device while saving the resume state {path}; the "
                          "previous state is kept, so the run can resume from it: free some space (or pass another "
                          "store folder) and run again") from err
        raise
    finally:
        tmp.unlink(missing_ok=True)
    faults.reached(event)


def training_state(model, optimizer, generator: torch.Generator, **progress) -> dict:
    """What a training loop needs to continue exactly: weights, optimizer and minibatch/noise generator state,
    plus the loop's own ``progress`` (epoch, records so far)."""
    return dict(model=model.state_dict(), optimizer=optimizer.state_dict(), generator=generator.get_state(),
                **progress)


def restore_training(state: dict, model, optimizer, generator: torch.Generator) -> dict:
    """Load a ``training_state`` into the loop's objects; returns the state for the loop's own entries."""
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    generator.set_state(state["generator"])
    return state
