"""The bad-input catalogue (the checks of these cases live here, not beside the code they exercise): each case is something a user gets wrong, or something that goes wrong under them. The
assertion is a clear message that names the input and the fix, with the results store left intact. README,
"What happens when ...", has one row per case with the message."""
import errno
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from uinfo.__main__ import main
from uinfo.engine import state as resume_state
from uinfo.experiments.checkerboard import EXPERIMENT, CheckerboardConfig, run_checkerboard
from uinfo.notebook import check_parameters, snapshot
from uinfo.store import Store
from uinfo.tasks import images
from uinfo.tasks.images import DataError, load_images

REPO = Path(__file__).resolve().parents[1]
DECLARED = {"profile", "seeds", "store_dir", "figures_dir", "jobs"}
TINY = dict(n_samples=400, n_analysis=400, epochs=2, n_checkpoints=5, seed=1)


@pytest.fixture
def store(tmp_path):
    """A store holding one finished run; every case checks that it is still there, unchanged, afterwards."""
    store = Store(tmp_path / "store")
    store.save("other", {"a": 1}, pd.DataFrame({"v": [1.5, 2.5]}))
    yield store
    pd.testing.assert_frame_equal(store.load("other", {"a": 1}), pd.DataFrame({"v": [1.5, 2.5]}))


# --- notebook parameters: refused before any compute ------------------------------------------------------------

@pytest.mark.parametrize("given, message", [
    (dict(profle="paper"), r"unknown notebook parameter\(s\) \['profle'\]; this notebook takes \['figures_dir', "),
    (dict(seeds="3"), r"seeds must be a positive count \(seeds=3 means .* got '3'"),
    (dict(jobs=2.0), r"jobs must be None \(one per core\) or a positive integer, got 2.0"),
    (dict(seeds=-1), r"seeds must be .* got -1$"),
    (dict(seeds=0), r"seeds must be .* got 0$"),
    (dict(seeds=[]), r"seeds must be .* got \[\]$"),
    (dict(seeds=[0, -2]), r"seeds must be .* got \[0, -2\]$"),
    (dict(seeds=True), r"seeds must be .* got True$"),
    (dict(profile="fast"), r"profile must be one of \('smoke', 'quick', 'paper'\), got 'fast'"),
], ids=["misspelt parameter", "seeds as a string", "jobs as a float", "negative seeds", "zero seeds", "empty seeds",
        "a negative seed", "seeds as a bool", "unknown profile"])
def test_bad_notebook_parameters(tmp_path, store, given, message):
    ns = {"nb": object()}
    base = snapshot(ns)
    ns.update({"profile": "quick", "seeds": None, "store_dir": str(store.root), "figures_dir": str(tmp_path / "f"),
               "jobs": None, **given})
    with pytest.raises(ValueError, match=message):
        check_parameters(ns, base, DECLARED)
    assert not (tmp_path / "f").exists()  # refused before anything was made


def test_unknown_notebook_name(store, capsys):
    with pytest.raises(SystemExit, match=r"unknown notebook\(s\) \['checkerbord_dynamics'\]; available: \["):
        main(["run", "--only", "checkerbord_dynamics", "--store-dir", str(store.root)])


def test_unknown_profile_on_the_command_line(store, capsys):
    with pytest.raises(SystemExit):
        main(["run", "--profile", "fast", "--store-dir", str(store.root)])
    assert "argument --profile: invalid choice: 'fast' (choose from" in capsys.readouterr().err


# --- data ---------------------------------------------------------------------------------------------------------

def _arrays(name="cifar10", n_train=20, n_test=10, shape=None):
    rng = np.random.default_rng(0)
    shape = shape or images.SHAPES[name]
    return dict(x_train=rng.integers(0, 256, (n_train, *shape), dtype=np.uint8),
                y_train=rng.integers(0, images.CLASSES[name], n_train).astype(np.int64),
                x_test=rng.integers(0, 256, (n_test, *shape), dtype=np.uint8),
                y_test=rng.integers(0, images.CLASSES[name], n_test).astype(np.int64))


