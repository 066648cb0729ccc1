"""Goldfeld et al. (2019) experiments: the single neuron's exact information, the stacked SZT networks, resume,
configs and data errors."""
import math

import numpy as np
import pandas as pd
import pytest
import torch

from uinfo.experiments import mnist
from uinfo.experiments import neuron
from uinfo.experiments import szt
from uinfo.engine import training
from uinfo.profiles import goldfeld as gfp
from uinfo.models import NoisyCNN, NoisyMLPStack
from uinfo.tasks.images import DataError

TINY_SZT = dict(epochs=6, n_checkpoints=3, replicas=3, max_draws=256, seeds=(0, 1),
                snapshot_epochs=(1, 6))


@pytest.mark.parametrize("w, expected", [(0.001, 0.051), (0.005, 0.619), (0.01, 1.018), (0.5, math.log(3)),
                                         (3, 0.709), (5, 0.6365)])
def test_constellation_information_matches_the_spec_table(w, expected):
    """Spec section 3's quadrature values, b = 0, beta = 0.005."""
    c = np.tanh(w * np.array([-3.0, -1.0, 1.0]))
    assert neuron.constellation_mi(c, 0.005) == pytest.approx(expected, abs=2e-3)


def test_authors_schedule_has_84_epochs():
    epochs = training.log_epochs(9999, 100)
    assert epochs[0] == 0 and epochs[1] == 1 and epochs[-1] == 9999 and len(epochs) == 85


def test_stacked_members_are_independent_nets():
    stack = NoisyMLPStack((3, 4), 12, (10, 7, 5, 4, 3), 2).eval()
    x = torch.rand(9, 12)
    out = stack(x)
    for k in range(2):
        assert torch.allclose(out[k], stack.member(k).eval()(x), atol=1e-6)
    alone = NoisyMLPStack((4,), 12, (10, 7, 5, 4, 3), 2)
    assert torch.equal(alone.weights[0][0], stack.weights[0][1])  # a member's init depends on its seed only
    samples = stack.presamples(x, 5, torch.Generator().manual_seed(0))
    assert len(samples) == 2 and [s.shape for s in samples[0]] == [(9, 5, d) for d in (10, 7, 5, 4, 3)]
    assert np.allclose(samples[0][0][:, 0], samples[0][0][:, 4])  # layer 1's S is noiseless


def test_orthonormal_step_moves_rows_towards_orthonormal():
    stack = NoisyMLPStack((0,), 12, (10, 7), 2)
    w = stack.weights[1]
    gap = lambda: float((w[0].T @ w[0] - torch.eye(7)).norm().detach())  # noqa: E731 (columns of x @ W = rows of W)
    before = gap()
    for _ in range(200):
        stack.orthonormal_step(0.1)
    assert gap() < 0.1 * before


def test_szt_run_resumes_to_identical_records(tmp_path, monkeypatch):
    config = szt.SZTConfig(**TINY_SZT)
    reference, extras = szt.run_szt(config)
    assert set(reference.layer) == {1, 2, 3, 4, 5} and set(reference.seed) == {0, 1}
    assert (reference.h_t_given_x - reference.h_z).min() > -0.05  # h(T|X) >= h(Z), up to Monte Carlo error
    assert (reference[reference.layer == 1].h_t_given_x == reference[reference.layer == 1].h_z).all()
    state = tmp_path / "state.pt"
    original, calls = szt._szt_measure, []

    def interrupted(model, cfg, epoch, data):
        calls.append(epoch)
        if len(calls) == 3:
            raise KeyboardInterrupt  # killed after the second checkpoint's state was saved
        return original(model, cfg, epoch, data)

    monkeypatch.setattr(szt, "_szt_measure", interrupted)
    with pytest.raises(KeyboardInterrupt):
        szt.run_szt(config, state_path=state)
    monkeypatch.setattr(szt, "_szt_measure", original)
    assert state.exists()
    resumed, resumed_extras = szt.run_szt(config, state_path=state)
    pd.testing.assert_frame_equal(resumed, reference, check_exact=True)
    pd.testing.assert_frame_equal(resumed_extras["snapshots"], extras["snapshots"], check_exact=True)


