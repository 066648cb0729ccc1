"""Training loop, probing, the results store and one small checkerboard run end to end."""
import json

import pandas as pd
import pytest
import torch

from uinfo.report.checkerboard import condition_labels, dynamics_claims, transient_statistics
from uinfo.experiments.checkerboard import CheckerboardConfig, checkerboard_runs, run_checkerboard
from uinfo.profiles.checkerboard import dynamics_configs
from uinfo.models import MLP
from uinfo.engine.probe import extract
from uinfo.store import Store, config_key
from uinfo.engine.training import SGDConfig, checkpoint_schedule, train_sgd

TINY = dict(n_samples=300, n_analysis=200, epochs=2, n_checkpoints=4, hidden=(4, 4))


def test_checkpoint_schedule_is_dense_early():
    s = checkpoint_schedule(10000, 20)
    assert s[0] == 0 and s[1] == 1 and s[-1] == 10000
    assert s == sorted(set(s))
    gaps = [b - a for a, b in zip(s[1:], s[2:])]
    assert gaps[0] < gaps[-1]


@pytest.mark.parametrize("bad", [dict(lr=0), dict(lr=-1), dict(batch_size=0), dict(batch_size=2.5),
                                 dict(epochs=0), dict(momentum=1.0), dict(weight_decay=-1)])
def test_sgd_config_rejects_invalid_values(bad):
    with pytest.raises(ValueError, match="invalid SGDConfig"):
        SGDConfig(**bad)


@pytest.mark.parametrize("bad", [dict(hidden=(0, 3)), dict(activation="gelu"), dict(decoder="svm"),
                                 dict(sigma=-0.1), dict(n_analysis=5), dict(lr=0), dict(seed=-1)])
def test_checkerboard_config_rejects_invalid_values(bad):
    with pytest.raises(ValueError):
        CheckerboardConfig(**bad)


def test_training_is_deterministic_and_calls_back_at_checkpoints():
    x, y = torch.randn(100, 4), torch.randint(0, 2, (100,))
    weights, calls = [], []
    for _ in range(2):
        model = MLP(4, (3,), 2)
        torch.manual_seed(0)
        model = MLP(4, (3,), 2)
        train_sgd(model, x, y, SGDConfig(lr=0.1, batch_size=10, epochs=3), 0, [0, 5, 30],
                  lambda step, epoch: calls.append((step, epoch)))
        weights.append(torch.cat([p.flatten() for p in model.parameters()]))
    assert torch.equal(weights[0], weights[1])
    assert calls[:3] == [(0, 0.0), (5, 0.5), (30, 3.0)]


def test_extract_restores_mode_and_rejects_unknown_layers():
    model = MLP(4, (3, 2), 2)
    model.train()
    feats = extract(model, ["hidden1", "hidden2"], torch.randn(10, 4))
    assert feats["hidden1"].shape == (10, 3) and feats["hidden2"].shape == (10, 2)
    assert (feats["hidden2"] >= 0).all()  # post-ReLU
    assert model.training
    with pytest.raises(ValueError, match="unknown layer"):
        extract(model, ["hidden9"], torch.randn(2, 4))


def test_store_round_trip_and_compute_once(tmp_path):
    store = Store(tmp_path)
    cfg = CheckerboardConfig(**TINY)
    calls = []

    def compute():
        calls.append(1)
        return pd.DataFrame({"a": [1, 2], "b": [0.5, 0.25]})

    first, computed = store.get_or_compute("x", cfg, compute)
    again, computed_again = store.get_or_compute("x", cfg, compute)
    assert computed and not computed_again and len(calls) == 1
    pd.testing.assert_frame_equal(first, again)
    meta = json.loads((store.path("x", cfg) / "meta.json").read_text())
    assert meta["config"]["hidden"] == [4, 4] and "code_version" in meta
    assert config_key("x", cfg) != config_key("x", cfg.replace(seed=1))
    assert config_key("x", cfg) != config_key("y", cfg)