def _offline(*args, **kwargs):
    import urllib.error
    raise urllib.error.URLError("no internet")


@pytest.mark.parametrize("name", ["cifar10", "cifar100", "mnist", "szt"])
def test_missing_data_offline(tmp_path, store, monkeypatch, name):
    import torchvision.datasets

    for cls in ("CIFAR10", "CIFAR100", "MNIST"):
        monkeypatch.setattr(torchvision.datasets, cls, _offline)
    monkeypatch.setattr("urllib.request.urlopen", _offline)
    with pytest.raises(DataError, match=rf"no arrays file {tmp_path}/{name}.npz, and download.* failed .*"
                                        r"Without internet, put .*npz there \(format: README.md, section \"Data files\""
                                        r"\), or point the data folder at one: data_dir=... or UINFO_DATA=...") as err:
        load_images(name, data_dir=tmp_path)
    assert "shared" not in str(err.value)


def _truncated(path):
    np.savez(path, **_arrays())
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _corrupt(path):
    path.write_bytes(b"not an npz file at all" * 100)


def _wrong_shape(path):
    np.savez(path, **_arrays(shape=(28, 28)))


def _missing_key(path):
    arrays = _arrays()
    del arrays["y_test"]
    np.savez(path, **arrays)


@pytest.mark.parametrize("spoil, message", [
    (_truncated, r"cifar10.npz is corrupt or truncated \(.*\); delete or replace .*cifar10.npz"),
    (_corrupt, r"cifar10.npz is corrupt or truncated \(.*\); delete or replace"),
    (_wrong_shape, r"cifar10.npz: x_train must be uint8 of shape \(N, 32, 32, 3\) with one label each; found uint8 "
                   r"\(20, 28, 28\).*; delete or replace"),
    (_missing_key, r"cifar10.npz lacks the arrays \['y_test'\] .*; delete or replace"),
], ids=["truncated", "corrupt", "wrong shape", "missing array"])
def test_bad_arrays_file(tmp_path, store, spoil, message):
    spoil(tmp_path / "cifar10.npz")
    with pytest.raises(DataError, match=message):
        load_images("cifar10", data_dir=tmp_path)


def test_too_many_images(tmp_path, store):
    np.savez(tmp_path / "cifar10.npz", **_arrays())
    with pytest.raises(DataError, match=r"asked for 50 train images of cifar10 but .*cifar10.npz holds 20 .*; ask for "
                                        r"at most 20, or provide a larger arrays file"):
        load_images("cifar10", n_train=50, data_dir=tmp_path)


# --- the store and resume states ----------------------------------------------------------------------------------

