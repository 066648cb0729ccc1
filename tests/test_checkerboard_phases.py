"""Training phases (pretraining, warm-up), recurrent trials and networks, and parallel runs."""
import pandas as pd
import pytest
import torch

from uinfo.experiments.checkerboard import CheckerboardConfig, _schedule, checkerboard_runs, run_checkerboard
from uinfo.profiles.checkerboard import architecture_configs, initialization_configs, layers_configs
from uinfo.models import RecurrentClassifier
from uinfo.store import Store
from uinfo.tasks.checkerboard import GRACE_STEPS, checkerboard, checkerboard_trials

TINY = dict(n_samples=300, n_analysis=200, epochs=3, n_checkpoints=5, hidden=(4, 4))


def test_warmup_of_the_same_batch_keeps_the_baseline_checkpoints():
    base = CheckerboardConfig(**TINY)
    warm = base.replace(warmup_epochs=1, warmup_lr=0.005)
    def flat(cfg):  # the phases' checkpoints on one step axis (270 trials at batch 32: 9 steps per epoch)
        return [s + 9 * i for i, steps in enumerate(_schedule(cfg, 270)) for s in steps]
    assert flat(warm) == _schedule(base, 270)[0]
    assert [name for name, _, _ in warm.phases()] == ["warmup", "train"]
    assert sum(sgd.epochs for _, _, sgd in warm.phases()) == base.epochs


def test_pretraining_adds_a_phase_on_colour_with_negative_epochs():
    cfg = CheckerboardConfig(**TINY, pretrain_target="colour", pretrain_epochs=2)
    records = run_checkerboard(cfg)
    pre = records[records["phase"] == "pretrain"]
    assert len(pre) and (pre["epoch"] < 0).all() and pre["epoch"].min() == -2
    main = records[records["phase"] == "train"]
    assert main["epoch"].min() == 0 and main["epoch"].max() == cfg.epochs
    assert records["step"].is_monotonic_increasing


def test_a_fresh_readout_after_pretraining_changes_only_the_readout():
    cfg = CheckerboardConfig(**TINY, pretrain_target="colour", pretrain_epochs=1)
    kept, fresh = run_checkerboard(cfg), run_checkerboard(cfg.replace(reset_readout=True))
    pre = kept["phase"] == "pretrain"
    pd.testing.assert_frame_equal(kept.loc[pre, ["bits", "train_loss"]], fresh.loc[pre, ["bits", "train_loss"]])
    switch = (kept["phase"] == "train") & (kept["epoch"] == 0)
    # same representation at the switch, different readout: equal bits, different direction loss
    assert (kept.loc[switch, "bits"].values == fresh.loc[switch, "bits"].values).all()
    assert kept.loc[switch, "train_loss"].iloc[0] != fresh.loc[switch, "train_loss"].iloc[0]
    with pytest.raises(ValueError, match="reset_readout"):
        CheckerboardConfig(**TINY, reset_readout=True)


def test_a_warmup_changes_only_the_first_epochs():
    base = CheckerboardConfig(**TINY)
    a = run_checkerboard(base)
    b = run_checkerboard(base.replace(warmup_epochs=1, warmup_lr=1e-6))
    # at a near-zero lr the warm-up leaves the network (almost) where it started
    first_a, first_b = a[a["epoch"] == a["epoch"].unique()[1]], b[b["epoch"] == b["epoch"].unique()[1]]
    assert (first_b["train_loss"] - a[a["step"] == 0]["train_loss"].iloc[0]).abs().max() < 1e-4
    assert not first_a["train_loss"].equals(first_b["train_loss"])


@pytest.mark.parametrize("bad", [dict(pretrain_target="colour"), dict(pretrain_epochs=2),
                                 dict(pretrain_target="size", pretrain_epochs=2), dict(warmup_epochs=3),
                                 dict(warmup_epochs=1), dict(architecture="lstm"),
                                 dict(architecture="rnn", hidden=(4, 4)),
                                 dict(architecture="gru", hidden=(4,), activation="relu")])
