"""Differential entropy of Gaussian mixtures, for the sample-propagation (SP) estimator of Goldfeld et al. (2019).

h(g) for g = (1/n) sum_i N(c_i, beta^2 I_d), in nats, by Monte Carlo: draw V = c_I + beta Z (I uniform, Z standard
normal) and average -log g(V). Every log g(V) is computed exactly up to ``tol`` nats (default 1e-6) in float64:
only centres within a per-query radius are summed, and the radius is chosen so that the skipped centres provably
carry at most ``tol`` of log-density. In units of the own centre's term (a draw from centre i at squared distance
a from it; s_j = (|V - c_j|^2 - a) / (2 beta^2), so centre i has s = 0 and term exp(-s) = 1):

    outer radius, s = ln(2 n / tol): the centres beyond it, at most n, carry at most tol / 2;
    inner radius, s = ln(2 K / tol) - G, with K the count of centres within the outer radius (a cheap counting
    query): the centres between the two, at most K, carry at most e^G tol / 2.

Only the centres within the inner radius are summed. Their sum S is >= 1 (centre i); wherever S >= e^G (checked
per point, for the whole mixture and every sub-mixture; points that fail are summed again with G = 0) the skipped
share is at most tol / 2 + tol / 2 e^-G <= tol, so log g changes by less than log(1 + tol) < tol. The guess G is a
low quantile of the first slice's log S: on a collapsed layer (4 M centres in 5-D) it sums 3100 centres per draw
instead of the 4800 within the single radius s = ln(n / tol) used before.

Neighbours come from a k-d tree (scipy's cKDTree) over the centres sorted in its own leaf order (``MixtureIndex``:
neighbours sit together in memory), so a query costs its neighbours, not n; where the neighbours are a large share
of all centres (collapsed representations) every centre is summed instead, by float64 matrix products (exact: no
cutoff at all). Draws are stratified over the centres when every centre gets ``n_mc`` draws; with ``max_draws``
fewer, centres are sampled uniformly.

Variance reduction, exact in expectation (a control variate): a draw V = c_I + beta Z has
u = -log phi(beta Z) - h(N(0, beta^2 I)) = (|Z|^2 - d) / 2 with mean exactly 0, so E[-log g(V) - b u] = h(g) for
any b that does not depend on the draw it corrects. b = 1 removes the chi-square spread of |Z|^2 where the centres
are well apart (-log g(V) is then -log phi(beta Z) + ln n); where the centres are dense on the scale of beta the
density is locally flat, b near 0 is right, and b = 1 would add that spread instead. So b is fitted by least
squares, cross-fitted (the even draws' b corrects the odd draws and the other way round) or taken from a pilot
(``target_se``). On the collapsed layer above b is 0.6 and the spread per draw 1.15 nats (1.31 with b = 1, 1.49
without). The Monte Carlo standard error of what is averaged is returned with the estimate.
"""
from __future__ import annotations

import itertools
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


def _log_kernel_norm(d: int, beta: float) -> float:
    """log of the normaliser of the d-dimensional Gaussian kernel N(0, beta^2 I): -(d/2) ln(2 pi beta^2)."""
    return -0.5 * d * math.log(2 * math.pi * beta ** 2)


def gaussian_entropy(d: int, beta: float) -> float:
    """h(N(0, beta^2 I_d)) = (d/2) ln(2 pi e beta^2), in nats."""
    return 0.5 * d * math.log(2 * math.pi * math.e * beta ** 2)


def _as_centers(centers) -> np.ndarray:
    c = np.asarray(centers, dtype=np.float64)
    if c.ndim == 1:
        c = c[:, None]
    if c.ndim != 2 or c.shape[0] < 1:
        raise ValueError(f"centers must be an (n, d) array with n >= 1, got shape {np.shape(centers)}")
    if not np.isfinite(c).all():
        raise ValueError("centers contain NaN or infinite values")
    return c


def _check(centers, beta, n_mc, tol) -> np.ndarray:
    c = centers.centers if isinstance(centers, MixtureIndex) else _as_centers(centers)
    if not beta > 0:
        raise ValueError(f"beta (the noise standard deviation) must be > 0, got {beta}")
    if not (isinstance(n_mc, int) and n_mc >= 2):
        raise ValueError(f"n_mc must be an integer >= 2 (the standard error needs two draws), got {n_mc!r}")
    if not 0 < tol < 1:
        raise ValueError(f"tol must be in (0, 1), got {tol}")
    return c


def _index(centers, c: np.ndarray) -> MixtureIndex | None:
    """The given index, or one built for ``c`` where the k-d tree path can serve (more than 256 centres)."""
    if isinstance(centers, MixtureIndex):
        return centers
    return MixtureIndex(c) if len(c) > 256 else None


DENSE_SHARE = 1 / 8  # above this mean share of centres within the cutoff, summing every centre is cheaper