def test_store_leaves_nothing_when_compute_fails(tmp_path):
    store = Store(tmp_path)
    cfg = CheckerboardConfig(**TINY)

    def broken():
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        store.get_or_compute("x", cfg, broken)
    assert store.load("x", cfg) is None


def test_store_recomputes_a_corrupt_entry(tmp_path):
    store = Store(tmp_path)
    cfg = CheckerboardConfig(**TINY)
    store.save("x", cfg, pd.DataFrame({"a": [1]}))
    (store.path("x", cfg) / "meta.json").write_text("{not json")
    with pytest.warns(UserWarning, match="unreadable"):
        assert store.load("x", cfg) is None


def test_checkerboard_run_records_are_tidy_and_reproducible(tmp_path):
    cfg = CheckerboardConfig(**TINY)
    a = run_checkerboard(cfg)
    b = run_checkerboard(cfg)
    pd.testing.assert_frame_equal(a, b)
    n_checkpoints = a["step"].nunique()
    assert len(a) == n_checkpoints * 2 * 3  # checkpoints x layers x variables
    assert {"run", "seed", "step", "epoch", "layer", "variable", "bits", "train_loss", "val_loss"} <= set(a)
    assert a["bits"].between(-0.5, 1.05).all()
    a["condition"] = condition_labels(a)
    stats = transient_statistics(a)
    assert len(stats) == 1 and stats["layer"].iloc[0] == "hidden2" and stats["condition"].iloc[0] == "width 4"
    store = Store(tmp_path)
    runs = checkerboard_runs([cfg, cfg.replace(seed=1)], store, progress=False)
    assert runs.attrs["computed_runs"] == 2
    assert checkerboard_runs([cfg], store, progress=False).attrs["computed_runs"] == 0


def test_profiles_build_configs_and_reject_unknown():
    cfgs = dynamics_configs("smoke")
    assert len(cfgs) == 6 and cfgs[0].epochs == 2 and cfgs[-1].weight_decay == 1e-3 and cfgs[-1].hidden == (5, 5)
    labels = condition_labels(pd.DataFrame([dict(hidden=str(c.hidden), activation=c.activation,
                                                 weight_decay=c.weight_decay, momentum=c.momentum) for c in cfgs]))
    assert list(labels.unique()) == ["width 5", "width 100", "width 5, weight decay 0.001"]
    with pytest.raises(ValueError, match="profile"):
        dynamics_configs("fast")


def _trajectory(seed, colour, direction=0.8, epochs=(0, 10, 50, 90, 100)):
    """Rows of one run's last layer at the given epochs (100 in all: early window 5-20, late window 80-100)."""
    wobble = 0.01 * ((seed * 7) % 3 - 1)
    return [dict(run=f"r{seed}", seed=seed, condition="width 5", step=e * 10, epoch=e, epochs=100, layer="hidden2",
                 variable=var, bits=bits + wobble)
            for e, c in zip(epochs, colour) for var, bits in (("colour", c), ("direction", direction),
                                                               ("configuration", 0.9))]


def test_dynamics_claims_from_synthetic_records():
    """Window means decide: encoded early (early window above initialization), later discarded (early above late),
    direction at 90% of its ceiling; no fall contradicts "discarded"; an unsolved task makes it untestable."""
    df = pd.DataFrame([r for seed in range(4) for r in _trajectory(seed, (0.5, 0.9, 0.6, 0.3, 0.3))])
    rise, fall, direction = dynamics_claims(df, "width 5", 0.83)
    assert rise["outcome"] == "reproduced" and rise["estimate"] == pytest.approx(0.4)
    assert fall["outcome"] == "reproduced" and fall["estimate"] == pytest.approx(0.6) and fall["method"] == "t"
    assert direction["outcome"] == "reproduced" and direction["estimate"] == pytest.approx(0.8 / 0.83, abs=0.02)
    kept = pd.DataFrame([r for seed in range(4) for r in _trajectory(seed, (0.5, 0.9, 0.9, 0.93, 0.95))])
    assert dynamics_claims(kept, "width 5", 0.83)[1]["outcome"] == "contradicted"
    unsolved = pd.DataFrame([r for seed in range(4) for r in _trajectory(seed, (0.5, 0.9, 0.6, 0.3, 0.3), 0.5)])
    fall = dynamics_claims(unsolved, "width 5", 0.83)[1]
    assert fall["outcome"] == "untestable" and "the task is solved" in fall["failed_precondition"]