def test_configs_fail_before_compute():
    with pytest.raises(ValueError, match="activation"):
        szt.SZTConfig(activation="sigmoid")
    with pytest.raises(ValueError, match="seeds"):
        szt.SZTConfig(seeds=())
    with pytest.raises(ValueError, match="unknown SZT variant"):
        gfp.szt_configs("smoke", ["tanh", "sigmoid"])
    with pytest.raises(ValueError, match="profile"):
        gfp.szt_configs("fast")
    with pytest.raises(ValueError, match="labels"):
        neuron.NeuronConfig(labels=(0, 1, 1))
    with pytest.raises(ValueError, match="60000"):
        mnist.MNISTConfig(n_train=58000, n_val=5000)
    with pytest.raises(ValueError, match="variant"):
        mnist.MNISTConfig(variant="bayesian")


def test_szt_data_errors_name_the_file(tmp_path, monkeypatch):
    monkeypatch.setenv("UINFO_SZT_URL", (tmp_path / "nowhere.npz").as_uri())  # offline: the download fails
    with pytest.raises(DataError, match="no arrays file .*szt.npz, and downloading the SZT set .* failed") as err:
        szt.szt_data(data_dir=tmp_path)
    assert "shared" not in str(err.value)
    config = gfp.szt_configs("smoke")["tanh"].replace(data_sha256="0" * 64)
    with pytest.raises(DataError, match="sha256"):
        szt.szt_data(config)


def test_single_neuron_rises_then_falls():
    records = neuron.run_single_neuron(neuron.NeuronConfig(epochs=20000, n_checkpoints=15, n_mc=100))
    assert records.mi_exact.iloc[0] < 0.1 and records.mi_exact.max() > 1.09 and records.mi_exact.iloc[-1] < 0.95
    assert records.w.iloc[-1] > 2.5


def test_noisy_cnn_variants():
    x = torch.randn(4, 1, 28, 28)
    net = NoisyCNN(beta=0.5).eval()
    assert torch.equal(net(x), net(x)) and net(x).shape == (4, 10)
    reps = net.representations(x)
    assert [tuple(r.shape[1:]) for r in reps.values()] == [(32, 12, 12), (64, 4, 4), (128,)]
    net.train()
    assert not torch.equal(net(x), net(x))


def test_linear_reference_is_the_exact_gaussian_information():
    """One linear noisy layer fed two far-apart inputs: I(X;T_1) = ln 2 exactly; and for any linear net, the
    reference of layer 1 equals the SP estimate (T_1 given X is one Gaussian: no replicas needed)."""
    net = NoisyMLPStack((0,), 2, (3, 2), 2, "linear", beta=0.01)
    x = torch.tensor([[0.0, 0.0], [1.0, 1.0], [1.0, -1.0], [-1.0, 0.5]])
    labels = np.array([0, 1, 1, 0])
    with torch.no_grad():
        net.eval()
        clean = [c[0].double().numpy() for c in net.hidden_states(x)[:-1]]
        net.train()
    exact = szt.linear_reference(net, 0, clean, labels, np.random.default_rng(0))
    assert exact[0]["mi_exact"] == pytest.approx(math.log(4), abs=1e-6)  # inputs far apart at beta = 0.01
    samples = net.presamples(x, 64, torch.Generator().manual_seed(0))[0]
    from uinfo.estimators import sp_mutual_information

    sp = sp_mutual_information(samples[1], 0.01, n_mc=4, labels=labels, seed=1)
    assert abs(sp.mi - exact[1]["mi_exact"]) < 4 * math.hypot(sp.se, exact[1]["se_exact"]) + 1e-6
    records, _ = szt.run_szt(gfp.szt_configs("smoke", ["linear (beta 0.01)"])["linear (beta 0.01)"].replace(**TINY_SZT))
    assert records[["mi_exact", "se_exact", "mi_y_exact", "se_y_exact"]].notna().all().all()


def test_validation_claim_reads_the_spread_of_repeats_not_the_reported_error():
    """Repeats whose spread shrinks like 1/sqrt(n_mc) pass, whatever the reported s.e. says; a spread that stays
    flat fails even when the reported s.e. shrinks perfectly."""
    from uinfo.report import goldfeld as sf

    rng = np.random.default_rng(0)

    def table(spread_exponent):
        rows = [dict(sweep="n", d=2, n=n, n_mc=8, repeat=r, error=-0.1 / n, se=0.01, estimate=1.0)
                for n in (10, 100) for r in range(4)]
        z = rng.standard_normal(16)
        z = (z - z.mean()) / z.std(ddof=1)  # exactly unit spread, so the test is about the scaling only
        rows += [dict(sweep="n_mc", d=2, n=500, n_mc=k, repeat=r, error=0.0, se=0.1 / math.sqrt(k),
                      estimate=1.0 + 0.1 * k ** spread_exponent * z[r]) for k in (2, 8, 32, 128) for r in range(16)]
        return pd.DataFrame(rows)

    good = sf.validation_claims(table(-0.5))[1]
    assert good["estimate"] == pytest.approx(-0.5) and good["outcome"] == "reproduced"
    assert "16 independent" in good["statistic"] and good["method"] == "seed bootstrap" and good["reference"] == -0.5
    flat = sf.validation_claims(table(0.0))[1]
    assert flat["estimate"] == pytest.approx(0.0, abs=1e-9) and flat["outcome"] == "contradicted"


