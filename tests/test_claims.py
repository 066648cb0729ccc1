"""The CIFAR and Goldfeld claim functions on constructed records: windows instead of extremes, "late" enforced,
preconditions that make a claim untestable, pairing within seed, and claims of no effect."""
import numpy as np
import pandas as pd
import pytest

from uinfo.report import cifar as cfig
from uinfo.report import goldfeld as sf

H = {"coarse": 1.0, "fine": 3.32}


def _cifar(fine, coarse, train_accuracy, seeds=3, lr=0.05, batch=128, pretrain=0, epochs=(0, 1, 2, 4, 7, 11, 16)):
    """Penultimate-layer rows of one All-CNN setting; ``fine`` and ``coarse`` map an epoch to bits."""
    rows = []
    for seed in range(seeds):
        wobble = 0.01 * (seed - 1)
        for e in epochs:
            for var, f in (("fine", fine), ("coarse", coarse)):
                acc = train_accuracy(e) if callable(train_accuracy) else train_accuracy
                rows.append(dict(run=f"{lr}-{batch}-{pretrain}-{seed}", seed=seed, model="allcnn", layer="block3",
                                 fit="heldout", phase="train", epoch=e, epochs=max(epochs), variable=var,
                                 bits=f(e) + wobble, lr=lr, batch_size=batch, pretrain_epochs=pretrain,
                                 precision="bf16", channels_last=True, n_train=10000, augment=False,
                                 test_accuracy=0.8, train_accuracy=acc, test_loss=0.5, train_loss=0.4 - 0.02 * seed))
    return pd.DataFrame(rows)


def test_cifar_decline_is_untestable_before_the_fit_and_decided_after():
    """K6 at 80% training accuracy: untestable, naming the precondition; the coarse rise is tested anyway. Once
    the net fits (training accuracy 1.0), an early-window excess of fine information over the late window
    reproduces it, and a flat curve contradicts it."""
    rising = _cifar(lambda e: 0.5 + 0.06 * e, lambda e: 0.02 * e, 0.8)
    decline, coarse, near = cfig.coarse_claims(rising, H)
    assert decline["outcome"] == "untestable" and "training accuracy >= 0.99" in decline["failed_precondition"]
    assert "(measured: 0.800)" in decline["failed_precondition"] and decline["holds_where"]
    assert near["outcome"] == "untestable"
    assert coarse["outcome"] == "reproduced" and coarse["estimate"] == pytest.approx(0.32)
    peaked = _cifar(lambda e: 1.5 if e in (1, 2) else 1.0, lambda e: 0.3, 1.0)
    decline, _, near = cfig.coarse_claims(peaked, H)
    assert decline["outcome"] == "reproduced" and decline["estimate"] == pytest.approx(0.5)
    assert near["outcome"] == "reproduced" and near["predicts"] == "no effect"  # late fine = H(coarse)
    flat = _cifar(lambda e: 1.2, lambda e: 0.3, 1.0)
    assert cfig.coarse_claims(flat, H)[0]["outcome"] == "contradicted"


def test_cifar_contrasts_pair_within_seed_and_need_every_arm_fitted():
    base = _cifar(lambda e: 1.0, lambda e: 0.3, 1.0)
    low_lr = _cifar(lambda e: 1.3, lambda e: 0.3, 1.0, lr=0.01)
    big = _cifar(lambda e: 1.2, lambda e: 0.3, 0.9, batch=512)
    rows = cfig.lr_batch_claims(pd.concat([base, low_lr, big]), 0.05, 128)
    lr_row = next(r for r in rows if "learning rate" in r["claim"])
    batch_row = next(r for r in rows if "batch" in r["claim"])
    assert lr_row["outcome"] == "reproduced" and lr_row["method"] == "paired t"
    assert lr_row["estimate"] == pytest.approx(0.3)
    assert batch_row["outcome"] == "untestable" and "confounded by steps" in batch_row["detail"]
    pre = _cifar(lambda e: 1.5, lambda e: 0.3, 0.8, pretrain=6)
    keeps, matched, accuracy, loss, gap = cfig.initialization_claims(
        pd.concat([_cifar(lambda e: 1.0, lambda e: 0.3, 0.8), pre]))
    assert keeps["outcome"] == "reproduced" and keeps["estimate"] == pytest.approx(0.5)
    assert matched["outcome"] == accuracy["outcome"] == loss["outcome"] == gap["outcome"] == "untestable"
    assert "reaches 0.99 training accuracy" in matched["failed_precondition"]


