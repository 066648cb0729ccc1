"""The CIFAR and Goldfeld claim functions on constructed records: windows instead of extremes, "late" enforced,
preconditions that make a claim untestable, pairing within seed, and claims of no effect."""
import numpy as np
import pandas as pd
import pytest

from uinfo import cifar_figures as cfig
from uinfo import shannon_figures as sf

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