def _dense_log_sum(points: np.ndarray, centers: np.ndarray, two_b2: float, chunk: int = 2 ** 24,
                   groups: tuple = (), exclude: tuple | None = None):
    """log sum_j exp(-|p - c_j|^2 / (2 beta^2)) over every centre, in float64 (torch's cdist about the centres'
    mean: small norms, so the rounding error of the squared distances is about 1e-15 of them, far below 1e-6 nats
    after dividing by 2 beta^2 for any beta > 1e-4 on bounded activations). ``groups``: pairs of (label index
    0..L-1 of each centre, label index of each point); for each, also the sum over the centres whose label is the
    point's. ``exclude``: a pair (group of each centre, group of each point) whose matching centres are left out of
    every sum (a point's own input, see ``sp_fresh_information``). Returns the total, and the list of grouped sums.

    One exp pass, shifted by each row's largest term, serves all sums. Terms below e^-700 of the largest cannot
    change a float64 sum >= 1: they are clamped there, which spares exp its slow underflow path (4x faster on rows
    that underflow). With groups, a point's own centre is in its group and its term is at least exp(-|Z|^2 / 2) of
    the largest, far from underflow; the group sums are a product with the labels' one-hot matrix (few labels) or
    a scatter-add (many)."""
    import torch

    origin = centers.mean(0)
    c = torch.from_numpy(np.ascontiguousarray(centers - origin))
    p = torch.from_numpy(np.ascontiguousarray(points - origin))
    rows = max(1, chunk // max(1, len(c)))
    prepared = []
    for labels, point_labels in groups:
        index, n_labels = torch.from_numpy(np.asarray(labels, dtype=np.int64)), int(labels.max()) + 1
        one_hot = torch.nn.functional.one_hot(index, n_labels).double() if n_labels <= 64 else None
        prepared.append((index, n_labels, one_hot, torch.from_numpy(np.asarray(point_labels, dtype=np.int64))))
    if exclude is not None:
        centre_group, point_group = (torch.from_numpy(np.asarray(g, dtype=np.int64)) for g in exclude)
    out, grouped = [], [[] for _ in groups]
    for i in range(0, len(p), rows):
        logits = torch.cdist(p[i:i + rows], c).square_().div_(-two_b2)
        if exclude is not None:
            excluded = centre_group[None] == point_group[i:i + rows, None]
            logits.masked_fill_(excluded, -math.inf)
        top = logits.max(dim=1, keepdim=True).values
        e = logits.sub_(top).clamp_(min=-700.0).exp_()
        if exclude is not None:  # the clamp lifted the excluded terms from exp(-inf) = 0 to e^-700
            e.masked_fill_(excluded, 0.0)
        out.append(e.sum(1).log_().add_(top[:, 0]))
        for parts, (index, n_labels, one_hot, point_index) in zip(grouped, prepared):
            sums = e @ one_hot if one_hot is not None else torch.zeros(len(e), n_labels, dtype=e.dtype).index_add_(
                1, index, e)
            parts.append(sums.gather(1, point_index[i:i + rows, None])[:, 0].log_().add_(top[:, 0]))
    return torch.cat(out).numpy(), [torch.cat(parts).numpy() for parts in grouped]


class DenseCentres:
    """Centres prepared for exact dense sums against many batches of points: the sums of ``_dense_log_sum``
    (every centre, float64, no cutoff) streamed over blocks of ``block`` centres that stay in cache, with a running
    maximum per point (each block's terms are rescaled when the maximum rises), and squared distances from one
    matrix product with the centres' squared norms, kept from preparation. One batch of ``sp_fresh_information``
    (64 draws, labels, the own input excluded) against the SZT layer-3 pool of 4096 x 1000 centres in 5-D took
    2.36 s with it against 22.6 s without (``benchmarks/bench_mixture_entropy.py --fresh-batches --threads 1``,
    AMD EPYC; 2.2 s against 34 s on a synthetic 10-D pool); the estimates agreed to 1e-14 nats.

    The squared distances |p|^2 + |c|^2 - 2 p.c about the centres' mean round to about 1e-16 of |p|^2 + |c|^2,
    as torch's cdist does on this path; at beta = 0.005 and squared norms up to 10 that is 2e-10 nats. Used by the
    replica panel's common draws (``uinfo.experiments.szt``), whose 1000-replica reference is summed again for
    every batch; ``sp_fresh_information`` takes it as ``prepared``."""

    def __init__(self, centers, block: int = 2 ** 13):
        import torch

        c = _as_centers(centers)
        self.origin = c.mean(0)
        self.centres = torch.from_numpy(np.ascontiguousarray(c - self.origin))
        self.norms = self.centres.square().sum(1)
        self.block = int(block)

    def __len__(self) -> int:
        return len(self.centres)

    def log_sums(self, points, two_b2: float, groups: tuple = (), exclude: tuple | None = None):
        """As ``_dense_log_sum(points, centers, two_b2, groups=groups, exclude=exclude)``, to rounding."""
        import torch

        p = torch.from_numpy(np.ascontiguousarray(np.asarray(points, dtype=np.float64) - self.origin))
        n, as_tensor = len(p), lambda a: torch.from_numpy(np.asarray(a, dtype=np.int64))  # noqa: E731
        squared = p.square().sum(1, keepdim=True)
        prepared = []
        for labels, point_labels in groups:
            index, n_labels = as_tensor(labels), int(np.max(labels)) + 1
            one_hot = torch.nn.functional.one_hot(index, n_labels).double() if n_labels <= 64 else None
            prepared.append((index, n_labels, one_hot, as_tensor(point_labels)[:, None]))
        if exclude is not None:
            centre_group, point_group = as_tensor(exclude[0]), as_tensor(exclude[1])[:, None]
        top = torch.full((n,), -1e300, dtype=torch.float64)  # running maximum (finite: a block may exclude all)
        total, sums = torch.zeros(n, dtype=torch.float64), [torch.zeros(n, dtype=torch.float64) for _ in groups]
        for j in range(0, len(self), self.block):
            block = slice(j, j + self.block)
            logits = torch.mm(p, self.centres[block].T).mul_(2).sub_(squared).sub_(self.norms[block])
            logits.clamp_(max=0.0).div_(two_b2)
            if exclude is not None:
                excluded = centre_group[block][None] == point_group
                logits.masked_fill_(excluded, -math.inf)
            new = torch.maximum(top, logits.max(dim=1).values)
            scale = torch.exp(top - new)
            e = logits.sub_(new[:, None]).clamp_(min=-700.0).exp_()  # as in _dense_log_sum: e^-700 is below rounding
            if exclude is not None:
                e.masked_fill_(excluded, 0.0)
            total.mul_(scale).add_(e.sum(1))
            for part, (index, n_labels, one_hot, point_index) in zip(sums, prepared):
                per_label = e @ one_hot[block] if one_hot is not None else torch.zeros(
                    n, n_labels, dtype=e.dtype).index_add_(1, index[block], e)
                part.mul_(scale).add_(per_label.gather(1, point_index)[:, 0])
            top = new
        return (total.log() + top).numpy(), [(part.log() + top).numpy() for part in sums]


LEAF_SIZE = 256  # k-d tree leaves: ball queries of thousands of neighbours ran ~1.3x faster than with 16


class MixtureIndex:
    """The centres of a mixture prepared for neighbour queries: sorted in the leaf order of a k-d tree, so that
    neighbours sit together in memory (the neighbour sums gather contiguous rows: 2-3x faster than in the given
    order on 4 M centres), and a k-d tree over the sorted centres. Build it once to evaluate many batches of
    points against the same centres (``mixture_log_density``, ``gaussian_mixture_entropy``)."""

    def __init__(self, centers):
        from scipy.spatial import cKDTree

        self.centers = _as_centers(centers)
        # unbalanced trees build in half the time and query as fast (measured on 4 M centres in 5-D)
        self.order = cKDTree(self.centers, LEAF_SIZE, balanced_tree=False, compact_nodes=False).indices
        self.rank = np.empty(len(self.order), dtype=np.int64)
        self.rank[self.order] = np.arange(len(self.order))
        self.sorted = np.ascontiguousarray(self.centers[self.order])
        self.tree = cKDTree(self.sorted, LEAF_SIZE, balanced_tree=False, compact_nodes=False)


def mixture_log_density(points: np.ndarray, centers, beta: float, own: np.ndarray | None = None,
                        tol: float = 1e-6) -> tuple[np.ndarray, float]:
    """log g at ``points`` (m, d), exact to ``tol`` nats, and the mean number of centres summed per point.
    ``centers``: an (n, d) array, or a ``MixtureIndex`` of one (built once for many calls). ``own[k]``: a centre
    close to point k (its own centre when the point was drawn from one); the nearest centre is looked up when not
    given."""
    c = _check(centers, beta, 2, tol)
    log_g, _, mean_nb = _log_densities(np.asarray(points, dtype=np.float64), c, beta, own, tol,
                                       centers if isinstance(centers, MixtureIndex) else None)
    return log_g, mean_nb


def _log_densities(points: np.ndarray, centers: np.ndarray, beta: float, own: np.ndarray | None = None,
                   tol: float = 1e-6, index: MixtureIndex | None = None,
                   labels: tuple = ()) -> tuple[np.ndarray, list, float]:
    """log g at ``points`` and, for each array of ``labels`` (one label per centre), log g_L: the log-density of
    the sub-mixture of the centres that share the label of the point's own centre ``own`` (required with labels).
    Both are exact to ``tol`` by the two-radius bound of the module docstring: the own centre belongs to the
    sub-mixture, the bound on the skipped mass is in units of its term, and the check that the summed mass reaches
    e^guess is made for every sub-mixture too; so one neighbour list serves all."""
    n, d = centers.shape
    two_b2 = 2 * beta ** 2
    log_norm = _log_kernel_norm(d, beta)
    if labels and own is None:
        raise ValueError("sub-mixture densities need each point's own centre")
    inverse = [np.unique(lab, return_inverse=True)[1].reshape(-1) for lab in labels]
    sizes = [np.bincount(inv)[inv] for inv in inverse]  # per centre: how many centres share its label
    const = -math.log(n) + log_norm

    def dense():
        total, grouped = _dense_log_sum(points, centers, two_b2, groups=tuple((inv, inv[own]) for inv in inverse))
        return total + const, [gs + (log_norm - np.log(size[own])) for gs, size in zip(grouped, sizes)], float(n)

    if n <= 256:  # a handful of centres: sum them all
        return dense()
    index = index or MixtureIndex(centers)
    if own is None:
        a, own_sorted = index.tree.query(points, k=1)
        a = a ** 2
        own = index.order[own_sorted]
    else:
        own_sorted = index.rank[own]
        a = ((points - centers[own]) ** 2).sum(1)
    # Two radii (see the module docstring): the centres beyond the outer one carry at most tol / 2 of the own
    # centre's term; those between the inner and the outer one, at most ``counts`` of them, at most e^guess tol / 2,
    # which is at most tol / 2 of the summed sum wherever that sum (and every sub-mixture's) is >= e^guess times
    # the own term. Points where it is not are summed again with guess 0.
    own_sq = a / two_b2
    counts = index.tree.query_ball_point(points, np.sqrt(a + two_b2 * math.log(2 * n / tol)), return_length=True)
    if counts.mean() > DENSE_SHARE * n:
        return dense()
    reach = np.log(2 * np.maximum(counts, 1) / tol)  # (inner radius^2 - a) / (2 beta^2) at guess 0
    sorted_labels = [inv[index.order] for inv in inverse]

    def sums(part, guess):
        inner = np.sqrt(a[part] + two_b2 * np.maximum(reach[part] - guess, 1.0))
        return _neighbour_sums(points[part], index, inner, own_sorted[part], own_sq[part], sorted_labels, two_b2)

    # slices of at most NEIGHBOUR_BUDGET neighbours in all (the lists' memory: a 4096 x 1000 mixture in a collapsed
    # layer has thousands of neighbours per point); the first slice, at guess 0, sets the guess for the rest
    total, grouped = np.empty(len(points)), [np.empty(len(points)) for _ in labels]
    ends = np.cumsum(counts)
    start, guess, summed = 0, 0.0, 0
    while start < len(points):
        stop = max(start + 1, int(np.searchsorted(ends, ends[start] - counts[start] + NEIGHBOUR_BUDGET, "right")))
        idx = np.arange(start, stop)
        tot, parts, least, used = sums(idx, guess)
        redo = least < guess if guess > 0 else np.zeros(len(idx), dtype=bool)
        if redo.any():
            tot[redo], again, _, used_again = sums(idx[redo], 0.0)
            for piece, more in zip(parts, again):
                piece[redo] = more
            summed += int(used_again.sum())
        total[idx] = tot
        for whole, piece in zip(grouped, parts):
            whole[idx] = piece
        summed += int(used.sum())
        if start == 0:
            guess = min(GUESS_CAP, max(0.0, float(np.quantile(least, GUESS_QUANTILE))))
        start = stop
    return (total + const, [gs + (log_norm - np.log(size[own])) for gs, size in zip(grouped, sizes)],
            summed / len(points))


NEIGHBOUR_BUDGET = 2 ** 22  # neighbour pairs per slice (about 100 bytes each while summed)
GUESS_QUANTILE, GUESS_CAP = 0.1, 8.0  # the guess: this quantile of the first slice's smallest log-sums, capped


def _neighbour_sums(points, index, radius, own, own_sq, labels, two_b2):
    """log sum_j exp(-|p - c_j|^2 / (2 beta^2)) over the centres within ``radius`` of each point, the same over
    those sharing the label of the point's own centre (for each label array; indices into ``index.sorted``), the
    smallest of these sums in units of the own centre's term (log), and the neighbour counts."""
    neighbours = index.tree.query_ball_point(points, radius, return_sorted=False)
    counts = np.fromiter(map(len, neighbours), dtype=np.int64, count=len(points))
    flat = np.fromiter(itertools.chain.from_iterable(neighbours), dtype=np.int64, count=int(counts.sum()))
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])  # each point's neighbours are one run (>= 1: its own)
    diff = np.take(index.sorted, flat, axis=0)
    diff -= np.repeat(points, counts, axis=0)
    sq = np.einsum("ij,ij->i", diff, diff)
    sq /= two_b2
    # shifted by the own centre's term, which is within the radius and becomes exp(0) = 1: a sum is >= 1, and no
    # term exceeds exp(own_sq) (|Z|^2 / 2 for a draw); a point far from the centre named as its own is shifted by
    # its nearest neighbour instead, so that nothing overflows
    shift = own_sq.copy()
    far = shift > 600
    if far.any():
        shift[far] = np.minimum.reduceat(sq, starts)[far]
    terms = np.subtract(np.repeat(shift, counts), sq, out=sq)
    np.exp(terms, out=terms)
    total = np.log(np.add.reduceat(terms, starts)) - shift
    grouped = []
    for lab in labels:
        same = np.where(lab[flat] == np.repeat(lab[own], counts), terms, 0.0)
        grouped.append(np.log(np.add.reduceat(same, starts)) - shift)
    least = np.minimum.reduce([total, *grouped]) + own_sq
    return total, grouped, least, counts


