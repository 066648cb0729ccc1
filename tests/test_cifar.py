"""CIFAR experiments: config checks before compute, records of a tiny run, resume after an interruption, the
fresh coarse readout after fine pretraining, and the reference entropies."""
import math

import pandas as pd
import pytest
import torch

from uinfo.experiments import cifar as cf
from uinfo.profiles import cifar as cfp
from uinfo.store import Store


def _tiny(**changes):
    return cfp.base_config("smoke", "cifar10", "allcnn", **changes)


@pytest.mark.parametrize("change, message", [
    (dict(dataset="svhn"), "dataset must be one of"),
    (dict(model="vgg"), "model must be one of"),
    (dict(width=0), "width must be > 0"),
    (dict(precision="fp16"), "precision must be one of"),
    (dict(cifar10_split="odd"), "cifar10_split must be one of"),
    (dict(measure_epochs=(0, 500)), "measure_epochs must lie in"),
    (dict(lr=-1.0), "lr must be > 0"),
    (dict(n_train=5), "n_train must be None"),
    (dict(decoder_l2=-1), "decoder_l2 must be"),
])
def test_invalid_settings_fail_before_any_compute(change, message):
    with pytest.raises(ValueError, match=message):
        cf.CIFARConfig(**change)


def test_unknown_profile_is_an_error():
    with pytest.raises(ValueError, match="profile must be one of"):
        cfp.coarse_configs("fast", "cifar10", "allcnn")


def test_configs_carry_the_data_files_hash(monkeypatch):
    monkeypatch.setenv("UINFO_ALLOW_SUBSET", "1")  # the paper profile's configs on this machine's 20000-image file
    configs = cfp.coarse_configs("smoke", "cifar10", "resnet18")
    assert len(configs[0].data_sha256) == 64
    # the contrasts' baseline is the terminal-phase headline run where the profile runs them in that regime
    assert cfp.lr_batch_configs("smoke")[0] == cfp.terminal_configs("smoke")[0]
    assert cfp.lr_batch_configs("quick")[0] == cfp.terminal_configs("quick")[3]  # All-CNN, seed 0
    assert cfp.initialization_configs("quick")[0] == cfp.lr_batch_configs("quick")[0]
    # the terminal regime records the collapse ratios; the contrasts' arms do not (they do not read them)
    assert all(c.collapse for c in cfp.terminal_configs("quick"))
    arms = cfp.lr_batch_configs("quick")[3:] + cfp.initialization_configs("quick")[3:]
    assert arms and not any(c.collapse for c in arms)
    assert [c.model for c in cfp.terminal_configs("quick") if c.augment] == ["allcnn"] * 3
    assert cfp.lr_batch_configs("paper")[0].epochs == cfp.coarse_configs("paper", "cifar10", "allcnn")[0].epochs


def test_every_seed_has_a_float32_twin_over_its_first_epochs():
    """The bf16 check is paired within seed: one float32, no-channels-last twin per headline seed, the same run up
    to the twin's last epoch and measured there."""
    configs = cfp.notebook_configs("cifar10_allcnn_coarse", "quick")
    head = [c for c in configs if c.precision == "bf16"]
    twins = [c for c in configs if c.precision == "float32"]
    assert [c.seed for c in twins] == [c.seed for c in head] == [0, 1, 2]
    for h, t in zip(head, twins):
        assert t == h.replace(precision="float32", channels_last=False, epochs=4, measure_epochs=(4,))
        assert 4 in h.schedule()


def test_a_run_records_every_layer_variable_and_epoch():
    config = _tiny(train_fitted=True)
    records = cf.run_cifar(config, device="cpu")
    layers = ["block1", "block2", "block3", "logits"]
    assert sorted(records["layer"].unique()) == sorted(layers)
    assert set(records["variable"]) == {"fine", "coarse"}
    assert set(records["fit"]) == {"heldout", "train_fitted"}
    assert sorted(records["epoch"].unique()) == [0.0, 1.0, 2.0]
    assert len(records) == 3 * len(layers) * 2 * 2
    assert records["used_train"].iloc[0] == 256 and records["available_test"].iloc[0] == 10000
    assert records["bits"].notna().all() and (records["bits"] <= records["entropy_bits"] + 1e-9).all()
    coarse = records[records["variable"] == "coarse"]
    assert coarse["entropy_bits"].max() <= 1.0 + 1e-9  # two coarse classes


def test_fine_pretraining_then_a_fresh_coarse_readout():
    records = cf.run_cifar(_tiny(pretrain_epochs=1), device="cpu")
    pre = records[records["phase"] == "pretrain"]
    assert set(pre["epoch"]) == {-1.0} and set(pre["target"]) == {"fine"}
    assert set(records.loc[records["phase"] == "train", "target"]) == {"coarse"}