def test_cifar_contrasts_at_matched_training_accuracy_read_each_run_where_it_fits():
    """The matched-accuracy rows read each run over its own fitting window (training accuracy 0.9 -> 0.99), so a
    slower arm is read later, at the same stage: here the lower lr fits at epochs 8-10 and the baseline at 4-7, and
    the late windows differ while the fitting windows agree. An arm that never reaches 99% is untestable."""
    epochs = (0, 1, 2, 4, 7, 8, 10, 12, 16, 20, 30, 40)
    base = _cifar(lambda e: 1.0 if 4 <= e <= 7 else 0.8, lambda e: 0.3, lambda e: min(1.0, 0.6 + 0.08 * e),
                  epochs=epochs)
    low = _cifar(lambda e: 1.0 if 8 <= e <= 12 else 1.2, lambda e: 0.3, lambda e: min(1.0, 0.5 + 0.05 * e),
                 lr=0.01, epochs=epochs)
    big = _cifar(lambda e: 1.0, lambda e: 0.3, lambda e: min(0.95, 0.5 + 0.05 * e), batch=256, epochs=epochs)
    rows = cfig.lr_batch_claims(pd.concat([base, low, big]), 0.05, 128)
    late, matched = [r for r in rows if "learning rate" in r["claim"]]
    assert late["estimate"] == pytest.approx(0.4) and late["outcome"] == "reproduced"
    assert "matched training accuracy" in matched["claim"] and matched["estimate"] == pytest.approx(0.0)
    assert matched["outcome"] == "contradicted" and "epoch 10 vs 7" in matched["detail"]
    batch_late, batch_matched = [r for r in rows if "batch" in r["claim"]]
    assert batch_matched["outcome"] == batch_late["outcome"] == "untestable"
    assert "(measured: 0.950)" in batch_matched["failed_precondition"]


def _szt(curve, seeds=3, layers=(1, 2, 3, 4, 5), column="mi", **extra):
    """SZT-like records at the log-spaced quick epochs; ``curve(epoch, seed)`` gives ``column``."""
    epochs = [0, 1, 2, 3, 4, 7, 11, 18, 30, 48, 78, 127, 207, 336, 546, 886, 1438, 2336, 3793, 6158, 10000]
    return pd.DataFrame([dict(seed=s, epoch=e, layer=layer, **{column: curve(e, s)}, test_loss=0.3, **extra)
                         for s in range(seeds) for e in epochs for layer in layers])


def test_szt_compression_is_late_and_windowed():
    """A drop at epochs 30-48 (like the linear net's) is not late compression; a drop after epoch 2500 is."""
    early_drop = _szt(lambda e, s: 8.0 if e < 40 else 6.5 + 0.01 * s)
    late_drop = _szt(lambda e, s: 8.0 if e < 3000 else 6.5 + 0.05 * s)
    assert sf.windowed_compression(early_drop, 5).abs().max() < 1e-9
    assert sf.windowed_compression(late_drop, 5).mean() == pytest.approx(1.5 - 0.05, abs=1e-9)
    # the extreme-value statistic sees the early drop as compression
    assert sf.compression(early_drop, 5).compression.mean() == pytest.approx(1.49, abs=0.02)


