"""The invariants every Shannon estimate must keep, checked on every record: 0 <= I(X;T) <= ln N for N
equiprobable inputs and 0 <= I(T;Y) <= H(Y), a break counted only beyond ``k`` Monte Carlo standard errors (and
``atol``, 1e-9 nats of floating-point rounding, for estimates whose error is 0: far-apart points give ln N). An
estimate outside its bounds is a bug to find, not noise to clip: the notebooks print this table."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd


def label_entropy(labels) -> float:
    """H(Y) in nats of the empirical label distribution."""
    share = np.bincount(np.asarray(labels, dtype=np.int64)) / len(labels)
    share = share[share > 0]
    return float(-(share * np.log(share)).sum())


def information_bounds(records: pd.DataFrame, n_inputs: int, h_y: float | None = None, mi: str = "mi",
                       se: str = "se", mi_y: str = "mi_y", se_y: str = "se_y", k: float = 2.0,
                       atol: float = 1e-9) -> pd.DataFrame:
    """One row per bound: the records checked, how many break it by more than ``k`` s.e., and the largest excess
    (in nats, and in s.e.; negative when every record keeps the bound)."""
    checks = [(f"I(X;T) <= ln {n_inputs} = {math.log(n_inputs):.4f}", records[mi] - math.log(n_inputs), records[se]),
              ("I(X;T) >= 0", -records[mi], records[se])]
    if h_y is not None and mi_y in records:
        checks += [(f"I(T;Y) <= H(Y) = {h_y:.4f}", records[mi_y] - h_y, records[se_y]),
                   ("I(T;Y) >= 0", -records[mi_y], records[se_y])]
    rows = []
    for name, excess, error in checks:
        keep = excess.notna()
        excess, error = excess[keep], error[keep].fillna(0.0)
        excess = excess.where(excess.abs() > atol, 0.0)  # rounding, not estimation
        scaled = (excess / error.where(error > 0)).where(excess != 0, 0.0)
        rows.append(dict(bound=name, records=int(keep.sum()), broken=int((excess > k * error).sum()),
                         largest_excess_nats=float(excess.max()) if len(excess) else float("nan"),
                         largest_excess_se=float(scaled.max()) if scaled.notna().any() else float("nan")))
    return pd.DataFrame(rows)


def print_bounds(table: pd.DataFrame, k: float = 2.0) -> None:
    broken = int(table["broken"].sum())
    print(f"bounds on every record (a break counts beyond {k:g} Monte Carlo s.e.): {broken} broken")
    for r in table.itertuples():
        print(f"  {r.bound}: {r.broken} of {r.records} records break it; largest excess {r.largest_excess_nats:+.4f} "
              f"nats ({r.largest_excess_se:+.1f} s.e.)")


def linear_reference_check(records: pd.DataFrame, k: float = 2.0) -> pd.DataFrame:
    """The SP estimate of a linear net against its exact value (``mi_exact``, ``mi_y_exact``: see
    ``uinfo.experiments.szt.linear_reference``), per hidden layer over every seed x checkpoint: the mean and
    largest difference, how many agree within ``k`` combined standard errors, and how many would if the estimate
    were unbiased with normal Monte Carlo errors (``expected``: 95.4% at k = 2, so that about 1 point in 22 lies
    outside by chance alone)."""
    from scipy import stats as st

    share = float(st.norm.cdf(k) - st.norm.cdf(-k))
    rows = []
    for layer, g in records.groupby("layer"):
        for what, sp, se, exact, se_exact in (("I(X;T)", "mi", "se", "mi_exact", "se_exact"),
                                              ("I(T;Y)", "mi_y", "se_y", "mi_y_exact", "se_y_exact")):
            diff = g[sp] - g[exact]
            error = np.sqrt(g[se] ** 2 + g[se_exact] ** 2)
            rows.append(dict(layer=layer, quantity=what, points=len(g), mean_difference=float(diff.mean()),
                             largest_difference=float(diff.abs().max()),
                             within=int((diff.abs() <= k * error + 1e-9).sum()), expected=share * len(g),
                             mean_se=float(error.mean())))
    return pd.DataFrame(rows)


def within_chance(check: pd.DataFrame) -> tuple[int, int, float, float]:
    """Over a ``linear_reference_check`` table: (points within the band, points, the number expected within of an
    unbiased estimate, the binomial probability of that many or fewer within)."""
    from scipy import stats as st

    n, within, expected = int(check.points.sum()), int(check.within.sum()), float(check.expected.sum())
    return within, n, expected, float(st.binom.cdf(within, n, expected / n))


def within_summary(check: pd.DataFrame) -> str:
    """``within_chance`` as the line the notebook prints."""
    within, n, expected, p = within_chance(check)
    return (f"{within} of {n} (seed, checkpoint, layer, quantity) points within 2 s.e. of the exact value; "
            f"{expected:.1f} expected of an unbiased estimate with normal errors (binomial P(<= {within}) = {p:.2f})")