PILOT_DRAWS = 500  # draws that size the run for a target standard error (their spread and control coefficient)


def _draws(index: MixtureIndex | None, c: np.ndarray, beta: float, own: np.ndarray, rng, tol: float, batch: int,
           labels: tuple = ()):
    """Monte Carlo draws V = c_I + beta Z from the mixture for the centres ``own``. Returns (-log g(V), the
    control variate u = -log phi(beta Z) - h(N(0, beta^2 I)) = (|Z|^2 - d) / 2 (mean exactly 0), [log g_L(V) -
    log g(V) per label array] (averaged: the divergence of the label's sub-mixtures, see ``mixture_information``),
    mean neighbours summed)."""
    d = c.shape[1]
    neg_log_g, u = np.empty(len(own)), np.empty(len(own))
    ratios = [np.empty(len(own)) for _ in labels]
    neighbours = 0.0
    for start in range(0, len(own), batch):
        idx = own[start:start + batch]
        z = rng.standard_normal((len(idx), d))
        log_g, log_sub, mean_nb = _log_densities(c[idx] + beta * z, c, beta, idx, tol, index, labels)
        neg_log_g[start:start + batch] = -log_g
        u[start:start + batch] = 0.5 * ((z ** 2).sum(1) - d)
        for ratio, sub in zip(ratios, log_sub):
            ratio[start:start + batch] = sub - log_g
        neighbours += mean_nb * len(idx)
    return neg_log_g, u, ratios, neighbours / len(own)


