"""The SP estimator validated on mixtures whose entropy is known (Goldfeld et al. 2019's estimator): its bias in the
number of samples and its reported standard error against the spread of repeated estimates. Not stored: seconds
to a minute."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from ..estimators.shannon import gaussian_mixture_entropy


VALIDATION_PROFILES = {
    # mc_repeats: independent Monte Carlo repeats on one sample set, enough for their spread to check the reported
    # s.e. (with 16 repeats an sd is known to about 18%)
    "smoke": dict(dims=(2,), ns=(10, 100, 1000), repeats=3, n_mcs=(2, 8, 32), n_for_mc=200, mc_repeats=4),
    "quick": dict(dims=(2, 5), ns=(10, 100, 1000, 10000, 30000), repeats=4, n_mcs=(2, 8, 32, 128), n_for_mc=500,
                  mc_repeats=16),
    "paper": dict(dims=(2, 5, 10), ns=(10, 100, 1000, 10000, 100000), repeats=5, n_mcs=(2, 8, 32, 128, 512),
                  n_for_mc=10000, mc_repeats=20),
}


def corner_mixture_truth(d: int, spread: float, beta: float) -> float:
    """h(P * N(0, beta^2 I)) in nats for P = the equal mixture of N(c, spread^2 I) over the 2^d corners of
    [-1, 1]^d: itself a Gaussian mixture with std sqrt(spread^2 + beta^2), whose entropy is computed with many
    draws (its error is returned negligible: well separated corners make the averaged term almost constant)."""
    corners = np.array(np.meshgrid(*[[-1.0, 1.0]] * d)).reshape(d, -1).T
    return gaussian_mixture_entropy(corners, math.hypot(spread, beta), n_mc=2000, seed=123).nats


def estimator_validation(profile: str, spread: float = 0.1, beta: float = 0.1, progress: bool = True) -> pd.DataFrame:
    """The SP estimate h(P_n * phi_beta) from n samples of P (the corner mixture) against the truth, for several
    n (bias from below: E h_SP <= h) and, at one n, several Monte Carlo draws per centre (its standard error
    against the spread of repeated estimates). Seconds to a minute; not stored."""
    if profile not in VALIDATION_PROFILES:
        raise ValueError(f"profile must be one of {sorted(VALIDATION_PROFILES)}, got {profile!r}")
    p = VALIDATION_PROFILES[profile]
    rows = []
    jobs = [(d, n, 8, rep, "n") for d in p["dims"] for n in p["ns"] for rep in range(p["repeats"])]
    jobs += [(d, p["n_for_mc"], k, rep, "n_mc") for d in p["dims"] for k in p["n_mcs"] for rep in range(p["mc_repeats"])]
    truth = {d: corner_mixture_truth(d, spread, beta) for d in p["dims"]}
    for d, n, n_mc, rep, sweep in tqdm(jobs, desc="SP estimator validation", disable=not progress):
        # the n sweep draws new samples every repeat (estimation + Monte Carlo error); the n_mc sweep keeps one
        # sample set and repeats only the Monte Carlo draws (the spread the standard error must predict)
        rng = np.random.default_rng([d, n] + ([n_mc, rep] if sweep == "n" else []))
        corners = rng.choice([-1.0, 1.0], size=(n, d))
        samples = corners + spread * rng.standard_normal((n, d))
        capped = sweep == "n" and n * n_mc > 20000
        est = gaussian_mixture_entropy(samples, beta, n_mc=n_mc, seed=[d, n, n_mc, rep, 1],
                                       max_draws=20000 if capped else None)
        rows.append(dict(sweep=sweep, d=d, n=n, n_mc=n_mc, repeat=rep, truth=truth[d], estimate=est.nats, se=est.se,
                         draws=est.n_draws, error=est.nats - truth[d]))
    return pd.DataFrame(rows)

