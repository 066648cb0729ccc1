"""Sweeps through submitit's local executor: runs land in the store, a second call computes nothing, failures are
reported, and bad settings are refused before anything is submitted."""
import pytest

from uinfo import sweep
from uinfo.__main__ import main
from uinfo.experiments import checkerboard as cb
from uinfo.store import Store


def test_local_sweep_fills_the_store_and_a_second_call_computes_nothing(tmp_path):
    store = tmp_path / "store"
    first = sweep.sweep("checkerboard_layers", "smoke", "local", workers=2, store_dir=store,
                        folder=tmp_path / "jobs")
    n = len(sweep.plan("checkerboard_layers", "smoke"))
    assert (first.total, first.computed, first.failed) == (n, n, [])
    assert all(Store(store).load(cb.EXPERIMENT, c) is not None for c in sweep.plan("checkerboard_layers", "smoke"))
    second = sweep.sweep("checkerboard_layers", "smoke", "local", workers=2, store_dir=store, folder=tmp_path / "jobs")
    assert (second.already, second.computed, second.jobs) == (n, 0, [])


def test_a_failing_run_is_reported_and_the_others_finish(tmp_path, monkeypatch):
    configs = [cb.CheckerboardConfig(n_samples=300, n_analysis=200, epochs=1, n_checkpoints=2, hidden=(4, 4), seed=s)
               for s in range(2)]
    lines = sweep.run_configs([configs[0], "not a config", configs[1]], str(tmp_path))
    assert [line["status"].split(":")[0] for line in lines] == ["computed", "failed", "computed"]


@pytest.mark.parametrize("bad, message", [(dict(executor="kubernetes"), "executor"), (dict(workers=0), "workers"),
                                          (dict(mem_gb=-1), "mem_gb"), (dict(name="cifar_nope"), "unknown sweep"),
                                          (dict(profile="huge"), "profile")])
def test_bad_sweep_settings_fail_before_submitting(tmp_path, bad, message):
    args = dict(name="checkerboard_layers", profile="smoke", executor="local", workers=2, store_dir=tmp_path / "s",
                folder=tmp_path / "jobs")
    args.update(bad)
    with pytest.raises(ValueError, match=message):
        sweep.sweep(**args)
    assert not (tmp_path / "jobs").exists() and not (tmp_path / "s").exists()


def test_sweep_command_line(tmp_path, capsys):
    assert main(["sweep", "checkerboard_nope", "--store-dir", str(tmp_path)]) == 2
    assert "unknown sweep" in capsys.readouterr().err


def test_every_notebook_is_registered_and_every_storing_one_can_be_swept():
    from uinfo import registry, runner

    assert set(registry.NOTEBOOKS) == set(runner.available())
    assert set(sweep.sweepable()) == set(runner.available()) - {"sp_estimator_validation"}
    for name in sweep.sweepable():
        configs = sweep.plan(name, "smoke")
        assert configs and {registry.experiment_of(c).name for c in configs} == {registry.notebook(name).experiment}


def test_a_goldfeld_notebook_is_swept_like_the_checkerboard(tmp_path):
    report = sweep.sweep("single_neuron", "smoke", "local", workers=1, store_dir=tmp_path / "s",
                         folder=tmp_path / "jobs")
    n = len(sweep.plan("single_neuron", "smoke"))
    assert (report.total, report.computed, report.failed) == (n, n, [])


@pytest.mark.parametrize("name", ["cifar_lr_batch", "mnist_cnn_clustering", "szt_variants"])
def test_sweep_help_accepts_every_family(name, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["sweep", name, "--help"])
    assert exit_.value.code == 0 and "--executor" in capsys.readouterr().out
