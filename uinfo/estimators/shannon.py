"""Differential entropy of Gaussian mixtures, for the sample-propagation (SP) estimator of Goldfeld et al. (2019).

h(g) for g = (1/n) sum_i N(c_i, beta^2 I_d), in nats, by Monte Carlo: draw V = c_I + beta Z (I uniform, Z standard
normal) and average -log g(V). Every log g(V) is computed exactly up to ``tol`` nats (default 1e-6) in float64:
only centres within a per-query radius are summed, and the radius is chosen so that the skipped centres provably
carry at most ``tol`` of log-density:

    for a draw from centre i at squared distance a from it, the centres at squared distance > a + 2 beta^2 L,
    L = ln(n / tol), together contribute at most n exp(-(a + 2 beta^2 L) / (2 beta^2)) = tol * exp(-a / (2 beta^2))
    to the mixture sum, which holds at least exp(-a / (2 beta^2)) (centre i itself); so dropping them changes
    log g by at most log(1 + tol) < tol.

Neighbours come from a k-d tree (scipy's cKDTree), so a query costs its neighbours, not n; where the neighbours
are a large share of all centres (collapsed representations) every centre is summed instead, by float64 matrix
products (exact: no cutoff at all). Draws are stratified over the centres when every centre gets ``n_mc`` draws;
with ``max_draws`` fewer, centres are sampled uniformly.

Variance reduction, exact in expectation (a control variate): a draw V = c_I + beta Z has
-log g(V) = -log phi(beta Z) - log[g(V) / phi(beta Z)], and E[-log phi(beta Z)] = h(N(0, beta^2 I)) is known, so

    h(g) = (d/2) ln(2 pi e beta^2) + E[ -log( (1/n) sum_j exp(-(|V - c_j|^2 - |V - c_I|^2) / (2 beta^2)) ) ].

The second term no longer carries the chi-square spread of |Z|^2 (d/2 nats^2 of variance per draw); it is about
ln n for well separated centres and varies only where centres overlap, which is where draws are spent. The Monte
Carlo standard error of what is averaged is returned with the estimate.
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


DENSE_SHARE = 1 / 8  # above this mean share of centres within the cutoff, summing every centre is cheaper


def _dense_log_sum(points: np.ndarray, centers: np.ndarray, two_b2: float, chunk: int = 2 ** 24) -> np.ndarray:
    """log sum_j exp(-|p - c_j|^2 / (2 beta^2)) over every centre, in float64 (torch's cdist and logsumexp, about
    the centres' mean: small norms, so the rounding error of the squared distances is about 1e-15 of them, far
    below 1e-6 nats after dividing by 2 beta^2 for any beta > 1e-4 on bounded activations)."""
    import torch

    origin = centers.mean(0)
    c = torch.from_numpy(np.ascontiguousarray(centers - origin))
    p = torch.from_numpy(np.ascontiguousarray(points - origin))
    rows = max(1, chunk // max(1, len(c)))
    out = [torch.logsumexp(torch.cdist(p[i:i + rows], c).square_().div_(-two_b2), dim=1)
           for i in range(0, len(p), rows)]
    return torch.cat(out).numpy()


def mixture_log_density(points: np.ndarray, centers: np.ndarray, beta: float, own: np.ndarray | None = None,
                        tol: float = 1e-6, tree=None) -> tuple[np.ndarray, float]:
    """log g at ``points`` (m, d), exact to ``tol`` nats, and the mean number of centres summed per point.
    ``own[k]``: a centre close to point k (its own centre when the point was drawn from one); the nearest centre is
    looked up when not given."""
    from scipy.spatial import cKDTree

    n, d = centers.shape
    two_b2 = 2 * beta ** 2
    const = -math.log(n) - 0.5 * d * math.log(2 * math.pi * beta ** 2)
    if n <= 256:  # a handful of centres: sum them all
        return _dense_log_sum(points, centers, two_b2) + const, float(n)
    tree = tree or cKDTree(centers)
    if own is None:
        a, own = tree.query(points, k=1)
        a = a ** 2
    else:
        a = ((points - centers[own]) ** 2).sum(1)
    radius = np.sqrt(a + two_b2 * math.log(n / tol))
    counts = tree.query_ball_point(points, radius, return_length=True)
    if counts.mean() > DENSE_SHARE * n:
        return _dense_log_sum(points, centers, two_b2) + const, float(n)
    neighbours = tree.query_ball_point(points, radius, return_sorted=False)
    flat = np.concatenate([np.asarray(nb, dtype=np.int64) for nb in neighbours])
    owner = np.repeat(np.arange(len(points)), counts)
    sq = ((points[owner] - centers[flat]) ** 2).sum(1) / two_b2
    # log-sum-exp per point over its neighbours, shifted by the point's smallest distance (float64 throughout)
    shift = np.full(len(points), np.inf)
    np.minimum.at(shift, owner, sq)
    sums = np.zeros(len(points))
    np.add.at(sums, owner, np.exp(-(sq - shift[owner])))
    return np.log(sums) - shift + const, float(counts.mean())


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
    tree = cKDTree(c) if n > 256 else None
    excess = np.empty(len(own))  # log phi(beta Z) - log g(V): averaged, it is h(g) - h(Z)
    neighbours = 0.0
    log_phi0 = -0.5 * d * math.log(2 * math.pi * beta ** 2)
    for start in range(0, len(own), batch):
        idx = own[start:start + batch]
        z = rng.standard_normal((len(idx), d))
        log_g, mean_nb = mixture_log_density(c[idx] + beta * z, c, beta, idx, tol, tree)
        excess[start:start + batch] = log_phi0 - 0.5 * (z ** 2).sum(1) - log_g
        neighbours += mean_nb * len(idx)
    h = gaussian_entropy(d, beta) + float(excess.mean())
    if stratified:  # variance of the stratified mean: within-centre variances only
        within = excess.reshape(n, n_mc).var(axis=1, ddof=1)
        se = math.sqrt(within.sum() / n_mc) / n
    else:
        se = float(excess.std(ddof=1) / math.sqrt(len(excess)))
    return MixtureEntropy(h, se, n, len(own), tol, neighbours / len(own))


def conditional_entropies(samples, beta: float, n_mc: int = 4, seed=0) -> tuple[np.ndarray, np.ndarray]:
    """h of each input's own mixture: ``samples`` (m, r, d) gives m mixtures of r centres each; returns (m,)
    entropies and (m,) standard errors in nats. Every centre of a mixture is summed (no cutoff: exact), all
    mixtures at once; same estimator as ``gaussian_mixture_entropy`` (stratified, control variate)."""
    s = np.asarray(samples, dtype=np.float64)
    m, r, d = s.shape
    _check(s[0], beta, n_mc, 0.5)
    rng = np.random.default_rng(seed)
    two_b2 = 2 * beta ** 2
    h, se = np.empty(m), np.empty(m)
    rows = max(1, 2 ** 22 // (r * r * n_mc * d))
    own = np.repeat(np.arange(r), n_mc)
    for start in range(0, m, rows):
        c = s[start:start + rows]                                        # (k, r, d)
        z = rng.standard_normal((len(c), r * n_mc, d))
        v = c[:, own] + beta * z                                         # (k, r n_mc, d)
        sq = ((v[:, :, None, :] - c[:, None, :, :]) ** 2).sum(-1) / two_b2  # (k, r n_mc, r)
        rel = sq - 0.5 * (z ** 2).sum(-1)[..., None]                     # minus the own centre's term
        shift = rel.min(-1)
        excess = math.log(r) - (np.log(np.exp(-(rel - shift[..., None])).sum(-1)) - shift)
        h[start:start + rows] = gaussian_entropy(d, beta) + excess.mean(1)
        within = excess.reshape(len(c), r, n_mc).var(axis=2, ddof=1)
        se[start:start + rows] = np.sqrt(within.sum(1) / n_mc) / r
    return h, se


@dataclass(frozen=True)
class SPEstimate:
    """I(X;T) = h(T) - h(T|X) in nats from the sample-propagation estimator, with its parts and standard errors
    (raw values: never clipped). With labels, also I(T;Y) = h(T) - sum_y p(y) h(T|Y=y)."""

    mi: float
    h_t: float
    h_t_given_x: float
    se: float
    exact_conditional: bool
    mi_y: float | None = None
    h_t_given_y: float | None = None
    se_y: float | None = None

    def __float__(self) -> float:
        return self.mi


def sp_mutual_information(samples, beta: float, first_layer: bool = False, n_mc: int = 100, seed=0,
                          tol: float = 1e-6, max_draws: int | None = None, labels=None,
                          n_mc_conditional: int | None = None) -> SPEstimate:
    """The SP estimate of I(X;T_l) for T_l = S_l + N(0, beta^2 I), X uniform over m inputs.

    ``samples``: (m, r, d) pre-noise values S_l of each input under r independent noise draws in layers 1..l-1
    (``uinfo.models.NoisyMLP.presamples``). h(T_l) is the entropy of the pooled mixture of all m * r samples
    (``n_mc`` draws per centre, or ``max_draws`` in all); h(T_l | X) the mean over inputs of the entropy of each
    input's r-sample mixture (``n_mc_conditional`` draws per centre, default ``n_mc``), except for the first layer,
    where it is exactly h(Z) = (d/2) ln(2 pi e beta^2). ``labels`` (m,): also I(T_l;Y) with one pooled mixture
    per class (same draws rule as h(T_l))."""
    s = np.asarray(samples, dtype=np.float64)
    if s.ndim != 3:
        raise ValueError(f"samples must be (inputs, replicas, features), got shape {s.shape}")
    m, r, d = s.shape
    rng = np.random.default_rng(seed)
    pooled = gaussian_mixture_entropy(s.reshape(m * r, d), beta, n_mc, rng, tol, max_draws)
    if first_layer:
        h_cond, se_cond = gaussian_entropy(d, beta), 0.0
    else:
        n_cond = n_mc_conditional or n_mc
        if r <= 256:
            hs, ses = conditional_entropies(s, beta, n_cond, rng)
        else:
            parts = [gaussian_mixture_entropy(s[i], beta, n_cond, rng, tol) for i in range(m)]
            hs, ses = np.array([p.nats for p in parts]), np.array([p.se for p in parts])
        h_cond, se_cond = float(hs.mean()), float(np.sqrt((ses ** 2).sum()) / m)
    extra = {}
    if labels is not None:
        labels = np.asarray(labels)
        if labels.shape != (m,):
            raise ValueError(f"labels must hold one label per input ({m}), got shape {labels.shape}")
        classes, counts = np.unique(labels, return_counts=True)
        share = counts / m
        parts = [gaussian_mixture_entropy(s[labels == y].reshape(-1, d), beta, n_mc, rng, tol,
                                          None if max_draws is None else max(2, int(max_draws * w)))
                 for y, w in zip(classes, share)]
        h_y = float(sum(w * p.nats for w, p in zip(share, parts)))
        se_y = math.sqrt(pooled.se ** 2 + sum((w * p.se) ** 2 for w, p in zip(share, parts)))
        extra = dict(mi_y=pooled.nats - h_y, h_t_given_y=h_y, se_y=se_y)
    return SPEstimate(pooled.nats - h_cond, pooled.nats, h_cond, math.hypot(pooled.se, se_cond), first_layer,
                      **extra)


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