def test_variants_read_the_linear_nets_exact_information_as_a_claim_of_no_effect():
    linear = _szt(lambda e, s: 8.0 if e < 40 else 6.5 + 0.01 * s)
    linear["mi_exact"] = linear["mi"] - 0.3  # SP biased up, the same shape
    tanh = _szt(lambda e, s: 8.0 if e < 3000 else 6.0 + 0.05 * s)
    ortho = _szt(lambda e, s: 7.0 + 0.01 * s)
    rows = {r["claim"]: r for r in sf.variants_claims({"tanh": tanh, "tanh + orthonormal": ortho,
                                                        "linear (beta 0.01)": linear})}
    none = rows["Linear activations show no compression"]
    assert none["outcome"] == "reproduced" and "exact" in none["statistic"] and none["predicts"] == "no effect"
    suppressed = rows["Orthonormal weights suppress compression [MEM]"]
    assert suppressed["method"] == "paired t" and suppressed["outcome"] == "reproduced"


def test_usable_never_above_shannon_is_a_claim_of_no_effect():
    rng = np.random.default_rng(0)
    ok = _szt(lambda e, s: 0.6, column="mi_y").assign(se_y=0.01)
    ok["iu"] = ok["mi_y"] - 0.1 - 0.05 * (ok["layer"] == 1) + rng.normal(0, 0.005, len(ok))
    below, misses = sf.usable_vs_shannon_claims(ok)
    assert below["outcome"] == "reproduced" and misses["method"] == "paired t"
    assert misses["estimate"] == pytest.approx(0.05, abs=0.005)
    above = ok.assign(iu=ok["mi_y"] + 0.2)
    assert sf.usable_vs_shannon_claims(above)[0]["outcome"] == "contradicted"


def _terminal(fine, accuracy, model="resnet18", n_train=10000, augment=False, seeds=3,
              epochs=(0, 2, 4, 8, 12, 16, 20, 26, 30, 35, 40)):
    """Penultimate and logits rows of one terminal-phase arm; ``fine`` and ``accuracy`` map an epoch to values."""
    layer = cfig.PENULTIMATE[model]
    rows = []
    for seed in range(seeds):
        for e in epochs:
            for lay in (layer, "logits"):
                for var, bits in (("fine", fine(e) + 0.01 * seed), ("coarse", 0.3)):
                    rows.append(dict(run=f"{model}-{n_train}-{augment}-{seed}", seed=seed, model=model, layer=lay,
                                     fit="heldout", phase="train", epoch=e, epochs=40, variable=var, bits=bits,
                                     n_train=n_train, augment=augment, lr=0.1, batch_size=128,
                                     pretrain_epochs=0, train_accuracy=accuracy(e),
                                     test_accuracy=0.7, train_loss=0.1, test_loss=0.9))
    return pd.DataFrame(rows)


def test_terminal_phase_windows_follow_the_accuracy_and_unfitted_arms_are_untestable():
    """The fitting window runs from the first checkpoint at 90% training accuracy to the first at 99% (epochs 8-16
    here), whatever the information does; the late window is the last 20% (epochs 32-40). A fall of 0.3 bits
    after the fit reproduces K6; a net that never fits makes it untestable, with its accuracy measured."""
    acc = lambda e: min(1.0, 0.5 + 0.05 * e)  # noqa: E731  0.9 at epoch 8, 1.0 from 10 on
    falls = _terminal(lambda e: 1.3 if 8 <= e <= 12 else 1.0, acc)
    stats = cfig.terminal_statistics(falls, "fine")
    assert set(stats["fit_start"]) == {8} and set(stats["fit_end"]) == {12}
    assert stats["fitting"].iloc[0] == pytest.approx(1.3) and stats["late"].iloc[0] == pytest.approx(1.0)
    unfitted = _terminal(lambda e: 1.0, lambda e: 0.8, model="allcnn")
    augmented = _terminal(lambda e: 1.0, acc, augment=True)
    small = _terminal(lambda e: 1.0, acc, n_train=2000)
    rows = cfig.terminal_claims(pd.concat([falls, unfitted, augmented, small]),
                                ["resnet18, 10000 images", "allcnn, 10000 images"], "resnet18, 10000 images, augmented",
                                ["resnet18, 2000 images"])
    fine, excess, logits = rows[:3]
    assert fine["outcome"] == excess["outcome"] == logits["outcome"] == "reproduced"
    assert excess["estimate"] == pytest.approx(0.3)  # coarse is flat: the excess falls with fine
    assert all(r["outcome"] == "untestable" and "(measured: 0.800)" in r["failed_precondition"] for r in rows[3:6])
    assert rows[6]["outcome"] == rows[7]["outcome"] == "contradicted"  # flat after the fit: no decline
    without = cfig.terminal_claims(pd.concat([falls, unfitted, small]), ["resnet18, 10000 images",
                                   "allcnn, 10000 images"], None, ["resnet18, 2000 images"])
    assert len(without) == 7 and without[-1]["outcome"] == "contradicted"  # a profile without an augmented arm


