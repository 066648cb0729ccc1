"""Two processes on one store: each run is computed once, the other reads it; a killed holder blocks nobody.

No timing: the test holds a run's lock itself, starts two real processes that ask for the run, and releases the
lock only once both have said that they wait for it."""
import os
import signal
import subprocess
import sys

import pandas as pd

from uinfo.experiments.checkerboard import EXPERIMENT, CheckerboardConfig
from uinfo.store import Store

CONFIG = dict(n_samples=600, n_analysis=400, epochs=2, n_checkpoints=6, seed=5)
SCRIPT = f"""
import sys, torch
torch.set_num_threads(1)
from uinfo.experiments.checkerboard import CheckerboardConfig, _stored_run
records, computed = _stored_run(CheckerboardConfig(**{CONFIG!r}), sys.argv[1])
records.to_pickle(sys.argv[2])
print("computed" if computed else "read", flush=True)
"""


def _start(root, out, kill_at=None):
    env = {k: v for k, v in os.environ.items() if k != "UINFO_TEST_KILL_AT"}
    if kill_at:
        env["UINFO_TEST_KILL_AT"] = kill_at
    return subprocess.Popen([sys.executable, "-c", SCRIPT, str(root), str(out)], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _wait_for_line(stream, text):
    seen = []
    for line in stream:
        seen.append(line)
        if text in line:
            return line
    raise AssertionError(f"the process ended without printing {text!r}: {''.join(seen)}")


def test_a_run_asked_for_by_two_processes_is_computed_once(tmp_path):
    cfg = CheckerboardConfig(**CONFIG)
    store = Store(tmp_path / "store")
    with store.lock(EXPERIMENT, cfg):
        procs = [_start(store.root, tmp_path / f"{i}.pkl") for i in range(2)]
        for proc in procs:  # both are blocked on the lock, which names its holder (this test's pid)
            assert f"pid {os.getpid()}" in _wait_for_line(proc.stderr, "[store] waiting for")
    outcomes = sorted(proc.communicate(timeout=300)[0].strip() for proc in procs)
    assert [proc.returncode for proc in procs] == [0, 0]
    assert outcomes == ["computed", "read"]
    stored = store.load(EXPERIMENT, cfg)
    for i in range(2):
        pd.testing.assert_frame_equal(pd.read_pickle(tmp_path / f"{i}.pkl"), stored, check_exact=True)
    assert not store.partial_path(EXPERIMENT, cfg).exists()


def test_a_killed_lock_holder_does_not_block_and_its_state_is_resumed(tmp_path):
    cfg = CheckerboardConfig(**CONFIG)
    store = Store(tmp_path / "store")
    killed = _start(store.root, tmp_path / "killed.pkl", kill_at="state:2")  # dies holding the lock
    killed.communicate(timeout=300)
    assert killed.returncode == -signal.SIGKILL
    assert f"pid {killed.pid}" in store.lock_path(EXPERIMENT, cfg).read_text()  # the dead holder's lock file
    assert store.partial_path(EXPERIMENT, cfg).exists()
    proc = _start(store.root, tmp_path / "next.pkl")
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0 and out.strip() == "computed", err
    assert "waiting" not in err  # the lock of a dead process is free at once
    reference = _start(tmp_path / "reference", tmp_path / "reference.pkl")
    reference.communicate(timeout=300)
    pd.testing.assert_frame_equal(pd.read_pickle(tmp_path / "next.pkl"), pd.read_pickle(tmp_path / "reference.pkl"),
                                  check_exact=True)
