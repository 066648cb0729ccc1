"""Usable information against cases with known answers, plus input validation and determinism."""
import math

import numpy as np
import pytest
import torch

from uinfo.estimators import (cross_fitted_usable_information, entropy_bits, usable_information,
                              usable_information_batch)


def split(z, y):
    h = len(y) // 2
    return z[:h], y[:h], z[h:], y[h:]


def test_one_hot_representation_gives_label_entropy():
    g = torch.Generator().manual_seed(0)
    y = torch.multinomial(torch.tensor([0.5, 0.3, 0.2]), 4000, replacement=True, generator=g)
    z = torch.nn.functional.one_hot(y, 3).float()
    res = usable_information(*split(z, y))
    assert res.entropy_bits == pytest.approx(entropy_bits(y[2000:]))
    assert res.entropy_bits < math.log2(3) - 0.05  # unbalanced: empirical H(Y), not log2 K
    assert res.log2_classes == pytest.approx(math.log2(3))
    assert abs(res.bits - res.entropy_bits) < 0.01  # tolerance: the L2 penalty caps the decoder's confidence
    assert res.accuracy == 1.0


def test_independent_representation_gives_about_zero_and_is_not_clipped():
    g = torch.Generator().manual_seed(1)
    y = torch.randint(0, 2, (4000,), generator=g)
    z = torch.randn(4000, 5, generator=g)
    res = usable_information(*split(z, y))
    # stated tolerance: |I_u| < 0.02 bits for 2000 fitting samples of 5 features
    assert abs(res.bits) < 0.02
    assert res.bits == pytest.approx(res.entropy_bits - res.cross_entropy_bits)
    assert float(res) == res.bits


def bayes_cross_entropy_bits(delta: float) -> float:
    """Two balanced classes N(+-mu, I): the projection t on mu/|mu| is N(+-|mu|, 1) and the Bayes log-odds are
    2|mu|t, so the Bayes cross-entropy is E_{t ~ N(|mu|, 1)} softplus(-2|mu|t), by quadrature."""
    t = np.linspace(delta - 12, delta + 12, 200001)
    pdf = np.exp(-0.5 * (t - delta) ** 2) / math.sqrt(2 * math.pi)
    return float(np.sum(pdf * np.logaddexp(0, -2 * delta * t)) * (t[1] - t[0]) / math.log(2))


@pytest.mark.parametrize("decoder,tol", [("linear", 0.01), ("mlp", 0.03)])
def test_two_gaussian_classes_give_bayes_cross_entropy(decoder, tol):
    g = torch.Generator().manual_seed(2)
    mu = torch.tensor([0.6, -0.8, 0.0])  # |mu| = 1
    n = 20000
    y = torch.randint(0, 2, (n,), generator=g)
    z = torch.randn(n, 3, generator=g) + (2 * y[:, None] - 1) * mu
    res = usable_information(*split(z, y), decoder=decoder)
    assert res.cross_entropy_bits == pytest.approx(bayes_cross_entropy_bits(1.0), abs=tol)


def test_accepts_numpy_and_tensors_equally():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 3, 600)
    z = rng.normal(size=(600, 4)) + y[:, None]
    a = usable_information(*split(z, y))
    b = usable_information(*split(torch.from_numpy(z).float(), torch.from_numpy(y)))
    assert a.bits == pytest.approx(b.bits, abs=1e-5)


def test_batch_matches_single_calls_and_groups_shapes():
    rng = np.random.default_rng(4)
    problems = []
    for d, k in ((3, 2), (3, 2), (7, 4)):
        y = rng.integers(0, k, 800)
        z = rng.normal(size=(800, d)) + 0.7 * y[:, None]
        problems.append(split(z, y))
    batch = usable_information_batch(problems)
    for p, r in zip(problems, batch):
        assert r.bits == pytest.approx(usable_information(*p).bits, abs=1e-4)


