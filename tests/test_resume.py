"""A run killed at random points (SIGKILL) and started again ends with records identical to an uninterrupted run."""
import random
import shutil
import subprocess
import sys
import time

import pandas as pd
import pytest
import torch

from uinfo.experiments.checkerboard import EXPERIMENT, CheckerboardConfig, run_checkerboard
from uinfo.store import Store

# pretraining + a warm-up + momentum: every kind of state (phases, optimizer buffers, schedule) must survive
CONFIG = dict(n_samples=1000, n_analysis=400, epochs=6, n_checkpoints=14, hidden=(5, 5), momentum=0.9,
              pretrain_target="colour", pretrain_epochs=2, warmup_epochs=1, warmup_lr=0.01, seed=3)
SCRIPT = f"""
import sys, torch
torch.set_num_threads(1)
from uinfo.experiments.checkerboard import CheckerboardConfig, _stored_run
print("started", flush=True)
_stored_run(CheckerboardConfig(**{CONFIG!r}), sys.argv[1])
"""


def _start(root):
    return subprocess.Popen([sys.executable, "-c", SCRIPT, str(root)], stdout=subprocess.PIPE, text=True)


def _mtime(path):
    try:
        return path.stat().st_mtime_ns
    except FileNotFoundError:  # not written yet, or removed once the run finished
        return None


def _finish(root) -> float:
    proc = _start(root)
    proc.stdout.readline()
    start = time.perf_counter()
    assert proc.wait(timeout=300) == 0
    return time.perf_counter() - start


def test_killed_runs_resume_to_identical_records(tmp_path):
    cfg = CheckerboardConfig(**CONFIG)
    reference_root, root = tmp_path / "reference", tmp_path / "killed"
    run_time = _finish(reference_root)
    reference = Store(reference_root).load(EXPERIMENT, cfg)
    store = Store(root)
    partial = store.partial_path(EXPERIMENT, cfg)
    rng = random.Random(0)
    kills, resumed_from, completed = 0, [], 0
    while kills < 5:
        before = _mtime(partial)
        proc = _start(root)
        proc.stdout.readline()  # imports done: the run is starting
        # data, model and the first measurement take ~40% of a run before any state is saved: wait for this
        # attempt's first save, so that every kill can make progress, then kill at a random later point
        while proc.poll() is None and _mtime(partial) == before:
            time.sleep(0.01)
        time.sleep(rng.uniform(0.0, 0.3) * run_time)
        if proc.poll() is not None:  # it finished first: check it, then start a fresh run to kill
            assert proc.returncode == 0
            pd.testing.assert_frame_equal(store.load(EXPERIMENT, cfg), reference, check_exact=True)
            shutil.rmtree(store.path(EXPERIMENT, cfg))
            completed += 1
            continue
        proc.kill()
        proc.wait()
        kills += 1
        assert store.load(EXPERIMENT, cfg) is None or not partial.exists()  # never a half-finished entry
        if partial.exists():
            resumed_from.append(len(torch.load(partial, weights_only=False)["records"]))
    assert len(resumed_from) >= 3 and max(resumed_from) > 0, resumed_from
    _finish(root)
    pd.testing.assert_frame_equal(store.load(EXPERIMENT, cfg), reference, check_exact=True)
    assert not partial.exists()


def test_resume_state_in_process_is_bitwise(tmp_path):
    """The same without subprocesses: interrupt by an exception at a checkpoint, resume, compare."""
    cfg = CheckerboardConfig(**{**CONFIG, "n_samples": 400, "epochs": 3, "n_checkpoints": 8})
    reference = run_checkerboard(cfg)
    state = tmp_path / "state.pt"
    import uinfo.measure as measure

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
