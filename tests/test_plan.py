"""The costed plan: work units for every kind of run, unit costs fitted from timings, a plan for every notebook."""
import math

import numpy as np
import pandas as pd
import pytest

from uinfo import plan, registry, sweep
from uinfo.__main__ import main


def _smoke_configs():
    return [c for name in sweep.sweepable() for c in registry.notebook(name).configs("smoke")]


def test_every_kind_of_run_has_positive_work_units():
    configs = _smoke_configs()
    assert {registry.experiment_of(c).name for c in configs} == set(plan.WORK)
    for c in configs:
        units = plan.work(c)
        assert units and all(v >= 0 and math.isfinite(v) for v in units.values()) and sum(units.values()) > 0, c


def test_calibration_recovers_known_unit_costs_from_setting_medians():
    """Seconds made from known unit costs, with one seed of a setting slowed 20x (a run that shared its core):
    the fit on the settings' medians recovers the costs, and the check reads ratio 1."""
    configs = [c for c in _smoke_configs() if registry.experiment_of(c).name == "checkerboard"]
    truth = {"layer_steps": 1e-3, "cell_steps": 4e-3, "epochs": 5e-3, "macs": 3e-9, "probe": 1e-5}
    seconds = [sum(truth[k] * v for k, v in plan.work(c).items()) for c in configs]
    seconds[0] *= 20
    timings = pd.DataFrame(dict(experiment="checkerboard", key=[str(i) for i in range(len(configs))],
                                seconds=seconds, config=configs))
    costs = plan.calibrate(timings)["checkerboard"]
    settings = plan.by_setting(timings)
    assert len(settings) < len(configs)  # seeds share a setting
    checked = plan.check(costs={"unit_costs": {"checkerboard": costs}}, timings=timings)
    assert np.allclose(checked.ratio, 1.0, rtol=1e-6)


def test_split_runs_fit_each_unit_to_the_seconds_it_is_spent_in():
    """CIFAR runs record their training and measuring seconds: each unit is fitted to its own part (the least
    squares on the total alone cannot tell units apart that grow together), set-up spread over both."""
    configs = list({plan.setting(c): c for c in _smoke_configs() if registry.experiment_of(c).name == "cifar"}.values())
    configs += [c.replace(n_test=5000, epochs=c.epochs + 2) for c in configs]
    truth = {"train": 4e-3, "probe": 2e-2}
    units = [plan.work(c) for c in configs]
    train = np.array([truth["train"] * u["train"] for u in units])
    measure = np.array([truth["probe"] * u["probe"] for u in units])
    timings = pd.DataFrame(dict(experiment="cifar", key=[str(i) for i in range(len(configs))],
                                seconds=1.1 * (train + measure), config=configs, total_train_seconds=train,
                                total_measure_seconds=measure))
    costs = plan.calibrate(timings)["cifar"]
    assert costs["train"] == pytest.approx(1.1 * truth["train"]) and costs["probe"] == pytest.approx(1.1 * truth["probe"])
    assert costs["fits"] == pytest.approx(0.0, abs=1e-12)


def test_plan_lists_every_notebook_and_says_what_it_costs(tmp_path, capsys):
    assert main(["plan", "--profile", "smoke", "--store-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "runs at smoke: 0 in the store" in out and "core-hours" in out and "largest runs" in out
    for name in sweep.sweepable():
        assert name in out
    assert main(["plan", "nope", "--store-dir", str(tmp_path)]) == 2


def test_unit_costs_name_their_machine():
    costs = plan.load_costs()
    assert costs["machine"] and set(costs["unit_costs"]) <= set(plan.WORK)
    for table in costs["unit_costs"].values():
        assert table["runs"] >= 1


def test_check_without_current_timings_says_why(tmp_path):
    with pytest.raises(FileNotFoundError, match="no results bundle at .*paper"):
        plan.bundle_timings("paper", bundle_root=tmp_path)
    (tmp_path / "quick").mkdir()
    (tmp_path / "quick" / "index.csv").write_text("experiment,key,code_version,config,archive,bytes,sha256\n"
                                                 "checkerboard,k,000000000000,{},checkerboard/k.tar.xz,1,x\n")
    with pytest.raises(ValueError, match="holds no run of the current code versions"):
        plan.bundle_timings("quick", bundle_root=tmp_path)
