"""Usable information I_u(Z;Y) = H(Y) - held-out cross-entropy of a trained decoder, in bits.

Kleinman et al. (2021) define usable information with a decoder q(y|z) trained to read Y from Z and its
cross-entropy measured on held-out data. Here the decoder is fitted on one set of (z, y) pairs and evaluated on
another; `cross_fitted_usable_information` splits one held-out set in two, fits on each half, evaluates on the
other and averages. Many representations are fitted together in one call (`usable_information_batch`), which is
what the measuring callbacks use at every checkpoint.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F

LN2 = math.log(2.0)
DECODERS = ("linear", "mlp")


@dataclass(frozen=True)
class UsableInformation:
    """The result of one usable-information estimate. ``float(result)`` is I_u in bits.

    bits: I_u = entropy_bits - cross_entropy_bits (not clipped at 0).
    entropy_bits: H(Y), the empirical entropy of the evaluation labels, in bits.
    cross_entropy_bits: the decoder's mean cross-entropy on the evaluation set, in bits.
    log2_classes: log2 K, the entropy of K balanced classes (for reference).
    accuracy: the decoder's accuracy on the evaluation set.
    """

    bits: float
    entropy_bits: float
    cross_entropy_bits: float
    log2_classes: float
    accuracy: float
    decoder: str
    n_fit: int
    n_eval: int

    def __float__(self) -> float:
        return float(self.bits)

    def as_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}


# ----------------------------------------------------------------------------------------------------------------
# input validation


def _as_features(z, name: str) -> torch.Tensor:
    if isinstance(z, torch.Tensor):
        z = z.detach().cpu()
    else:
        z = torch.as_tensor(np.asarray(z))
    if z.dtype == torch.bool or not (z.is_floating_point() or z.dtype in (torch.int32, torch.int64, torch.uint8)):
        raise TypeError(f"{name} must hold numbers, got dtype {z.dtype}")
    if z.ndim == 1:
        z = z[:, None]
    if z.ndim != 2:
        raise ValueError(f"{name} must be 2-D (n_samples, n_features), got shape {tuple(z.shape)}")
    if z.shape[0] < 2:
        raise ValueError(f"{name} needs at least 2 samples, got {z.shape[0]}")
    z = z.to(torch.float64)
    if not torch.isfinite(z).all():
        bad = int((~torch.isfinite(z)).any(dim=1).sum())
        raise ValueError(f"{name} contains NaN or infinite values in {bad} of {z.shape[0]} rows")
    return z


def _as_labels(y, n: int, name: str) -> torch.Tensor:
    if isinstance(y, torch.Tensor):
        y = y.detach().cpu()
    else:
        y = torch.as_tensor(np.asarray(y))
    if y.ndim != 1:
        raise ValueError(f"{name} must be 1-D (n_samples,), got shape {tuple(y.shape)}")
    if y.shape[0] != n:
        raise ValueError(f"{name} has {y.shape[0]} labels but the features have {n} rows")
    if y.is_floating_point():
        if not torch.isfinite(y).all() or not torch.equal(y, y.round()):
            raise ValueError(f"{name} must hold integer class indices, got non-integer values")
    elif y.dtype == torch.bool:
        pass
    y = y.to(torch.int64)
    if (y < 0).any():
        raise ValueError(f"{name} must hold class indices >= 0, got minimum {int(y.min())}")
    return y


def _validate_problem(z_train, y_train, z_test, y_test, n_classes):
    zt = _as_features(z_train, "z_train")
    ze = _as_features(z_test, "z_test")
    if zt.shape[1] != ze.shape[1]:
        raise ValueError(f"z_train has {zt.shape[1]} features but z_test has {ze.shape[1]}")
    yt = _as_labels(y_train, zt.shape[0], "y_train")
    ye = _as_labels(y_test, ze.shape[0], "y_test")
    k_seen = int(max(yt.max(), ye.max())) + 1
    if n_classes is None:
        n_classes = max(k_seen, 2)
    elif int(n_classes) < 2:
        raise ValueError(f"n_classes must be at least 2, got {n_classes}")
    elif k_seen > n_classes:
        raise ValueError(f"labels go up to {k_seen - 1} but n_classes={n_classes}")
    return zt, yt, ze, ye, int(n_classes)


def entropy_bits(y, n_classes: int | None = None) -> float:
    """Empirical entropy of integer labels, in bits."""
    y = torch.as_tensor(np.asarray(y) if not isinstance(y, torch.Tensor) else y).to(torch.int64)
    counts = torch.bincount(y, minlength=n_classes or 0).to(torch.float64)
    p = counts[counts > 0] / counts.sum()
    return float(-(p * torch.log2(p)).sum())


# ----------------------------------------------------------------------------------------------------------------
# decoders, fitted for a stack of R problems of identical shapes at once


def _moments(zt: torch.Tensor):
    """The fitting set's per-feature mean and scale (R, 1, d); constant features keep scale 1."""
    mu = zt.mean(dim=1, keepdim=True)
    sd = zt.std(dim=1, keepdim=True)
    return mu, torch.where(sd > 1e-8 * (1 + mu.abs()), sd, torch.ones_like(sd))