def _control_coefficient(y: np.ndarray, u: np.ndarray) -> float:
    """The least-squares coefficient of y on u (1 where it cannot be estimated: the own-centre control variate)."""
    if len(y) < 2:
        return 1.0
    du = u - u.mean()
    var = float(du @ du)
    return float(du @ (y - y.mean())) / var if var > 0 else 1.0


def _controlled(y: np.ndarray, u: np.ndarray, coefficient: float | None = None) -> np.ndarray:
    """Per-draw values y - b u, whose mean estimates E[y] without bias since E[u] = 0 exactly. The control variate u
    removes the spread of |Z|^2 from -log g(V) where the centres are well apart (b = 1: the noise's own Gaussian
    is the density) and adds it where the centres are dense on the scale of beta (b near 0: the density is locally
    flat), so b is estimated. Cross-fitted unless given: the even draws' b is used on the odd draws and the other
    way round, so b never depends on the draws it corrects, and the mean stays unbiased."""
    if coefficient is not None:
        return y - coefficient * u
    out = np.empty_like(y)
    even, odd = slice(0, None, 2), slice(1, None, 2)
    out[even] = y[even] - _control_coefficient(y[odd], u[odd]) * u[even]
    out[odd] = y[odd] - _control_coefficient(y[even], u[even]) * u[odd]
    return out