def test_overfitting_claims_pair_within_seed_and_need_an_overfitting_baseline():
    from uinfo.report import checkerboard as cl

    def arm(gap, colour, pretrained, seeds=5):
        rows = []
        for seed in range(seeds):
            for e in range(0, 101, 10):
                for var, bits in (("colour", colour + 0.01 * seed), ("direction", 0.6)):
                    rows.append(dict(run=f"{pretrained}-{seed}", seed=seed, condition="pre" if pretrained else "rnd",
                                     layer="hidden2", variable=var, step=e, epoch=e, epochs=100, bits=bits,
                                     train_loss=0.3, val_loss=0.3 + gap + 0.001 * seed, hidden=(64, 64)))
        return pd.DataFrame(rows)
    colour, gap, val = cl.overfitting_claims(pd.concat([arm(0.25, 0.4, False), arm(0.35, 0.6, True)]), "rnd", "pre")
    assert colour["outcome"] == gap["outcome"] == val["outcome"] == "reproduced"
    assert gap["estimate"] == pytest.approx(0.1) and gap["method"] == "paired t"
    _, gap, val = cl.overfitting_claims(pd.concat([arm(0.005, 0.4, False), arm(0.2, 0.4, True)]), "rnd", "pre")
    assert gap["outcome"] == val["outcome"] == "untestable" and "(measured: 0.0070 nats)" in gap["failed_precondition"]


def test_cifar_diagnostic_pairs_train_fitted_with_held_out_decoders_of_the_same_run():
    held = _cifar(lambda e: 1.0, lambda e: 0.5, 1.0)
    fitted = _cifar(lambda e: 1.0, lambda e: 0.5 - 0.02 * e, 1.0).assign(fit="train_fitted")
    (row,) = cfig.diagnostic_claims(pd.concat([held, fitted]))
    assert row["outcome"] == "reproduced" and row["method"] == "paired t"
    assert row["estimate"] == pytest.approx(0.02 * np.mean([11, 16]), abs=0.05)  # the late window's epochs
    (same,) = cfig.diagnostic_claims(pd.concat([held, held.assign(fit="train_fitted")]))
    assert same["outcome"] == "contradicted" and same["estimate"] == pytest.approx(0.0)