def test_phase_and_architecture_settings_are_validated(bad):
    with pytest.raises(ValueError, match="invalid CheckerboardConfig"):
        CheckerboardConfig(**{**TINY, **bad})


def test_trials_show_targets_first_and_the_checkerboard_from_onset():
    data = checkerboard(50, 0.1, seed=0)
    trials = checkerboard_trials(data, seed=1, step_sigma=0.0)
    x = trials.x
    assert x.shape == (50, 20, 5)
    on = x[..., 4]
    onset = (on == 0).sum(1)
    assert onset.min() >= 4 and onset.max() <= 8
    assert torch.equal(x[:, :, 0], data.x[:, None, 0].expand(-1, 20))  # targets from the first step
    assert (x[..., 2][on == 0] == 0).all()  # no checkerboard before onset
    i = 3
    assert torch.allclose(x[i, onset[i]:, 2], data.x[i, 2].expand(20 - onset[i]))
    with pytest.raises(ValueError, match="onset"):
        checkerboard_trials(data, onset=(4, 19))


def test_recurrent_readout_ignores_the_grace_period_and_the_probe_averages_after_onset():
    torch.manual_seed(0)
    net = RecurrentClassifier(5, 6, 2, "rnn", "tanh", grace=GRACE_STEPS)
    trials = checkerboard_trials(checkerboard(8, 0.1, seed=0), seed=1)
    captured = {}
    net.hidden1.register_forward_hook(lambda m, i, out: captured.setdefault("z", out))
    logits = net(trials.x)
    h, _ = net.cell(trials.x[..., :-1])
    on = trials.x[..., -1]
    expected_z = (h * on[..., None]).sum(1) / on.sum(1, keepdim=True)
    torch.testing.assert_close(captured["z"], expected_z)
    respond = (on.cumsum(1) > GRACE_STEPS).float()
    expected = (net.readout(h) * respond[..., None]).sum(1) / respond.sum(1, keepdim=True)
    torch.testing.assert_close(logits, expected)


@pytest.mark.parametrize("arch", ["rnn", "gru"])
def test_recurrent_run_measures_one_hidden_layer(arch):
    records = run_checkerboard(CheckerboardConfig(**{**TINY, "hidden": (6,)}, architecture=arch, activation="tanh"))
    assert set(records["layer"]) == {"hidden1"} and records["bits"].notna().all()


def test_parallel_runs_match_the_serial_ones_and_fill_the_store(tmp_path):
    cfgs = [CheckerboardConfig(**TINY, seed=s) for s in range(3)]
    serial = checkerboard_runs(cfgs, None, progress=False)
    store = Store(tmp_path)
    parallel = checkerboard_runs(cfgs, store, progress=False, jobs=2)
    assert parallel.attrs["computed_runs"] == 3
    cols = ["run", "step", "layer", "variable"]
    pd.testing.assert_frame_equal(serial[cols], parallel[cols])
    assert (serial["bits"] - parallel["bits"]).abs().max() < 1e-4  # one thread per worker: same up to rounding
    assert checkerboard_runs(cfgs, store, progress=False, jobs=2).attrs["computed_runs"] == 0
    with pytest.raises(ValueError, match="jobs"):
        checkerboard_runs(cfgs, store, jobs=0)


@pytest.mark.parametrize("build", [layers_configs, architecture_configs, initialization_configs])
def test_figure_profiles_build_valid_configs(build):
    for profile in ("smoke", "quick", "paper"):
        cfgs = build(profile)
        assert len(cfgs) == len(set(cfgs))
    quick = build("quick")
    assert len({c.seed for c in quick}) >= 5
    # the FC Small baseline of every quick notebook is the same config, so it is computed once
    baseline = CheckerboardConfig(seed=0, hidden=(5, 5), epochs=60, n_checkpoints=30)
    assert baseline in quick
    with pytest.raises(ValueError, match="profile"):
        build("fast")