def _own_centres(n: int, n_mc: int, max_draws: int | None, rng) -> tuple[np.ndarray, bool]:
    """The centres to draw from: stratified (``n_mc`` per centre) or, with ``max_draws`` fewer, uniformly chosen."""
    if max_draws is not None and not (isinstance(max_draws, int) and max_draws >= 2):
        raise ValueError(f"max_draws must be None or an integer >= 2, got {max_draws!r}")
    stratified = max_draws is None or max_draws >= n * n_mc
    return (np.repeat(np.arange(n), n_mc) if stratified else rng.integers(n, size=max_draws)), stratified


def _mean_se(values: np.ndarray, stratified: bool, n: int, n_mc: int) -> tuple[float, float]:
    """The mean of per-draw values and its standard error (stratified: the within-centre variances only)."""
    if stratified:
        within = values.reshape(n, n_mc).var(axis=1, ddof=1)
        return float(values.mean()), math.sqrt(within.sum() / n_mc) / n
    return float(values.mean()), float(values.std(ddof=1) / math.sqrt(len(values)))


def gaussian_mixture_entropy(centers, beta: float, n_mc: int = 100, seed=0, tol: float = 1e-6,
                             max_draws: int | None = None, batch: int = 65536,
                             target_se: float | None = None) -> MixtureEntropy:
    """Differential entropy (nats) of the equal-weight mixture of N(c_i, beta^2 I) over the rows of ``centers`` (an
    (n, d) array or a ``MixtureIndex``), by Monte Carlo with every log-density exact to ``tol`` (see the module
    docstring), and its standard error.

    ``n_mc`` draws per centre (stratified: the between-centre spread does not enter the error); with
    ``max_draws`` < n * n_mc, ``max_draws`` draws from uniformly chosen centres instead. ``target_se`` (instead of
    ``max_draws``): a pilot of PILOT_DRAWS draws measures the per-draw spread and the control coefficient, then
    as many fresh draws as that spread needs for the target error (the pilot's draws are not in the estimate, so
    neither the coefficient nor the count depends on the draws averaged; ``n_draws`` counts the fresh ones)."""
    c = _check(centers, beta, n_mc, tol)
    if target_se is not None and (max_draws is not None or not target_se > 0):
        raise ValueError(f"target_se must be > 0 and comes instead of max_draws, got target_se={target_se!r}, "
                         f"max_draws={max_draws!r}")
    rng = np.random.default_rng(seed)
    index = _index(centers, c)
    coefficient = None
    if target_se is not None:
        y, u, _, _ = _draws(index, c, beta, rng.integers(len(c), size=PILOT_DRAWS), rng, tol, batch)
        coefficient = _control_coefficient(y, u)
        spread = float(_controlled(y, u, coefficient).std(ddof=1))
        max_draws = max(2, int(math.ceil((spread / target_se) ** 2)))
    own, stratified = _own_centres(len(c), n_mc, max_draws, rng)
    y, u, _, neighbours = _draws(index, c, beta, own, rng, tol, batch)
    mean, se = _mean_se(_controlled(y, u, coefficient), stratified, len(c), n_mc)
    return MixtureEntropy(mean, se, len(c), len(y), tol, neighbours)


