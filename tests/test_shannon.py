"""Gaussian-mixture entropy with known answers (Goldfeld et al. 2019, the SP estimator's core)."""
import math

import numpy as np
import pytest

from uinfo.estimators.shannon import gaussian_entropy, gaussian_mixture_entropy, mixture_log_density


def test_one_centre_is_a_gaussian():
    for d, beta in ((1, 0.1), (5, 0.005)):
        r = gaussian_mixture_entropy(np.zeros((1, d)), beta, n_mc=4000, seed=1)
        assert abs(r.nats - gaussian_entropy(d, beta)) < 4 * r.se + 1e-9
        assert r.nats == pytest.approx(0.5 * d * math.log(2 * math.pi * math.e * beta ** 2), abs=0.05)


def test_far_apart_centres_add_ln_n():
    d, beta, n = 3, 0.01, 400
    centers = np.random.default_rng(0).normal(size=(n, d)) * 10  # ~100 beta apart or more
    r = gaussian_mixture_entropy(centers, beta, n_mc=200, seed=0)
    assert r.nats == pytest.approx(gaussian_entropy(d, beta) + math.log(n), abs=4 * r.se + 1e-6)
    assert r.mean_neighbours == pytest.approx(1.0)  # the cutoff keeps only the own centre here


def test_one_dimensional_three_point_mixture_against_quadrature():
    centers, beta = np.array([-0.3, 0.0, 0.5]), 0.2
    t = np.linspace(-3, 3, 200001)
    g = np.exp(-(t[:, None] - centers[None, :]) ** 2 / (2 * beta ** 2)).mean(1) / (beta * math.sqrt(2 * math.pi))
    exact = -float(np.sum(g * np.log(g)) * (t[1] - t[0]))
    r = gaussian_mixture_entropy(centers, beta, n_mc=40000, seed=3)
    assert abs(r.nats - exact) < 4 * r.se and r.se < 0.005


def test_log_densities_are_exact_against_dense_log_sum_exp():
    rng = np.random.default_rng(1)
    centers = rng.uniform(-1, 1, size=(3000, 5))
    beta = 0.05
    points = centers[:200] + beta * rng.standard_normal((200, 5))
    fast, mean_nb = mixture_log_density(points, centers, beta, np.arange(200), tol=1e-6)
    sq = ((points[:, None, :] - centers[None, :, :]) ** 2).sum(-1) / (2 * beta ** 2)
    m = sq.min(1, keepdims=True)
    dense = -m[:, 0] + np.log(np.exp(-(sq - m)).sum(1)) - math.log(3000) - 2.5 * math.log(2 * math.pi * beta ** 2)
    assert np.abs(fast - dense).max() < 1e-6
    assert mean_nb < 3000  # the cutoff skipped most centres


def test_standard_error_shrinks_like_one_over_sqrt_of_draws():
    centers = np.random.default_rng(2).uniform(-1, 1, size=(40, 2))
    se = [gaussian_mixture_entropy(centers, 0.3, n_mc=m, seed=5).se for m in (50, 800)]
    assert se[0] / se[1] == pytest.approx(4.0, rel=0.25)  # 16x the draws, a quarter of the error


def test_subsampled_draws_and_bad_input():
    centers = np.random.default_rng(3).uniform(-1, 1, size=(500, 2))
    full = gaussian_mixture_entropy(centers, 0.1, n_mc=20, seed=0)
    sub = gaussian_mixture_entropy(centers, 0.1, n_mc=20, seed=0, max_draws=4000)
    assert sub.n_draws == 4000 and abs(sub.nats - full.nats) < 4 * math.hypot(sub.se, full.se)
    with pytest.raises(ValueError, match="beta"):
        gaussian_mixture_entropy(centers, 0.0)
    with pytest.raises(ValueError, match="NaN"):
        gaussian_mixture_entropy(np.array([[np.nan, 0.0]]), 0.1)
    with pytest.raises(ValueError, match="n_mc"):
        gaussian_mixture_entropy(centers, 0.1, n_mc=1)