def test_deterministic_given_seed():
    rng = np.random.default_rng(5)
    y = rng.integers(0, 2, 1000)
    z = rng.normal(size=(1000, 4)) + y[:, None]
    for decoder in ("linear", "mlp"):
        a = usable_information(*split(z, y), decoder=decoder, seed=7)
        b = usable_information(*split(z, y), decoder=decoder, seed=7)
        assert a == b


def test_cross_fitting_one_hot():
    y = torch.arange(1000) % 4
    z = torch.nn.functional.one_hot(y, 4).float()
    res = cross_fitted_usable_information(z, y)
    assert res.bits == pytest.approx(2.0, abs=0.01)
    assert res.n_fit == res.n_eval == 1000


@pytest.mark.parametrize("change,message", [
    (dict(z_test=np.zeros((10, 3))), "features"),
    (dict(y_train=np.zeros(9)), "labels"),
    (dict(y_train=-np.ones(10, dtype=int)), ">= 0"),
    (dict(z_train=np.full((10, 2), np.nan)), "NaN"),
    (dict(z_train=np.zeros((10, 2, 2))), "2-D"),
    (dict(y_test=np.full(10, 0.5)), "integer"),
])
def test_invalid_inputs_raise_clear_errors(change, message):
    args = dict(z_train=np.zeros((10, 2)), y_train=np.arange(10) % 2, z_test=np.zeros((10, 2)),
                y_test=np.arange(10) % 2)
    args.update(change)
    with pytest.raises(ValueError, match=message):
        usable_information(**args)


def test_invalid_options_raise():
    z, y = np.random.default_rng(0).normal(size=(20, 2)), np.arange(20) % 2
    with pytest.raises(ValueError, match="decoder"):
        usable_information(z, y, z, y, decoder="svm")
    with pytest.raises(ValueError, match="l2"):
        usable_information(z, y, z, y, l2=0)
    with pytest.raises(ValueError, match="n_classes"):
        usable_information(z, y, z, y, n_classes=1)
    with pytest.raises(ValueError, match="labels go up to"):
        usable_information(z, y + 2, z, y, n_classes=2)


def test_many_class_stacks_fit_in_float32_and_agree_with_float64(monkeypatch):
    from uinfo.estimators import usable as U

    # every checkerboard / SZT stack (<= 4 classes, <= 2e6 entries) stays float64; 100 classes on 5000 x 48 do not
    assert U._float64_affordable((64, 2000, 15), 4) and U._float64_affordable((4, 5000, 100), 4)
    assert not U._float64_affordable((4, 5000, 49), 100)
    g = torch.Generator().manual_seed(3)
    y = torch.randint(0, 100, (3000,), generator=g)
    z = torch.nn.functional.one_hot(y, 100).float()[:, :40] * 4 + torch.randn(3000, 40, generator=g)
    problems = [split(z, y), split(z + torch.randn(3000, 40, generator=g), y)]  # one stack: 2 x 1500 x 40
    assert not U._float64_affordable((2, 1500, 40), 100)
    as_float32 = usable_information_batch(problems, l2=0.01)
    monkeypatch.setattr(U, "FLOAT64_MAX_WORK", 10 ** 12)
    as_float64 = usable_information_batch(problems, l2=0.01)
    for a, b in zip(as_float32, as_float64):
        assert 0.5 < b.bits and abs(a.bits - b.bits) < 1e-3


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_standardized_features_are_written_value_for_value(dtype):
    """The fused standardization (one output tensor per set, a problem at a time) gives every value that
    standardizing, casting and appending the ones column in three steps gives: the decoders' results are unchanged."""
    from uinfo.estimators import usable as U

    g = torch.Generator().manual_seed(0)
    zt, ze = torch.rand(3, 400, 6, generator=g, dtype=torch.float64), torch.rand(3, 300, 6, generator=g,
                                                                                 dtype=torch.float64)
    zt[1, :, 2] = 0.5  # a constant feature keeps scale 1
    fused = U._standardized_with_ones(zt, ze, dtype)
    for got, want in zip(fused, U._standardize(zt, ze)):
        want = want.to(dtype)
        assert torch.equal(got[..., :-1], want) and torch.equal(got[..., -1], torch.ones_like(got[..., -1]))