@dataclass(frozen=True)
class MixtureInformation:
    """I(L; T) in nats for T drawn from a Gaussian mixture whose centres carry a label L, its Monte Carlo standard
    error, and its ceiling H(L) (the entropy of the labels' shares of the centres)."""

    nats: float
    se: float
    ceiling: float

    def __float__(self) -> float:
        return self.nats


def mixture_information(centers, beta: float, labels, n_mc: int = 100, seed=0, tol: float = 1e-6,
                        max_draws: int | None = None, batch: int = 65536) -> tuple[MixtureEntropy, list]:
    """h(T) and, for each array in ``labels`` (one label per centre), I(L; T) = h(T) - sum_l w_l h(T | L = l) for
    T = c_I + N(0, beta^2 I), I uniform over the centres and L its label (w_l the label's share of the centres).

    Estimated directly, with the same draws for every term: I(L; T) = E[log g_L(V) - log g(V)] with V drawn from
    the whole mixture and g_L the sub-mixture of V's own label (a Jensen-Shannon divergence of the sub-mixtures).
    Since g(V) >= w_L g_L(V), every draw's term is at most -log w_L, so the estimate never exceeds H(L): ln m for
    m equiprobable inputs, H(Y) for the labels. (With draws from uniformly chosen centres and unequal shares the
    labels' means are weighted by their shares, post-stratified, which keeps this exact; only a label drawn fewer
    than twice falls back to the plain mean, which can pass H(L) by its Monte Carlo error.) Estimating h(T) and h(T | L) apart, with independent draws, can
    exceed it by its Monte Carlo error, and has a larger error. Returns (h(T) as ``gaussian_mixture_entropy`` does,
    a ``MixtureInformation`` per label array)."""
    c = _check(centers, beta, n_mc, tol)
    labels = tuple(np.asarray(lab) for lab in labels)
    for lab in labels:
        if lab.shape != (len(c),):
            raise ValueError(f"labels must hold one label per centre ({len(c)}), got shape {lab.shape}")
    rng = np.random.default_rng(seed)
    own, stratified = _own_centres(len(c), n_mc, max_draws, rng)
    y, u, ratios, neighbours = _draws(_index(centers, c), c, beta, own, rng, tol, batch, labels)
    h = MixtureEntropy(*_mean_se(_controlled(y, u), stratified, len(c), n_mc), len(c), len(y), tol, neighbours)
    infos = []
    for lab, ratio in zip(labels, ratios):
        values, inverse = np.unique(lab, return_inverse=True)
        share = np.bincount(inverse) / len(lab)
        ceiling = float(-(share * np.log(share)).sum())
        if stratified:  # draws in exact proportion to the shares
            infos.append(MixtureInformation(*_mean_se(ratio, stratified, len(c), n_mc), ceiling))
        else:
            infos.append(MixtureInformation(*_label_mean(ratio, inverse[own], share), ceiling))
    return h, infos