def test_half_written_store_entry_is_recomputed(store):
    cfg = CheckerboardConfig(**TINY)
    records, computed = store.get_or_compute(EXPERIMENT, cfg, lambda: run_checkerboard(cfg))
    csv = store.path(EXPERIMENT, cfg) / "records.csv"
    lines = csv.read_text().splitlines(keepends=True)
    csv.write_text("".join(lines[: len(lines) // 2]))  # cut at a line boundary: still parses, but is not the entry
    with pytest.warns(UserWarning, match=rf"store entry .*{csv.parent.name} is unreadable \(.*records.csv does not "
                                         r"match the sha256 its meta.json recorded .*\); it will be recomputed"):
        again, recomputed = store.get_or_compute(EXPERIMENT, cfg, lambda: run_checkerboard(cfg))
    assert recomputed
    pd.testing.assert_frame_equal(again, records, check_exact=True)


def test_corrupt_resume_state_restarts_the_run(tmp_path, store):
    cfg = CheckerboardConfig(**TINY)
    state = tmp_path / "state.pt"
    resume_state.save_state(state, {"records": [1, 2, 3]})
    state.write_bytes(state.read_bytes()[:40])
    with pytest.warns(UserWarning, match=rf"cannot read the resume state {state} .*; the run starts from the beginning"):
        records = run_checkerboard(cfg, state_path=state)
    pd.testing.assert_frame_equal(records, run_checkerboard(cfg), check_exact=True)


def _full(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


def test_full_disk_during_a_store_write(store, monkeypatch):
    monkeypatch.setattr(pd.DataFrame, "to_csv", _full)
    with pytest.raises(OSError, match=r"no space left on the device while writing the store entry .*; nothing was "
                                      r"written under its key: free some space \(or pass another store folder\)"):
        store.save("other", {"a": 2}, pd.DataFrame({"v": [0.0]}))
    with pytest.raises(OSError, match="no space left"):
        store.save("other", {"a": 1}, pd.DataFrame({"v": [9.0]}))  # overwriting: the old entry survives (fixture)
    monkeypatch.undo()
    assert store.load("other", {"a": 2}) is None
    assert not [p for p in (store.root / "other").iterdir() if p.name.startswith(".tmp")]


def test_full_disk_during_a_state_save(tmp_path, store, monkeypatch):
    state = tmp_path / "state.pt"
    resume_state.save_state(state, {"records": [1]})
    monkeypatch.setattr(torch, "save", _full)
    with pytest.raises(OSError, match=r"no space left on the device while saving the resume state .*state.pt; the "
                                      r"previous state is kept, so the run can resume from it: free some space"):
        resume_state.save_state(state, {"records": [1, 2]})
    monkeypatch.undo()
    assert resume_state.load_state(state) == {"records": [1]}
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary file left


def test_a_run_killed_during_run_all_resumes_when_restarted(tmp_path, store):
    """./run_all.sh (``python -m uinfo run``) with the notebook's kernel killed mid-run: the notebook is named as
    failed, the finished runs and the killed run's state stay in the store, and the restart completes from them."""
    command = [sys.executable, "-m", "uinfo", "run", "--profile", "smoke", "--only", "checkerboard_dynamics",
               "--store-dir", str(store.root)]
    env = {k: v for k, v in os.environ.items() if k != "UINFO_TEST_KILL_AT"}
    first = subprocess.run(command, env={**env, "UINFO_TEST_KILL_AT": "state:3"}, cwd=REPO, capture_output=True,
                           text=True, timeout=600)
    assert first.returncode == 1
    assert "1 notebook(s) failed: checkerboard_dynamics" in first.stderr
    partial = list((store.root / EXPERIMENT / ".partial").glob("*.pt"))
    assert partial  # the killed run's resume state
    second = subprocess.run(command, env=env, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "all 1 notebook(s) ran" in second.stdout
    assert not list((store.root / EXPERIMENT / ".partial").glob("*.pt"))


# --- a profile that asks for the full training set ----------------------------------------------------------------

def test_paper_with_a_subset_file_stops_before_compute_unless_overridden(tmp_path, monkeypatch, capsys):
    from uinfo.profiles import cifar as cfp

    np.savez(tmp_path / "cifar10.npz", **_arrays(n_train=30, n_test=20))
    monkeypatch.setenv("UINFO_DATA", str(tmp_path))
    monkeypatch.delenv("UINFO_ALLOW_SUBSET", raising=False)
    with pytest.raises(DataError, match=r"this profile trains on the full cifar10 training set \(50000 images\), but "
                                        r".*cifar10.npz holds 30\. Get the full set: .*; or run the quick profile, .*; "
                                        r"or, to run these settings on the subset on purpose, set UINFO_ALLOW_SUBSET=1"):
        cfp.coarse_configs("paper", "cifar10", "allcnn")
    monkeypatch.setenv("UINFO_ALLOW_SUBSET", "1")
    configs = cfp.coarse_configs("paper", "cifar10", "allcnn")
    assert {c.n_train for c in configs} == {30}  # recorded in the config (the store key) and so in every record
    assert "UINFO_ALLOW_SUBSET=1, so this run uses the 30 training images" in capsys.readouterr().out


def test_mnist_needs_its_full_training_file_before_compute(tmp_path):
    from uinfo.profiles import goldfeld as gfp

    np.savez(tmp_path / "mnist.npz", **_arrays("mnist", n_train=100, n_test=20))
    with pytest.raises(DataError, match=r"asked for 60000 train images of mnist but .*mnist.npz holds 100"):
        gfp.mnist_configs("smoke", data_dir=tmp_path)
