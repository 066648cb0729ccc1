"""A run killed (SIGKILL) at chosen points and started again ends with records identical to an uninterrupted run.

The kill points are deterministic: ``UINFO_TEST_KILL_AT`` (``uinfo.faults``) makes the run's process SIGKILL itself
right after its k-th state save, right after a save between two phases, in the middle of a state write, or in the
middle of the store write. So the test does the same on a fast machine and on a loaded one."""
import os
import signal
import subprocess
import sys

import pandas as pd
import pytest
import torch

from uinfo.experiments.checkerboard import EXPERIMENT, CheckerboardConfig, run_checkerboard
from uinfo.store import Store

# pretraining + a warm-up + momentum: every kind of state (phases, optimizer buffers, schedule) must survive.
# A run of this config saves its state 4 times in pretraining, then between pretraining and the warm-up, 10 times
# in the warm-up, then between the warm-up and the main phase, 5 times in the main phase, then writes the store.
CONFIG = dict(n_samples=1000, n_analysis=400, epochs=6, n_checkpoints=14, hidden=(5, 5), momentum=0.9,
              pretrain_target="colour", pretrain_epochs=2, warmup_epochs=1, warmup_lr=0.01, seed=3)
SCRIPT = f"""
import sys, torch
torch.set_num_threads(1)
from uinfo.experiments.checkerboard import CheckerboardConfig, _stored_run
_stored_run(CheckerboardConfig(**{CONFIG!r}), sys.argv[1])
"""
# (where this attempt kills itself, counted from the state it resumes from; the phase its saved state is then in)
KILLS = [("state:2", 0),        # in pretraining, after its 2nd checkpoint
         ("phase:1", 1),        # right after the save between pretraining and the warm-up
         ("state-write:3", 1),  # in the middle of writing a state (the 2nd warm-up state stays on disk)
         ("phase:1", 2),        # right after the save between the warm-up and the main phase
         ("state:2", 2),        # in the main phase
         ("store:1", 2)]        # in the middle of the store write: records in a temporary folder, not renamed


def _run(root, kill_at=None) -> int:
    env = {k: v for k, v in os.environ.items() if k != "UINFO_TEST_KILL_AT"}
    if kill_at:
        env["UINFO_TEST_KILL_AT"] = kill_at
    return subprocess.run([sys.executable, "-c", SCRIPT, str(root)], env=env, timeout=600).returncode


def test_killed_runs_resume_to_identical_records(tmp_path):
    cfg = CheckerboardConfig(**CONFIG)
    reference_root, root = tmp_path / "reference", tmp_path / "killed"
    assert _run(reference_root) == 0
    reference = Store(reference_root).load(EXPERIMENT, cfg)
    store = Store(root)
    partial = store.partial_path(EXPERIMENT, cfg)
    progress = []
    for kill_at, phase in KILLS:
        assert _run(root, kill_at) == -signal.SIGKILL, kill_at  # killed where asked, not finished nor crashed
        assert store.load(EXPERIMENT, cfg) is None  # never a half-finished entry
        state = torch.load(partial, weights_only=False)
        assert state["phase"] == phase, (kill_at, state["phase"])
        if kill_at.startswith("phase"):
            assert state["loop"] is None  # the state between two phases
        progress.append(len(state["records"]))
    assert progress == sorted(progress) and len(set(progress)) >= 5, progress  # every kill at a new point
    assert list(root.joinpath(EXPERIMENT).glob(".tmp-*"))  # the killed store write left its temporary folder
    assert _run(root) == 0
    pd.testing.assert_frame_equal(store.load(EXPERIMENT, cfg), reference, check_exact=True)
    assert not partial.exists()
    assert not list(root.joinpath(EXPERIMENT).glob(".tmp-*"))  # and the next write cleared it


def test_kill_points_are_checked(monkeypatch):
    from uinfo import faults

    monkeypatch.setenv(faults.ENV, "state:0")
    with pytest.raises(ValueError, match="EVENT:K"):
        faults.reached("state")
    monkeypatch.setenv(faults.ENV, "nowhere:1")
    with pytest.raises(ValueError, match="nowhere"):
        faults.reached("state")


def test_resume_state_in_process_is_bitwise(tmp_path):
    """The same without subprocesses: interrupt by an exception at a checkpoint, resume, compare."""
    cfg = CheckerboardConfig(**{**CONFIG, "n_samples": 400, "epochs": 3, "n_checkpoints": 8})
    reference = run_checkerboard(cfg)
    state = tmp_path / "state.pt"
    import uinfo.engine.probe as measure

    calls = {"n": 0}
    original = measure.UsableInformationProbe.__call__

    def failing(self, step, epoch):
        calls["n"] += 1
        if calls["n"] == 6:
            raise KeyboardInterrupt
        return original(self, step, epoch)

    measure.UsableInformationProbe.__call__ = failing
    try:
        with pytest.raises(KeyboardInterrupt):
            run_checkerboard(cfg, state_path=state)
    finally:
        measure.UsableInformationProbe.__call__ = original
    assert state.exists()
    resumed = run_checkerboard(cfg, state_path=state)
    pd.testing.assert_frame_equal(resumed, reference, check_exact=True)