def _label_mean(ratio: np.ndarray, drawn_labels: np.ndarray, share: np.ndarray) -> tuple[float, float]:
    """The mean (and standard error) of per-draw divergence terms ``ratio`` from draws of uniformly chosen centres
    whose labels are ``drawn_labels`` (indices into ``share``, the labels' shares of the centres). With equal shares
    every term is <= ln(#labels) and the plain mean keeps that bound; with unequal shares the labels' means are
    weighted by their shares (post-stratified: a label's terms are <= -log w_l, so the estimate is <= H(L) whatever
    the draws' proportions). A label drawn fewer than twice falls back to the plain mean."""
    drawn = np.bincount(drawn_labels, minlength=len(share))
    if np.ptp(share) == 0 or drawn.min() < 2:
        return float(ratio.mean()), float(ratio.std(ddof=1) / math.sqrt(len(ratio)))
    means = np.bincount(drawn_labels, ratio) / drawn
    variances = np.array([ratio[drawn_labels == g].var(ddof=1) for g in range(len(share))])
    return float(share @ means), float(np.sqrt((share ** 2 * variances / drawn).sum()))


@dataclass(frozen=True)
class SPEstimate:
    """I(X;T) = h(T) - h(T|X) in nats from the sample-propagation estimator, with its parts and the standard error
    of I (raw values: never clipped; bounded by construction, see ``mixture_information``). With labels, also
    I(T;Y) = h(T) - sum_y p(y) h(T|Y=y)."""

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
                          tol: float = 1e-6, max_draws: int | None = None, labels=None) -> SPEstimate:
    """The SP estimate of I(X;T_l) for T_l = S_l + N(0, beta^2 I), X uniform over m inputs.

    ``samples``: (m, r, d) pre-noise values S_l of each input under r independent noise draws in layers 1..l-1
    (``uinfo.models.NoisyMLP.presamples``). T_l is the pooled mixture of all m * r samples, T_l | X = x the
    mixture of x's r samples; I(X;T_l) is estimated directly (``mixture_information``, ``n_mc`` draws per centre
    or ``max_draws`` in all), so it lies in [0, ln m] up to its Monte Carlo error below 0, and never above ln m.
    h(T_l) comes from the same draws, and h(T_l | X) = h(T_l) - I(X;T_l). In the first layer S_1 is a function of
    x, every draw's term equals that of h(T_l) - h(Z), and h(T_l | X) is exactly h(Z) = (d/2) ln(2 pi e beta^2).
    ``labels`` (m,): also I(T_l;Y) (at most H(Y)) and h(T_l | Y), from the same draws."""
    s = np.asarray(samples, dtype=np.float64)
    if s.ndim != 3:
        raise ValueError(f"samples must be (inputs, replicas, features), got shape {s.shape}")
    m, r, d = s.shape
    groups = [np.repeat(np.arange(m), r)]
    if labels is not None:
        labels = np.asarray(labels)
        if labels.shape != (m,):
            raise ValueError(f"labels must hold one label per input ({m}), got shape {labels.shape}")
        groups.append(np.repeat(labels, r))
    h_t, infos = mixture_information(s.reshape(m * r, d), beta, groups, n_mc, seed, tol, max_draws)
    i_x = infos[0]
    h_cond = gaussian_entropy(d, beta) if first_layer else h_t.nats - i_x.nats
    extra = {}
    if labels is not None:
        i_y = infos[1]
        extra = dict(mi_y=i_y.nats, h_t_given_y=h_t.nats - i_y.nats, se_y=i_y.se)
    return SPEstimate(i_x.nats, h_t.nats, h_cond, i_x.se, first_layer, **extra)