def _standardize(zt: torch.Tensor, ze: torch.Tensor):
    """Standardize both sets with the fitting set's statistics (R, n, d); constant features are left unscaled."""
    mu, sd = _moments(zt)
    return (zt - mu) / sd, (ze - mu) / sd


def _standardized_with_ones(zt: torch.Tensor, ze: torch.Tensor, dtype):
    """Each set standardized (``_standardize``), cast to ``dtype`` and given a trailing column of ones (the bias),
    value for value as those three steps would give it, written straight into one tensor per set:
    a problem at a time through a reused buffer, instead of four stack-sized temporaries per set (each a fresh
    mapping of hundreds of MB whose page faults cost more than the arithmetic on these machines)."""
    mu, sd = _moments(zt)
    out = []
    for z in (zt, ze):
        ones = torch.empty(*z.shape[:-1], z.shape[-1] + 1, dtype=dtype)
        ones[..., -1] = 1
        buffer = torch.empty(z.shape[1:], dtype=z.dtype)
        for k in range(len(z)):
            torch.sub(z[k], mu[k], out=buffer)
            ones[k, :, :-1].copy_(buffer.div_(sd[k]))
        out.append(ones)
    return out


L2_PATH = (0.1, 0.03, 0.01, 0.003, 0.001)  # tried from strong to weak by l2="auto"
PATH_TOL_FACTOR = 10  # the path fits only rank penalties: a looser tolerance than the final fit


def _softmax_loss_grad(z1, labels, theta, l2):
    """Mean cross-entropy + (l2/2)||W||^2 and its gradient, for R stacked problems.

    z1: (R, n, d+1) features with a trailing column of ones; labels: (R, n, 1) class indices (int64); theta:
    (R, d+1, K); l2: (R,). Returns loss (R,) and the gradient shaped like theta. The labels enter by index
    (gather / scatter), not as a one-hot matrix: two fewer passes over the (R, n, K) logits.
    """
    n = z1.shape[1]
    logp = torch.log_softmax(torch.bmm(z1, theta), dim=-1)
    loss = -logp.gather(-1, labels).squeeze(-1).mean(1)
    residual = logp.exp_().scatter_add_(-1, labels, torch.full(labels.shape, -1.0, dtype=logp.dtype))
    grad = torch.bmm(residual.transpose(1, 2), z1).transpose(1, 2) / n  # this order avoids copying z1
    w = theta[:, :-1]
    loss = loss + 0.5 * l2 * (w * w).sum(dim=(1, 2))
    grad[:, :-1] += l2.view(-1, 1, 1) * w
    return loss, grad


