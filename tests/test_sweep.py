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


class _PreemptedOnce(sweep.RunConfigs):
    """The job body, except that the first time a run saves its resume state the job receives submitit's
    preemption signal, as Slurm sends it (once: a marker file remembers, across the requeued process). Defined
    here, so pickled by value for the job's process."""

    def __init__(self, marker: str):
        self.marker = marker

    def __call__(self, configs, store_root, threads=1):
        import os
        from pathlib import Path

        from submitit.local.local import LocalJobEnvironment

        from uinfo import faults

        original = faults.reached

        def reached(event):
            original(event)
            if event == "state" and not Path(self.marker).exists():
                Path(self.marker).touch()
                os.kill(os.getpid(), LocalJobEnvironment._usr_sig())

        faults.reached = reached
        if Path(self.marker).exists():  # the requeued process: is there a saved state to continue from?
            from uinfo import registry

            states = [Store(store_root).partial_path(registry.experiment_of(c).name, c).exists() for c in configs]
            Path(self.marker).write_text(f"requeued with saved states: {states}")
        return super().__call__(configs, store_root, threads)


def test_a_preempted_job_is_requeued_and_resumes_to_identical_records(tmp_path):
    """Deterministic: the signal comes right after the first state save, not at a wall-clock time."""
    import sys

    import cloudpickle
    import pandas as pd

    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    configs = [cb.CheckerboardConfig(n_samples=300, n_analysis=200, epochs=3, n_checkpoints=6, hidden=(4, 4), seed=0)]
    reference = sweep.run_sweep(configs, "reference", "local", workers=1, store_dir=tmp_path / "reference",
                                folder=tmp_path / "jobs")
    assert (reference.computed, reference.failed) == (1, [])
    marker = tmp_path / "preempted"
    report = sweep.run_sweep(configs, "preempted", "local", workers=1, store_dir=tmp_path / "store",
                             folder=tmp_path / "jobs", body=_PreemptedOnce(str(marker)))
    assert (report.computed, report.failed) == (1, [])
    assert marker.read_text() == "requeued with saved states: [True]"  # continued, not started again
    log = "".join(p.read_text() for p in (tmp_path / "jobs").glob(f"{report.jobs[0]}_*_log.err"))
    assert "this job is preempted" in log, log[-2000:]  # the first process exited there; the requeued one finished
    pd.testing.assert_frame_equal(Store(tmp_path / "store").load(cb.EXPERIMENT, configs[0]),
                                  Store(tmp_path / "reference").load(cb.EXPERIMENT, configs[0]), check_exact=True)