def sp_fresh_information(pool, own, inputs, beta: float, first_layer: bool = False, labels=None, seed=0,
                         chunk: int = 2 ** 22, prepared: DenseCentres | None = None) -> SPEstimate:
    """The SP estimate of I(X;T) (and of I(T;Y) with ``labels``) with the drawn inputs' own conditionals from many
    fresh noise replicas, the rest of the mixture from few.

    The plain estimate (``sp_mutual_information`` with r replicas) evaluates log p(V | x) at a draw V from one of
    x's r samples with a mixture of those same r samples: the draw's own sample dominates while r is below the
    number of noise-width cells that x's pre-noise spread covers, so h(T | X) is biased low and I(X;T) high (0.9
    nats in layer 5 of the linear SZT net at r = 8, against its exact value). The bias is in the own input's term
    only: the other inputs' samples are independent of V, so their mixture is an unbiased estimate of their
    density, and its logarithm is nearly so when many samples contribute. Here:

    - ``inputs`` (n,): the drawn inputs, uniform over the m inputs; ``own`` (u, r_own, d): r_own fresh pre-noise
      samples of each distinct drawn input (``np.unique(inputs)`` order), r_own large;
    - ``pool`` (m, r, d): r pre-noise samples of every input, for the other inputs' share of the mixture;
    - each draw is V = one of its input's own samples + N(0, beta^2 I); p(V | x) is the mixture of x's own samples,
      p(V) = (1/m) [p(V | x) + sum over the other inputs of their pool mixtures], p(V | y) likewise over y's inputs;
    - I(X;T) = E[log p(V | x) - log p(V)] (every term <= ln m), I(T;Y) = E[log p(V | y) - log p(V)] (the labels'
      means weighted by their shares, every term <= -log p(y): at most H(Y)), h(T) with the control variate of
      ``gaussian_mixture_entropy``.

    Every sum is over every centre in float64 (no cutoff, so exact up to rounding): n x m x r distances. With
    r_own = r it equals the plain estimate in distribution; as r_own grows the own term converges, and
    ``uinfo.report.goldfeld.replica_convergence`` shows the pool's r that suffices. Raw values, never clipped.

    ``prepared``: ``DenseCentres(pool.reshape(-1, d))``, built once to sum the same pool for many batches of
    draws (the same sums to rounding, streamed; ``chunk`` then plays no part)."""
    import torch

    p = np.asarray(pool, dtype=np.float64) if prepared is None else np.asarray(pool)  # prepared: shape only
    o = np.asarray(own, dtype=np.float64)
    inputs = np.asarray(inputs)
    if p.ndim != 3 or o.ndim != 3 or p.shape[2] != o.shape[2]:
        raise ValueError(f"pool (inputs, replicas, features) and own (drawn inputs, replicas, features) must share "
                         f"their features, got shapes {p.shape} and {o.shape}")
    m, r, d = p.shape
    drawn, slot = np.unique(inputs, return_inverse=True)
    if inputs.ndim != 1 or len(inputs) < 2 or drawn.min() < 0 or drawn.max() >= m or len(drawn) != len(o):
        raise ValueError(f"inputs must list at least two draws of inputs 0..{m - 1}, and own must hold one row per "
                         f"distinct drawn input ({len(drawn)}), got {len(o)}")
    if not beta > 0:
        raise ValueError(f"beta (the noise standard deviation) must be > 0, got {beta}")
    rng = np.random.default_rng(seed)
    n, r_own, two_b2 = len(inputs), o.shape[1], 2 * beta ** 2
    z = rng.standard_normal((n, d))
    v = o[slot, rng.integers(r_own, size=n)] + beta * z
    groups = ()
    if labels is not None:
        labels = np.asarray(labels)
        if labels.shape != (m,):
            raise ValueError(f"labels must hold one label per input ({m}), got shape {labels.shape}")
        label_index = np.unique(labels, return_inverse=True)[1].reshape(-1)
        groups = ((np.repeat(label_index, r), label_index[inputs]),)
    # per draw, the log of the own input's summed kernels (its fresh samples) and of the other inputs' (their pool
    # samples: all, and the draw's label's)
    exclude = (np.repeat(np.arange(m), r), inputs)
    if prepared is None:
        others, others_y = _dense_log_sum(v, p.reshape(-1, d), two_b2, chunk, groups, exclude=exclude)
    else:
        if len(prepared) != m * r or prepared.centres.shape[1] != d:
            raise ValueError(f"prepared must hold the pool's {m * r} centres in {d}-D, got "
                             f"{tuple(prepared.centres.shape)}")
        others, others_y = prepared.log_sums(v, two_b2, groups, exclude=exclude)
    origin = v.mean(0)
    points, own_samples = torch.from_numpy(v - origin), torch.from_numpy(o - origin)
    rows = max(1, chunk // r_own)
    own_sums = [torch.logsumexp(torch.cdist(points[i:i + rows, None], own_samples[torch.from_numpy(
        slot[i:i + rows])])[:, 0].square_().div_(-two_b2), dim=1) for i in range(0, n, rows)]
    own_term = torch.cat(own_sums).numpy() - math.log(r_own)
    log_mix = np.logaddexp(own_term, others - math.log(r)) - math.log(m)   # log p(V), less the kernel's normaliser
    i_terms = own_term - log_mix
    log_norm = _log_kernel_norm(d, beta)
    h_t = float(_controlled(-(log_mix + log_norm), 0.5 * ((z ** 2).sum(1) - d)).mean())
    mi, se = float(i_terms.mean()), float(i_terms.std(ddof=1) / math.sqrt(n))
    h_cond = gaussian_entropy(d, beta) if first_layer else h_t - mi
    extra = {}
    if labels is not None:
        share = np.bincount(label_index) / m
        drawn_labels = label_index[inputs]
        log_class = np.logaddexp(own_term, others_y[0] - math.log(r)) - np.log(share[drawn_labels] * m)
        mi_y, se_y = _label_mean(log_class - log_mix, drawn_labels, share)
        extra = dict(mi_y=mi_y, h_t_given_y=h_t - mi_y, se_y=se_y)
    return SPEstimate(mi, h_t, h_cond, se, first_layer, **extra)


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