def test_cifar_precision_twins_are_set_apart_and_compared_at_their_last_epoch():
    """The float32 twins of the first seeds are not headline runs; the check predicts no effect, at the twins'
    last epoch, paired by seed."""
    main = _cifar(lambda e: 1.0 + 0.01 * e, lambda e: 0.3, 0.8)
    twin = _cifar(lambda e: 1.0 + 0.01 * e, lambda e: 0.3, 0.8, seeds=2, epochs=(0, 1, 2)).assign(
        precision="float32", channels_last=False)
    records = pd.concat([main, twin], ignore_index=True)
    assert set(cfig.headline(records)["precision"]) == {"bf16"}
    fine, coarse = cfig.precision_claims(records)
    assert fine["outcome"] == coarse["outcome"] == "reproduced" and fine["predicts"] == "no effect"
    assert "epoch 2" in fine["claim"] and "float32 minus bf16, channels-last" in fine["statistic"]
    off = pd.concat([main, twin.assign(bits=twin["bits"] + 0.3)], ignore_index=True)
    assert cfig.precision_claims(off)[0]["outcome"] == "contradicted"
    # the notebook's table: every twin's seed, both numerics and the difference the claim tests
    fine_off = twin.assign(bits=twin["bits"] + 0.3 * (twin["variable"] == "fine"))
    table = cfig.precision_table(pd.concat([main, fine_off], ignore_index=True))
    assert list(table.index) == [0, 1] and table.index.name == "seed (epoch 2)"
    assert table["fine, difference"].tolist() == pytest.approx([0.3, 0.3])
    assert table["coarse, difference"].tolist() == pytest.approx([0.0, 0.0])
    assert (table["fine, float32"] - table["fine, bf16, channels-last"]).tolist() == pytest.approx([0.3, 0.3])


def _neuron(exact, sp_bias=0.0, seeds=3):
    epochs = [0, 10, 100, 1000, 10000, 50000, 100000]
    return pd.DataFrame([dict(seed=s, epoch=e, mi_exact=exact(e) + 0.001 * s, mi_sp=exact(e) + sp_bias + 0.002 * s,
                              se_sp=0.01) for s in range(seeds) for e in epochs])


def test_single_neuron_claims_read_the_exact_curve_and_check_sp_against_it():
    rises_then_falls = lambda e: {0: 0.0, 10: 0.5, 100: 1.0, 1000: sf.LN_3}.get(e, sf.HB_THIRD)  # noqa: E731
    peak, fall, agree = sf.single_neuron_claims(_neuron(rises_then_falls))
    assert peak["outcome"] == "reproduced" and peak["predicts"] == "no effect"
    assert fall["outcome"] == "reproduced" and fall["estimate"] == pytest.approx(sf.LN_3 - sf.HB_THIRD, abs=1e-9)
    assert agree["outcome"] == "reproduced"
    assert sf.single_neuron_claims(_neuron(rises_then_falls, sp_bias=0.2))[2]["outcome"] == "contradicted"
    keeps = lambda e: min(1.0, e / 100) * sf.LN_3  # noqa: E731  rises to ln 3 and stays: nothing falls
    assert sf.single_neuron_claims(_neuron(keeps))[1]["outcome"] == "contradicted"


def test_binning_claims_need_small_bins_near_ln_4096_and_read_the_deterministic_net_late():
    rng = np.random.default_rng(1)
    widths = (0.005, 0.05, 2 / 30)
    noisy = _szt(lambda e, s: 8.0 if e < 3000 else 6.5 + 0.05 * s)
    noisy["bin_0.005"] = 0.95 * sf.LN_4096
    noisy["bin_0.05"] = noisy["mi"] - 1 + rng.normal(0, 0.01, len(noisy))
    noisy[f"bin_{2 / 30:.4g}"] = noisy["bin_0.05"] - 0.5
    deterministic = noisy.copy()
    small, _, tracks, compresses = sf.binning_claims(noisy, deterministic, widths)
    assert small["outcome"] == "reproduced" and "smaller bins give higher entropy" in small["detail"]
    assert tracks["outcome"] == "reproduced" and tracks["estimate"] > 0.9
    assert compresses["outcome"] == "reproduced" and compresses["estimate"] == pytest.approx(1.45, abs=0.01)
    coarse = noisy.assign(**{"bin_0.005": 0.5 * sf.LN_4096})
    assert sf.binning_claims(coarse, deterministic, widths)[0]["outcome"] == "contradicted"