def test_linear_claim_reports_the_exact_reference():
    from uinfo.report import goldfeld as sf

    rows = []
    for seed in (0, 1):
        for epoch, exact in ((1, 1.0), (30, 3.0), (48, 2.0), (100, 2.0), (1000, 2.0)):
            rows.append(dict(seed=seed, epoch=epoch, layer=5, mi=exact + 0.5, se=0.05, mi_exact=exact))
    detail = sf.variants_claims({"linear (beta 0.01)": pd.DataFrame(rows)})[0]["detail"]
    assert "peak - final 1.00 ± 0.00 nats, peak at epoch 30" in detail and "epoch 100 to the end +0.00" in detail
    assert "+0.50 nats above the exact" in detail


def test_stored_weights_read_back_bit_for_bit_and_the_panel_runs():
    """An SZT run keeps every member's weights at its weight epochs; ``szt_model`` rebuilds a member from them
    exactly, and the replica panel (smoke settings) gives each estimator at each checkpoint, within the bounds."""
    from uinfo.profiles.goldfeld import replica_configs

    panel = replica_configs("smoke")[1]  # the linear net: with its exact value
    out, extras = szt.run_replica_panel(panel)
    assert set(out.estimator) == {"exact", "plain", "fresh", "paired"}
    assert set(out.epoch) == set(extras["weights"].epoch) == {3, 7, 20}  # the checkpoints nearest (3, 10, 20)
    assert (out["mi"] <= math.log(4096) + 1e-9).all() and (out["mi_y"] <= math.log(2) + 1e-9).all()
    # the common draws (test_common_draws_...): every batch of every pool, the reference (the largest plain count,
    # 8 here) in the first batches only, every checkpoint and paired layer
    paired = out[out.estimator == "paired"]
    per_pool = paired.groupby("replicas")["batch"].nunique()
    assert per_pool.to_dict() == {4: panel.batches, 8: panel.reference_batches}
    assert len(paired) == 3 * len(panel.paired_layers) * (panel.batches + panel.reference_batches)
    assert set(paired.layer) == set(panel.paired_layers)
    config = panel.szt
    with pytest.raises(ValueError, match="no stored weights"):
        szt.szt_model(config, extras["weights"], 10, config.seeds[0])
    stack = NoisyMLPStack(config.seeds, 12, config.hidden, 2, config.activation, config.beta)
    rebuilt = szt.szt_model(config, szt._weights_table(stack, 5), 5, config.seeds[1])
    for name, tensor in rebuilt.state_dict().items():
        assert torch.equal(tensor[0], stack.state_dict()[name][1]), name


def test_common_draws_pair_two_pools_far_tighter_than_either_estimate():
    """What the replica panel's paired claims rest on: on the same drawn inputs, own samples and seed, the fresh
    estimates with a pool of 16 and of 256 replicas per input differ by much less, batch to batch, than either
    varies; on independent draws they do not."""
    from uinfo.estimators.shannon import sp_fresh_information

    rng = np.random.default_rng(0)
    m, d, beta = 64, 2, 0.3
    centres = rng.normal(size=(m, 1, d))
    spread = lambda r: centres + 0.5 * rng.normal(size=(m, r, d))  # noqa: E731 - pre-noise samples per input
    small, large = spread(16), spread(256)
    same, independent, alone = [], [], []
    for b in range(12):
        inputs = rng.integers(m, size=32)
        own = spread(400)[np.unique(inputs)]
        a = sp_fresh_information(small, own, inputs, beta, seed=[b, 1]).mi
        same.append(a - sp_fresh_information(large, own, inputs, beta, seed=[b, 1]).mi)
        independent.append(a - sp_fresh_information(large, own, inputs, beta, seed=[b, 2]).mi)
        alone.append(a)
    assert np.std(same) < 0.3 * np.std(alone) and np.std(same) < 0.3 * np.std(independent)