def test_sp_first_layer_uses_the_exact_noise_entropy_and_never_goes_below_it():
    import torch

    from uinfo.estimators.shannon import sp_mutual_information
    from uinfo.models.noisy import NoisyMLP

    torch.manual_seed(0)
    net = NoisyMLP(2, (3, 2), 2, "tanh", beta=0.1)
    x = torch.tensor([[-1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [2.0, -1.0]])
    s1, s2 = net.presamples(x, replicas=200, generator=torch.Generator().manual_seed(1))
    assert s1.shape == (4, 200, 3) and s2.shape == (4, 200, 2)
    assert np.allclose(s1[:, 0], s1[:, 1])  # S_1 is a function of x: noise enters after it
    first = sp_mutual_information(s1, 0.1, first_layer=True, n_mc=50)
    assert first.h_t_given_x == gaussian_entropy(3, 0.1)
    assert 0 < first.mi <= math.log(4) + 4 * first.se
    second = sp_mutual_information(s2, 0.1, n_mc=20)
    assert second.h_t_given_x >= gaussian_entropy(2, 0.1) - 4 * second.se  # h(T|X) >= h(Z)


def test_noise_switch_and_binning():
    import torch

    from uinfo.estimators.shannon import binned_entropy
    from uinfo.models.noisy import NoisyMLP

    net = NoisyMLP(3, (4,), 2, beta=0.5)
    x = torch.ones(5, 3)
    net.eval()
    assert torch.equal(net(x), net(x))  # noise off at evaluation by default
    net.train()
    assert not torch.equal(net(x), net(x))
    assert binned_entropy(np.eye(4), 0.5) == pytest.approx(math.log(4))
    assert binned_entropy(np.zeros((4, 2)), 0.5) == 0.0


def test_control_variate_removes_the_noise_spread():
    """One centre: the averaged term is exactly 0, so the estimate is exact and its error 0; far-apart centres:
    exactly ln n. Plain Monte Carlo of -log g would carry sqrt(d/2) nats of spread per draw."""
    one = gaussian_mixture_entropy(np.zeros((1, 4)), 0.01, n_mc=10, seed=0)
    assert one.nats == pytest.approx(gaussian_entropy(4, 0.01), abs=1e-12) and one.se < 1e-12


def test_dense_and_tree_paths_agree_on_collapsed_centres():
    from uinfo.estimators import shannon

    rng = np.random.default_rng(4)
    centers = np.concatenate([rng.normal(0, 0.002, size=(2000, 3)), rng.uniform(-1, 1, size=(1000, 3))])
    beta = 0.01
    points = centers[:300] + beta * rng.standard_normal((300, 3))
    dense, n_dense = mixture_log_density(points, centers, beta, np.arange(300))
    assert n_dense == 3000  # two thirds of the centres lie within the cutoff: every centre is summed
    old, shannon.DENSE_SHARE = shannon.DENSE_SHARE, 2.0
    try:
        tree, n_tree = mixture_log_density(points, centers, beta, np.arange(300))
    finally:
        shannon.DENSE_SHARE = old
    assert n_tree < 3000 and np.abs(dense - tree).max() < 1e-6


def test_log_densities_match_scikit_learn_kernel_density():
    """The authors' estimator (sklearn KernelDensity, bandwidth beta) with its tolerance set to 0 is exact."""
    sklearn = pytest.importorskip("sklearn.neighbors")
    rng = np.random.default_rng(5)
    centers, beta = rng.uniform(-1, 1, size=(2000, 4)), 0.05
    points = centers[:100] + beta * rng.standard_normal((100, 4))
    kde = sklearn.KernelDensity(kernel="gaussian", bandwidth=beta, rtol=0, atol=0).fit(centers)
    ours, _ = mixture_log_density(points, centers, beta, np.arange(100))
    assert np.abs(ours - kde.score_samples(points)).max() < 1e-6


def test_batched_conditional_entropies_match_one_mixture_at_a_time():
    from uinfo.estimators import conditional_entropies

    s = np.random.default_rng(6).normal(0, 0.05, size=(3, 40, 2))
    h, se = conditional_entropies(s, 0.03, n_mc=200, seed=0)
    for i in range(3):
        one = gaussian_mixture_entropy(s[i], 0.03, n_mc=200, seed=i + 10)
        assert abs(h[i] - one.nats) < 4 * math.hypot(se[i], one.se)


def test_label_information_is_at_most_input_information():
    from uinfo.estimators import sp_mutual_information

    rng = np.random.default_rng(7)
    s = np.repeat(rng.uniform(-1, 1, size=(60, 1, 2)), 5, axis=1) + rng.normal(0, 0.02, size=(60, 5, 2))
    labels = np.arange(60) % 3
    est = sp_mutual_information(s, 0.05, n_mc=20, labels=labels)
    assert 0 < est.mi_y <= est.mi + 4 * est.se
    assert est.mi_y <= math.log(3) + 4 * est.se_y
    same = sp_mutual_information(s, 0.05, n_mc=20, labels=np.arange(60))  # Y = X: I(T;Y) = I(T;X)
    assert abs(same.mi_y - same.mi) < 4 * math.hypot(same.se, same.se_y)
