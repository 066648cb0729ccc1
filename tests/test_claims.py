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
                rows.append(dict(run=f"{lr}-{batch}-{pretrain}-{seed}", seed=seed, model="allcnn", layer="block3",
                                 fit="heldout", phase="train", epoch=e, epochs=16, variable=var, bits=f(e) + wobble,
                                 lr=lr, batch_size=batch, pretrain_epochs=pretrain, precision="bf16",
                                 channels_last=True, test_accuracy=0.8, train_accuracy=train_accuracy,
                                 test_loss=0.5, train_loss=0.4 - 0.02 * seed))
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
    keeps, accuracy, gap = cfig.initialization_claims(pd.concat([_cifar(lambda e: 1.0, lambda e: 0.3, 0.8), pre]))
    assert keeps["outcome"] == "reproduced" and keeps["estimate"] == pytest.approx(0.5)
    assert accuracy["outcome"] == gap["outcome"] == "untestable"


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
                                     n_train=n_train, augment=augment, train_accuracy=accuracy(e),
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