def _fit_linear(z1, labels, n_classes, l2, max_iter, tol, theta=None, frozen=None, history=10):
    """Batched L-BFGS for the strictly convex softmax-regression objectives of `_softmax_loss_grad`: two-loop
    recursion with per-problem curvature pairs and a backtracking Armijo line search with per-problem steps.
    A problem stops moving once its largest gradient entry is below ``tol`` (or no step decreases its
    objective at rounding precision); problems marked ``frozen`` never move."""
    r, _, d1 = z1.shape
    if theta is None:
        theta = torch.zeros(r, d1, n_classes, dtype=z1.dtype)

    def dot(a, b):
        return (a * b).sum(dim=(1, 2))

    def per_problem(x):
        return x.view(r, 1, 1)

    loss, grad = _softmax_loss_grad(z1, labels, theta, l2)
    s_hist, y_hist, rho_hist = [], [], []
    stalled = torch.zeros(r, dtype=torch.bool) if frozen is None else frozen.clone()
    for _ in range(max_iter):
        active = (grad.abs().amax(dim=(1, 2)) > tol) & ~stalled
        if not active.any():
            break
        q = grad.clone()
        alphas = []
        for s, yv, rho in reversed(list(zip(s_hist, y_hist, rho_hist))):
            a = rho * dot(s, q)
            q -= per_problem(a) * yv
            alphas.append(a)
        if s_hist:
            q *= per_problem(dot(s_hist[-1], y_hist[-1]) / dot(y_hist[-1], y_hist[-1]).clamp_min(1e-30))
        else:
            q *= per_problem(torch.clamp(1.0 / grad.abs().sum(dim=(1, 2)).clamp_min(1e-30), max=1.0))
        for (s, yv, rho), a in zip(zip(s_hist, y_hist, rho_hist), reversed(alphas)):
            q += per_problem(a - rho * dot(yv, q)) * s
        direction = -q
        slope = dot(grad, direction)
        bad = slope >= 0  # not a descent direction: steepest descent for that problem
        if bad.any():
            direction = torch.where(per_problem(bad), -grad, direction)
            slope = dot(grad, direction)
        direction *= per_problem(active.to(direction.dtype))
        step = torch.ones_like(loss)
        accepted = ~active
        new_theta, new_loss, new_grad = theta, loss, grad
        for _ in range(20):
            trial = theta + per_problem(step) * direction
            t_loss, t_grad = _softmax_loss_grad(z1, labels, trial, l2)
            ok = (~accepted) & (t_loss <= loss + 1e-4 * step * slope)
            if ok.any():
                m = per_problem(ok)
                new_theta = torch.where(m, trial, new_theta)
                new_grad = torch.where(m, t_grad, new_grad)
                new_loss = torch.where(ok, t_loss, new_loss)
                accepted |= ok
            if accepted.all():
                break
            step = torch.where(accepted, step, step * 0.5)
        # no decrease even with a tiny step: the problem sits at its optimum to rounding precision
        stalled |= ~accepted
        s_new, y_new = new_theta - theta, new_grad - grad
        sy = dot(s_new, y_new)
        s_hist.append(s_new)
        y_hist.append(y_new)
        rho_hist.append(torch.where(sy > 1e-12, 1.0 / sy.clamp_min(1e-30), torch.zeros_like(sy)))
        if len(s_hist) > history:
            s_hist.pop(0), y_hist.pop(0), rho_hist.pop(0)
        theta, loss, grad = new_theta, new_loss, new_grad
    return theta