@pytest.mark.parametrize("die_at", [2, 3])  # 2: between the phases (the fine head still on); 3: in the coarse phase
def test_an_interrupted_run_resumes_with_identical_records(tmp_path, monkeypatch, die_at):
    config = _tiny(pretrain_epochs=1, seed=2)
    full = cf.run_cifar(config, device="cpu")
    state = tmp_path / "state.pt"
    calls, real = {"n": 0}, cf.CIFARProbe.__call__

    def dies(self, *args):
        calls["n"] += 1
        if calls["n"] == die_at:
            raise KeyboardInterrupt
        return real(self, *args)
    monkeypatch.setattr(cf.CIFARProbe, "__call__", dies)
    with pytest.raises(KeyboardInterrupt):
        cf.run_cifar(config, state_path=state, device="cpu")
    monkeypatch.setattr(cf.CIFARProbe, "__call__", real)
    assert state.exists()
    resumed = cf.run_cifar(config, state_path=state, device="cpu")
    timing = ["total_train_seconds", "total_measure_seconds"]
    pd.testing.assert_frame_equal(full.drop(columns=timing), resumed.drop(columns=timing))


def test_runs_go_through_the_store(tmp_path):
    configs = [_tiny(epochs=1, measure_epochs=(0, 1))]
    first = cf.cifar_runs(configs, Store(tmp_path), progress=False)
    again = cf.cifar_runs(configs, Store(tmp_path), progress=False)
    assert first.attrs["computed_runs"] == 1 and again.attrs["computed_runs"] == 0
    pd.testing.assert_frame_equal(first, again)


def test_reference_entropies():
    h10, h100 = cf.entropies("cifar10"), cf.entropies("cifar100")
    assert h10["fine"] == pytest.approx(math.log2(10)) and h10["coarse"] == pytest.approx(1.0)
    assert h100["fine"] == pytest.approx(math.log2(100)) and h100["coarse"] == pytest.approx(math.log2(20))
    assert cf.entropies("cifar10", cifar10_split="vehicles")["coarse"] == pytest.approx(0.971, abs=1e-3)


def test_measuring_schedule_of_the_paper():
    schedule = cf.measure_schedule(160)
    assert schedule[:21] == tuple(range(21)) and schedule[21:23] == (25, 30) and schedule[-1] == 160


def test_augmentation_keeps_shapes_and_moves_pixels():
    from uinfo.tasks.images import augment
    x = torch.arange(2 * 3 * 32 * 32, dtype=torch.float32).reshape(2, 3, 32, 32)
    out = augment(x, torch.Generator().manual_seed(0))
    assert out.shape == x.shape and not torch.equal(out, x)


def test_run_all_prefetches_every_family_once_longest_first(tmp_path, monkeypatch):
    """One pool for every family's missing runs, each run once (two notebooks share the from-scratch run), in
    decreasing estimated seconds (the plan's), so the longest runs start first whatever their experiment."""
    from uinfo import plan, registry, runner
    from uinfo.engine import runs

    names = ["cifar_lr_batch", "cifar_initialization"]  # share the from-scratch run
    unique = {Store(tmp_path).path(cf.EXPERIMENT, c) for n in names for c in cfp.notebook_configs(n, "smoke")}
    neurons = registry.notebook("single_neuron").configs("smoke")
    seen = []
    original = runs.stored_run
    monkeypatch.setattr(runs, "stored_run", lambda e, compute, c, *a, **k: seen.append((e, c)) or original(
        e, compute, c, *a, **k))
    # sp_estimator_validation stores nothing: nothing to prefetch for it
    computed = runner.prefetch(names + ["single_neuron", "sp_estimator_validation"], "smoke", tmp_path, workers=1)
    assert computed == len(seen) == len(unique) + len(neurons) == 4 + len(neurons)
    assert {e for e, _ in seen} == {"cifar", "single_neuron"}
    seconds = [plan.estimate(c) for _, c in seen]
    assert seconds == sorted(seconds, reverse=True)
    assert all((path / "records.csv").exists() for path in unique)
    assert runner.prefetch(names + ["single_neuron"], "smoke", tmp_path, workers=1) == 0  # all stored


def test_prefetch_reports_a_failed_run_and_computes_the_rest(tmp_path, monkeypatch, capsys):
    from uinfo import registry, runner
    from uinfo.experiments import neuron

    def broken(config, progress=False, state_path=None):
        raise RuntimeError("diverged")
    configs = registry.notebook("single_neuron").configs("smoke")
    monkeypatch.setattr(neuron, registry.experiment("single_neuron").function().__name__, broken)
    assert runner.prefetch(["single_neuron"], "smoke", tmp_path, workers=1) == 0
    assert capsys.readouterr().err.count("a single_neuron run stopped: RuntimeError: diverged") == len(configs)


def test_prefetch_without_data_leaves_the_error_to_the_notebooks(tmp_path, monkeypatch, capsys):
    from uinfo import runner
    from uinfo.tasks.images import DataError

    def no_data(*args, **kwargs):
        raise DataError("no arrays file cifar10.npz")
    monkeypatch.setattr(cfp, "load_images", no_data)
    assert runner.prefetch(["cifar10_allcnn_coarse"], "smoke", tmp_path, workers=1) == 0
    assert "[prefetch] cifar10_allcnn_coarse skipped: no arrays file cifar10.npz" in capsys.readouterr().err