def test_lr_batch_configs_cover_both_sweeps_and_the_grid_once():
    from uinfo.profiles.checkerboard import FULL_BATCH, lr_batch_configs

    cfgs = lr_batch_configs("quick")
    pairs = {(c.lr, c.batch_size) for c in cfgs}
    assert {(lr, 32) for lr in (0.001, 0.005, 0.01, 0.05, 0.1)} <= pairs
    assert {(0.05, bs) for bs in (8, 32, 128, 512, FULL_BATCH)} <= pairs
    assert (0.1, 8) in pairs and len(cfgs) == len(pairs) * 5 == len(set(cfgs))
    with pytest.raises(ValueError, match="profile"):
        lr_batch_configs("huge")


def test_lr_batch_claims_from_synthetic_records():
    """Only settings that solve the task enter the contrasts (an unsolved lr is named and left out); contrasts are
    paired within seed; a matched-loss contrast whose small batch fits inside its early window is untestable."""
    from uinfo.report.checkerboard import at_matched_loss, lr_batch_claims

    rows = []
    settings = ((0.0001, 32, 0.95, 0.3), (0.001, 32, 0.8, 0.8), (0.1, 32, 0.4, 0.8), (0.05, 32, 0.5, 0.8),
                (0.05, 8, 0.3, 0.8), (0.05, 9000, 0.7, 0.8))
    for lr, bs, late, direction in settings:
        for seed in range(4):
            run = f"{lr}-{bs}-{seed}"
            shift = 0.03 * seed  # seeds differ a lot, the arms within a seed consistently: pairing matters
            fit_epoch = 2 if bs == 8 else 60
            for epoch in (0, 2, 10, 60, 90, 100):
                loss = 0.1 if epoch >= fit_epoch else 0.5
                for var, bits in (("colour", (0.5 if epoch == 0 else late) + shift), ("direction", direction)):
                    rows.append(dict(run=run, seed=seed, lr=lr, batch_size=bs, step=epoch, epoch=epoch, epochs=100,
                                     layer="hidden2", variable=var, bits=bits, val_loss=0.1, train_loss=loss))
    df = pd.DataFrame(rows)
    df["condition"] = condition_labels(df)
    by_lr, by_batch, ordering, matched = lr_batch_claims(df, 0.83, 9000, at_matched_loss(df, 0.1))
    assert by_lr["outcome"] == "reproduced" and by_lr["estimate"] == pytest.approx(0.4)
    assert "lr 0.001 minus at lr 0.1" in by_lr["statistic"] and by_lr["method"] == "paired t"
    assert "lr 0.0001, batch 32 (0.36)" in by_lr["detail"]
    assert by_batch["outcome"] == "reproduced" and "full batch" in by_batch["statistic"]
    assert "confounded by steps" in by_batch["detail"]
    assert ordering["estimate"] < -0.7 and ordering["outcome"] == "reproduced"
    assert ordering["method"] == "seed jackknife"  # 4 seeds: too few for a seed bootstrap
    assert matched["outcome"] == "untestable" and "batch 8: epoch 2" in matched["failed_precondition"]


def test_store_key_changes_with_config_code_and_data(monkeypatch):
    import dataclasses

    import uinfo.store as store_module

    @dataclasses.dataclass(frozen=True)
    class ImageRun:
        seed: int = 0
        data_sha256: str = "a" * 64

    base = config_key("cifar", ImageRun())
    assert config_key("cifar", ImageRun(seed=1)) != base
    assert config_key("cifar", ImageRun(data_sha256="b" * 64)) != base  # other data file, other key
    monkeypatch.setattr(store_module, "run_code_version", lambda config: "edited-code")
    assert config_key("cifar", ImageRun()) != base