def test_mnist_clustering_is_late_window_minus_initial_per_variant():
    rows = []
    for variant, rise in (("deterministic", 0.3), ("noisy", 0.0)):
        for seed in range(3):
            for epoch in range(11):
                rows.append(dict(variant=variant, seed=seed, epoch=epoch, layer="fc", val_error=0.01,
                                 within=0.3 + rise * min(1.0, epoch / 5) + 0.001 * seed, between=0.2))
    deterministic, noisy = sf.mnist_claims(pd.DataFrame(rows))
    assert deterministic["claim"].startswith("Deterministic networks cluster")
    assert deterministic["outcome"] == "reproduced" and deterministic["estimate"] == pytest.approx(0.3)
    assert noisy["outcome"] == "contradicted" and noisy["estimate"] == pytest.approx(0.0)


def _panel(bias, exact_bias=None, batches=16, reference_batches=8, noise=0.2, seed=0):
    """A replica panel's records: the plain estimates (8 and 1000 replicas), and the common draws, where each
    batch shares one draw effect (``noise``) across pools and pool 32 reads ``bias`` above the 1000-replica pool
    (plus a little of its own spread); with ``exact_bias`` also an exact value that pool 32 reads that far above."""
    rng = np.random.default_rng(seed)
    rows = []
    for epoch in (30, 10000):
        for layer in (3, 4, 5):
            truth = 8.0 - layer
            for r in (8, 1000):
                rows.append(dict(epoch=epoch, layer=layer, estimator="plain", replicas=r, own_replicas=r, batch=-1,
                                 mi=truth + (0.5 if r == 8 else 0.0), se=0.05, mi_y=0.5, se_y=0.01))
            if exact_bias is not None:
                rows.append(dict(epoch=epoch, layer=layer, estimator="exact", replicas=0, own_replicas=0, batch=-1,
                                 mi=truth - exact_bias, se=0.01, mi_y=0.5, se_y=0.005))
            for b in range(batches):
                shared, shared_y = noise * rng.normal(), 0.1 * noise * rng.normal()
                for r in (32, 1000):
                    if r == 1000 and b >= reference_batches:
                        continue
                    own = 0.01 * rng.normal()
                    rows.append(dict(epoch=epoch, layer=layer, estimator="paired", replicas=r, own_replicas=1000,
                                     batch=b, mi=truth + shared + own + (bias if r == 32 else 0.0), se=0.2,
                                     mi_y=0.5 + shared_y + own, se_y=0.02))
    return pd.DataFrame(rows)


def test_replica_claims_pair_pools_on_common_draws_and_read_the_exact_value():
    """Converged (pool 32 within 0.01 nats of the 1000-replica pool, batch effects shared): reproduced, from a t
    interval over the reference batches, though each batch's own spread (0.2) would leave 512 unpaired draws
    inconclusive; a 0.3-nat bias: contradicted; the linear net's exact value read over every batch."""
    good = sf.replica_claims({"tanh": _panel(0.01)}, 32)
    assert len(good) == 1 and good[0]["outcome"] == "reproduced" and good[0]["predicts"] == "no effect"
    assert "8 batches" in good[0]["statistic"] and good[0]["method"] == "t over batches of common draws"
    biased = sf.replica_claims({"tanh": _panel(0.3)}, 32)[0]
    assert biased["outcome"] == "contradicted" and biased["estimate"] == pytest.approx(0.3, abs=0.02)
    ref, exact = sf.replica_claims({"linear": _panel(0.0, exact_bias=0.25, noise=0.02)}, 32)
    assert ref["outcome"] == "reproduced"
    assert "exact value" in exact["claim"] and "16 batches" in exact["statistic"]
    assert exact["outcome"] == "contradicted" and exact["estimate"] == pytest.approx(0.25, abs=0.03)
    sf.paired_figure({"tanh": _panel(0.01), "linear": _panel(0.0, exact_bias=0.0)}, 32)