def _fit_linear_auto(z1, labels, n_classes, opts):
    """Choose each problem's L2 penalty on a held-back fifth of the fitting set: walk L2_PATH from strong to
    weak, warm-starting each fit from the previous one, and stop a problem's walk at the first penalty whose
    validation cross-entropy is no better; then refit on the whole fitting set at the chosen penalty."""
    r, n, _ = z1.shape
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(opts["seed"]))
    val, fit = perm[: max(1, n // 5)], perm[max(1, n // 5):]
    z_fit, y_fit, z_val, y_val = z1[:, fit], labels[:, fit], z1[:, val], labels[:, val]  # copied once, not per step
    theta = best_theta = None
    best_ce = torch.full((r,), float("inf"), dtype=z1.dtype)
    best_l2 = torch.full((r,), L2_PATH[0], dtype=z1.dtype)
    going = torch.ones(r, dtype=torch.bool)
    for lam in L2_PATH:
        l2 = torch.full((r,), lam, dtype=z1.dtype)
        # selection needs the validation loss to ~1e-3 nats, not the optimum to full precision
        theta = _fit_linear(z_fit, y_fit, n_classes, l2, opts["max_iter"],
                            PATH_TOL_FACTOR * opts["tol"], theta=theta, frozen=~going)
        val_ce, _ = _softmax_loss_grad(z_val, y_val, theta, torch.zeros_like(l2))
        improved = going & (val_ce < best_ce)
        best_ce = torch.where(improved, val_ce, best_ce)
        best_l2 = torch.where(improved, l2, best_l2)
        best_theta = theta.clone() if best_theta is None else torch.where(improved.view(r, 1, 1), theta, best_theta)
        going = improved
        if not going.any():
            break
    return _fit_linear(z1, labels, n_classes, best_l2, opts["max_iter"], opts["tol"], theta=best_theta)


def _fit_mlp(zt, yt, n_classes, hidden, seed, max_epochs, patience, batch_size, lr, weight_decay):
    """R stacked MLP decoders (ReLU), Adam, early stopping on a held-back tenth of the fitting set."""
    r, n, d = zt.shape
    gen = torch.Generator().manual_seed(seed)
    perm = torch.randperm(n, generator=gen)
    n_val = max(1, n // 10)
    val_idx, fit_idx = perm[:n_val], perm[n_val:]
    sizes = [d, *hidden, n_classes]
    params = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        bound = 1.0 / math.sqrt(fan_in)
        params.append(((torch.rand(r, fan_in, fan_out, generator=gen, dtype=zt.dtype) * 2 - 1) * bound)
                      .requires_grad_())
        params.append(((torch.rand(r, 1, fan_out, generator=gen, dtype=zt.dtype) * 2 - 1) * bound)
                      .requires_grad_())
    opt = torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)

    def forward(x):
        for i in range(0, len(params), 2):
            x = torch.baddbmm(params[i + 1], x, params[i])
            if i + 2 < len(params):
                x = torch.relu(x)
        return x

    def per_problem_loss(x, y):
        logits = forward(x)
        return F.cross_entropy(logits.reshape(-1, n_classes), y.reshape(-1), reduction="none").reshape(r, -1).mean(1)

    best = torch.full((r,), float("inf"), dtype=zt.dtype)
    best_params = [p.detach().clone() for p in params]
    waited = torch.zeros(r, dtype=torch.int64)
    x_val, y_val = zt[:, val_idx], yt[:, val_idx]
    n_fit = fit_idx.numel()
    for _ in range(max_epochs):
        order = fit_idx[torch.randperm(n_fit, generator=gen)]
        for start in range(0, n_fit, batch_size):
            idx = order[start:start + batch_size]
            opt.zero_grad()
            per_problem_loss(zt[:, idx], yt[:, idx]).sum().backward()
            opt.step()
        with torch.no_grad():
            val = per_problem_loss(x_val, y_val)
            improved = val < best - 1e-6
            best = torch.where(improved, val, best)
            waited = torch.where(improved, torch.zeros_like(waited), waited + 1)
            for p, bp in zip(params, best_params):
                bp[improved] = p[improved]
        if bool((waited >= patience).all()):
            break
    with torch.no_grad():
        for p, bp in zip(params, best_params):
            p.copy_(bp)
    return forward


def _evaluate(logits: torch.Tensor, ye: torch.Tensor, n_classes: int):
    """Per-problem mean cross-entropy (nats) and accuracy; logits (R, n, K), labels (R, n)."""
    ce = F.cross_entropy(logits.reshape(-1, n_classes), ye.reshape(-1), reduction="none").reshape(ye.shape)
    acc = (logits.argmax(-1) == ye).to(torch.float64)
    return ce.mean(1), acc.mean(1)


# float64 keeps the convergence tolerance meaningful where it is cheap; float32 (2.4x faster on one core for 100
# classes, within 1e-4 bits of float64 at tol 1e-4 on CIFAR-100 features) for large stacks and many classes.
# Every stack with <= 4 classes and <= 2e6 feature entries (all checkerboard and SZT problems) stays float64.
FLOAT64_MAX_ENTRIES = 2_000_000
FLOAT64_MAX_WORK = 10_000_000  # stacked problems x samples x features x classes


def _float64_affordable(shape, n_classes: int) -> bool:
    entries = math.prod(shape)
    return entries <= FLOAT64_MAX_ENTRIES and entries * n_classes <= FLOAT64_MAX_WORK


def _fit_and_score_stack(zt, yt, ze, ye, n_classes, decoder, opts):
    """Fit R decoders on stacked problems of one shape; return per-problem (CE nats, accuracy)."""
    if decoder == "linear":
        dtype = torch.float64 if _float64_affordable(zt.shape, n_classes) else torch.float32
        zt1, ze1 = _standardized_with_ones(zt, ze, dtype)
        labels = yt.unsqueeze(-1)
        if opts["l2"] == "auto":
            theta = _fit_linear_auto(zt1, labels, n_classes, opts)
        else:
            l2 = torch.full((zt.shape[0],), opts["l2"], dtype=dtype)
            theta = _fit_linear(zt1, labels, n_classes, l2, opts["max_iter"], opts["tol"])
        logits = torch.bmm(ze1, theta).to(torch.float64)
    else:
        zt, ze = _standardize(zt, ze)
        forward = _fit_mlp(zt.to(torch.float32), yt, n_classes, opts["hidden"], opts["seed"], opts["max_epochs"],
                           opts["patience"], opts["batch_size"], opts["lr"], opts["weight_decay"])
        with torch.no_grad():
            logits = forward(ze.to(torch.float32)).to(torch.float64)
    return _evaluate(logits, ye, n_classes)


def _decoder_options(decoder, l2, max_iter, tol, hidden, seed, max_epochs, patience, batch_size, lr,
                     weight_decay):
    if decoder not in DECODERS:
        raise ValueError(f"decoder must be one of {DECODERS}, got {decoder!r}")
    if not (l2 == "auto" or (isinstance(l2, (int, float)) and l2 > 0)):
        # without a penalty a separable problem has no finite optimum and "to convergence" is meaningless
        raise ValueError(f"l2 must be 'auto' or a number > 0, got {l2!r}")
    hidden = tuple(int(h) for h in (hidden if isinstance(hidden, Sequence) else (hidden,)))
    if not 1 <= len(hidden) <= 2 or min(hidden) < 1:
        raise ValueError(f"hidden must be one or two positive layer widths, got {hidden}")
    for name, value in (("max_iter", max_iter), ("max_epochs", max_epochs), ("patience", patience),
                        ("batch_size", batch_size)):
        if int(value) < 1:
            raise ValueError(f"{name} must be a positive integer, got {value}")
    if not lr > 0 or not tol > 0:
        raise ValueError(f"lr and tol must be > 0, got lr={lr}, tol={tol}")
    return dict(l2=l2 if l2 == "auto" else float(l2), max_iter=int(max_iter), tol=float(tol), hidden=hidden,
                seed=int(seed), max_epochs=int(max_epochs), patience=int(patience), batch_size=int(batch_size), lr=float(lr),
                weight_decay=float(weight_decay))


def usable_information_batch(problems, decoder: str = "linear", *, n_classes: int | None = None,
                             l2: float | str = "auto", max_iter: int = 500, tol: float = 1e-4,
                             hidden: Sequence[int] = (64,), seed: int = 0, max_epochs: int = 200,
                             patience: int = 10, batch_size: int = 256, lr: float = 1e-3,
                             weight_decay: float = 0.0) -> list[UsableInformation]:
    """Usable information for many representations at once.

    problems: a sequence of (z_train, y_train, z_test, y_test) tuples, e.g. one per layer x checkpoint x
        variable. Problems of identical shapes (samples, features, classes) are stacked and fitted together.
    Other arguments are as in `usable_information`. Returns one `UsableInformation` per problem, in order.
    """
    opts = _decoder_options(decoder, l2, max_iter, tol, hidden, seed, max_epochs, patience, batch_size, lr,
                            weight_decay)
    checked = [_validate_problem(*p, n_classes) for p in problems]
    groups: dict[tuple, list[int]] = {}
    for i, (zt, yt, ze, ye, k) in enumerate(checked):
        groups.setdefault((zt.shape, ze.shape, k), []).append(i)
    results: list[UsableInformation | None] = [None] * len(checked)
    for (_, _, k), idx in groups.items():
        stack = [torch.stack([checked[i][j] for i in idx]) for j in range(4)]
        ce, acc = _fit_and_score_stack(*stack, k, decoder, opts)
        for pos, i in enumerate(idx):
            ye = checked[i][3]
            h = entropy_bits(ye, k)
            ce_bits = float(ce[pos]) / LN2
            results[i] = UsableInformation(bits=h - ce_bits, entropy_bits=h, cross_entropy_bits=ce_bits,
                                           log2_classes=math.log2(k), accuracy=float(acc[pos]), decoder=decoder,
                                           n_fit=checked[i][0].shape[0], n_eval=ye.shape[0])
    return results


def usable_information(z_train, y_train, z_test, y_test, decoder: str = "linear", **options) -> UsableInformation:
    """Usable information I_u(Z;Y) in bits: H(Y) - cross-entropy of a decoder fitted on (z_train, y_train),
    measured on (z_test, y_test).

    Parameters
    ----------
    z_train, z_test : array or tensor, shape (n, d)
        Representations (a layer's activations); standardized with the fitting set's mean and std.
    y_train, y_test : array or tensor of int, shape (n,)
        Class indices in [0, n_classes).
    decoder : "linear" or "mlp"
        "linear": softmax regression with an L2 penalty on the standardized weights (per-sample mean loss +
        l2/2 ||W||^2), fitted to convergence by a batched L-BFGS (largest gradient entry below ``tol``, at most
        ``max_iter`` iterations). ``l2="auto"`` (default) picks the penalty per problem from L2_PATH on a
        held-back fifth of the fitting set (seeded by ``seed``) and refits on all of it; a number fixes it.
        "mlp": one or two ReLU hidden layers (``hidden``), Adam (``lr``, ``batch_size``), early stopping on a
        held-back tenth of the fitting set (``patience`` epochs, at most ``max_epochs``), seeded by ``seed``.
    n_classes : int, optional
        K; by default one more than the largest label seen.

    Returns
    -------
    UsableInformation
        ``float(result)`` is I_u in bits; H(Y) is the empirical entropy of ``y_test``. Not clipped at 0: a
        decoder worse than the label marginal gives a negative value.
    """
    return usable_information_batch([(z_train, y_train, z_test, y_test)], decoder, **options)[0]


def _halves(n: int, seed: int):
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    return perm[: n // 2], perm[n // 2:]


def _average(pair: Sequence[UsableInformation]) -> UsableInformation:
    a, b = pair
    mean = {f: (getattr(a, f) + getattr(b, f)) / 2 for f in ("bits", "entropy_bits", "cross_entropy_bits",
                                                             "accuracy")}
    return UsableInformation(log2_classes=a.log2_classes, decoder=a.decoder, n_fit=a.n_fit + b.n_fit,
                             n_eval=a.n_eval + b.n_eval, **mean)


def cross_fitted_usable_information_batch(representations, decoder: str = "linear", *, split_seed: int = 0,
                                          **options) -> list[UsableInformation]:
    """Cross-fitted usable information for many (z, y) pairs drawn from held-out data.

    Each (z, y) is split in two random halves (the same split for every pair of equal length, from
    ``split_seed``); a decoder is fitted on each half and evaluated on the other, and the two estimates are
    averaged. This keeps the decoder away from data the network trained on (Kleinman et al. 2021, spec 1).
    """
    problems = []
    for z, y in representations:
        z = _as_features(z, "z")
        y = _as_labels(y, z.shape[0], "y")
        a, b = _halves(z.shape[0], split_seed)
        problems += [(z[a], y[a], z[b], y[b]), (z[b], y[b], z[a], y[a])]
    results = usable_information_batch(problems, decoder, **options)
    return [_average(results[i:i + 2]) for i in range(0, len(results), 2)]


def cross_fitted_usable_information(z, y, decoder: str = "linear", **options) -> UsableInformation:
    """Cross-fitted I_u(Z;Y) in bits for one held-out set; see `cross_fitted_usable_information_batch`."""
    return cross_fitted_usable_information_batch([(z, y)], decoder, **options)[0]
