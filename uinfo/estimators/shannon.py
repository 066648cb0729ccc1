"""Differential entropy of Gaussian mixtures, for the sample-propagation (SP) estimator of Goldfeld et al. (2019).

h(g) for g = (1/n) sum_i N(c_i, beta^2 I_d), in nats, by Monte Carlo: draw V = c_I + beta Z (I uniform, Z standard
normal) and average -log g(V). Every log g(V) is computed exactly up to ``tol`` nats (default 1e-6) in float64:
only centres within a per-query radius are summed, and the radius is chosen so that the skipped centres provably
carry at most ``tol`` of log-density:

    for a draw from centre i at squared distance a from it, the centres at squared distance > a + 2 beta^2 L,
    L = ln(n / tol), together contribute at most n exp(-(a + 2 beta^2 L) / (2 beta^2)) = tol * exp(-a / (2 beta^2))
    to the mixture sum, which holds at least exp(-a / (2 beta^2)) (centre i itself); so dropping them changes
    log g by at most log(1 + tol) < tol.

Neighbours come from a k-d tree (scipy's cKDTree), so a query costs its neighbours, not n. Draws are stratified
over the centres when every centre gets ``n_mc`` draws; with ``max_draws`` fewer, centres are sampled uniformly.
The Monte Carlo standard error is returned with the estimate.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class MixtureEntropy:
    """h(g) in nats, its Monte Carlo standard error, and how it was computed."""

    nats: float
    se: float
    n_centers: int
    n_draws: int
    tol: float
    mean_neighbours: float

    def __float__(self) -> float:
        return self.nats


def gaussian_entropy(d: int, beta: float) -> float:
    """h(N(0, beta^2 I_d)) = (d/2) ln(2 pi e beta^2), in nats."""
    return 0.5 * d * math.log(2 * math.pi * math.e * beta ** 2)


def _check(centers, beta, n_mc, tol) -> np.ndarray:
    c = np.asarray(centers, dtype=np.float64)
    if c.ndim == 1:
        c = c[:, None]
    if c.ndim != 2 or c.shape[0] < 1:
        raise ValueError(f"centers must be an (n, d) array with n >= 1, got shape {np.shape(centers)}")
    if not np.isfinite(c).all():
        raise ValueError("centers contain NaN or infinite values")
    if not beta > 0:
        raise ValueError(f"beta (the noise standard deviation) must be > 0, got {beta}")
    if not (isinstance(n_mc, int) and n_mc >= 2):
        raise ValueError(f"n_mc must be an integer >= 2 (the standard error needs two draws), got {n_mc!r}")
    if not 0 < tol < 1:
        raise ValueError(f"tol must be in (0, 1), got {tol}")
    return c


def mixture_log_density(points: np.ndarray, centers: np.ndarray, beta: float, own: np.ndarray | None = None,
                        tol: float = 1e-6, tree=None) -> tuple[np.ndarray, float]:
    """log g at ``points`` (m, d), exact to ``tol`` nats, and the mean number of centres summed per point.
    ``own[k]``: a centre close to point k (its own centre when the point was drawn from one); the nearest centre is
    looked up when not given."""
    from scipy.spatial import cKDTree

    n, d = centers.shape
    tree = tree or cKDTree(centers)
    two_b2 = 2 * beta ** 2
    if own is None:
        a, own = tree.query(points, k=1)
        a = a ** 2
    else:
        a = ((points - centers[own]) ** 2).sum(1)
    radius = np.sqrt(a + two_b2 * math.log(n / tol))
    neighbours = tree.query_ball_point(points, radius, return_sorted=False)
    out = np.empty(len(points))
    counts = np.fromiter((len(nb) for nb in neighbours), dtype=np.int64, count=len(points))
    flat = np.concatenate([np.asarray(nb, dtype=np.int64) for nb in neighbours]) if counts.sum() else np.zeros(0, int)
    owner = np.repeat(np.arange(len(points)), counts)
    sq = ((points[owner] - centers[flat]) ** 2).sum(1) / two_b2
    # log-sum-exp per point over its neighbours, shifted by the point's smallest distance (float64 throughout)
    shift = np.full(len(points), np.inf)
    np.minimum.at(shift, owner, sq)
    sums = np.zeros(len(points))
    np.add.at(sums, owner, np.exp(-(sq - shift[owner])))
    out[:] = np.log(sums) - shift
    const = -math.log(n) - 0.5 * d * math.log(2 * math.pi * beta ** 2)
    return out + const, float(counts.mean())


def gaussian_mixture_entropy(centers, beta: float, n_mc: int = 100, seed=0, tol: float = 1e-6,
                             max_draws: int | None = None, batch: int = 65536) -> MixtureEntropy:
    """Differential entropy (nats) of the equal-weight mixture of N(c_i, beta^2 I) over the rows of ``centers``,
    by Monte Carlo with every log-density exact to ``tol`` (see the module docstring), and its standard error.

    ``n_mc`` draws per centre (stratified: the between-centre spread does not enter the error); with
    ``max_draws`` < n * n_mc, ``max_draws`` draws from uniformly chosen centres instead."""
    from scipy.spatial import cKDTree

    c = _check(centers, beta, n_mc, tol)
    n, d = c.shape
    if max_draws is not None and not (isinstance(max_draws, int) and max_draws >= 2):
        raise ValueError(f"max_draws must be None or an integer >= 2, got {max_draws!r}")
    rng = np.random.default_rng(seed)
    stratified = max_draws is None or max_draws >= n * n_mc
    own = np.repeat(np.arange(n), n_mc) if stratified else rng.integers(n, size=max_draws)
    tree = cKDTree(c)
    logs = np.empty(len(own))
    neighbours = 0.0
    for start in range(0, len(own), batch):
        idx = own[start:start + batch]
        points = c[idx] + beta * rng.standard_normal((len(idx), d))
        logs[start:start + batch], mean_nb = mixture_log_density(points, c, beta, idx, tol, tree)
        neighbours += mean_nb * len(idx)
    h = -float(logs.mean())
    if stratified:  # variance of the stratified mean: within-centre variances only
        within = logs.reshape(n, n_mc).var(axis=1, ddof=1)
        se = math.sqrt(within.sum() / n_mc) / n
    else:
        se = float(logs.std(ddof=1) / math.sqrt(len(logs)))
    return MixtureEntropy(h, se, n, len(own), tol, neighbours / len(own))


@dataclass(frozen=True)
class SPEstimate:
    """I(X;T) = h(T) - h(T|X) in nats from the sample-propagation estimator, with its parts and standard errors
    (raw values: never clipped)."""

    mi: float
    h_t: float
    h_t_given_x: float
    se: float
    exact_conditional: bool

    def __float__(self) -> float:
        return self.mi


def sp_mutual_information(samples, beta: float, first_layer: bool = False, n_mc: int = 100, seed=0,
                          tol: float = 1e-6, max_draws: int | None = None) -> SPEstimate:
    """The SP estimate of I(X;T_l) for T_l = S_l + N(0, beta^2 I), X uniform over m inputs.

    ``samples``: (m, r, d) pre-noise values S_l of each input under r independent noise draws in layers 1..l-1
    (``uinfo.models.NoisyMLP.presamples``). h(T_l) is the entropy of the pooled mixture of all m * r samples;
    h(T_l | X) the mean over inputs of the entropy of each input's r-sample mixture, except for the first layer,
    where it is exactly h(Z) = (d/2) ln(2 pi e beta^2)."""
    s = np.asarray(samples, dtype=np.float64)
    if s.ndim != 3:
        raise ValueError(f"samples must be (inputs, replicas, features), got shape {s.shape}")
    m, r, d = s.shape
    rng = np.random.default_rng(seed)
    pooled = gaussian_mixture_entropy(s.reshape(m * r, d), beta, n_mc, rng, tol, max_draws)
    if first_layer:
        h_cond, se_cond = gaussian_entropy(d, beta), 0.0
    else:
        parts = [gaussian_mixture_entropy(s[i], beta, n_mc, rng, tol) for i in range(m)]
        h_cond = float(np.mean([p.nats for p in parts]))
        se_cond = math.sqrt(sum(p.se ** 2 for p in parts)) / m
    return SPEstimate(pooled.nats - h_cond, pooled.nats, h_cond, math.hypot(pooled.se, se_cond), first_layer)


def binned_entropy(t, bin_width: float) -> float:
    """H(Bin(T)) in nats: the entropy of the rows of ``t`` (one per input, X uniform) after flooring every
    coordinate to a grid of ``bin_width``."""
    t = np.asarray(t, dtype=np.float64)
    if t.ndim == 1:
        t = t[:, None]
    if not bin_width > 0:
        raise ValueError(f"bin_width must be > 0, got {bin_width}")
    _, counts = np.unique(np.floor(t / bin_width).astype(np.int64), axis=0, return_counts=True)
    p = counts / counts.sum()
    return float(-(p * np.log(p)).sum())
