"""The verdict rule shared by every claim: a per-seed statistic, a 95% confidence interval (t over seeds, paired
within seed where arms share seeds, or a seed bootstrap for statistics that are not means), a smallest effect size
of interest (SESOI) fixed beside the claim, the claim's preconditions, and one of four outcomes:

- **reproduced**: the interval lies on the predicted side of 0 and the estimate is at least the SESOI;
- **contradicted**: the interval excludes effects of the SESOI or more in the predicted direction (an equivalence
  or an opposite-sign result);
- **inconclusive**: neither; the row says how many seeds would give an interval half-width of the SESOI, from the
  observed spread;
- **untestable**: a precondition failed at this profile; the row names it, and where it holds.

Multiplicity: the decisions of one notebook are Holm-corrected together (:func:`holm`), at a family-wise level of
5%. Each claim contributes two one-sided tests, "the effect is > 0" (for reproduced) and "the effect is < SESOI"
(for contradicted); at most one of the two null hypotheses is true, and all of them form one Holm family. A
notebook with one claim is thus decided at 2.5% per side, the level of its 95% interval; with more claims the
adjusted levels are stricter. The 95% intervals are shown unadjusted; the row records the adjusted p-values that
decided.

Presentation only: nothing here is in the store's code hash.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Iterable

import numpy as np
import pandas as pd
from scipy import stats as _st

OUTCOMES = ("reproduced", "contradicted", "inconclusive", "untestable")
LEVEL = 0.95
FAMILY_ALPHA = 0.05
BOOTSTRAP_DRAWS = 10000


@dataclass(frozen=True)
class Precondition:
    """What must hold for a claim to be testable: ``name`` says it ("the task is solved: direction information
    >= 90% of its ceiling"), ``holds`` whether it does here, ``measured`` the value found, ``where`` the profile or
    notebook where it holds (or would)."""

    name: str
    holds: bool
    measured: str = ""
    where: str = ""


@dataclass(frozen=True)
class Interval:
    """A statistic's estimate over ``n`` seeds with its 95% interval, and what the one-sided tests need: the
    standard error and degrees of freedom of a t interval, or the bootstrap draws."""

    estimate: float
    low: float
    high: float
    n: int
    method: str
    spread: float               # the per-seed standard deviation behind it (for the seeds needed)
    se: float = float("nan")
    df: float = float("nan")
    draws: tuple = ()

    def one_sided(self, sesoi: float, direction: int) -> tuple[float, float]:
        """p-values of "the effect is <= 0" and of "the effect is >= SESOI", the effect oriented so that the paper
        predicts it positive."""
        oriented = direction * self.estimate
        if self.draws:
            d = direction * np.asarray(self.draws)
            return float((np.sum(d <= 0) + 1) / (len(d) + 1)), float((np.sum(d >= sesoi) + 1) / (len(d) + 1))
        if not (self.se == self.se):  # fewer than two seeds
            return 1.0, 1.0
        if self.se == 0:
            return float(oriented <= 0), float(oriented >= sesoi)
        return float(_st.t.sf(oriented / self.se, self.df)), float(_st.t.cdf((oriented - sesoi) / self.se, self.df))


def _series(values, name: str) -> pd.Series:
    s = pd.Series(values, dtype=float) if not isinstance(values, pd.Series) else values.astype(float)
    if s.isna().any():
        raise ValueError(f"{name} has missing values (seeds {list(s.index[s.isna()])}); a verdict needs every seed")
    return s


def paired_differences(arm: pd.Series, baseline: pd.Series) -> pd.Series:
    """``arm - baseline`` seed by seed. Both are indexed by seed and must hold the same seeds: the pairing is the
    point (the arms share initialization and data), so a missing seed is an error, not a silent drop."""
    arm, baseline = _series(arm, "arm"), _series(baseline, "baseline")
    if set(arm.index) != set(baseline.index) or arm.index.duplicated().any() or baseline.index.duplicated().any():
        raise ValueError(f"paired arms must hold the same seeds once each; got {sorted(arm.index)} and "
                         f"{sorted(baseline.index)}")
    return (arm - baseline.reindex(arm.index)).rename("difference")


def _t(estimate: float, se: float, df: float, n: int, method: str, spread: float, level: float) -> Interval:
    half = float(_st.t.ppf(0.5 + level / 2, df)) * se
    return Interval(estimate, estimate - half, estimate + half, n, method, spread, se, df)


def t_interval(values, level: float = LEVEL, method: str = "t") -> Interval:
    """Mean of per-seed ``values`` with a t interval (one value per seed: paired differences for paired arms, with
    ``method="paired t"``)."""
    x = _series(values, "values").to_numpy()
    n = len(x)
    if n < 2:
        return Interval(float(x.mean()) if n else float("nan"), -math.inf, math.inf, n, method, float("nan"))
    sd = float(x.std(ddof=1))
    return _t(float(x.mean()), sd / math.sqrt(n), n - 1, n, method, sd, level)


def paired_interval(arm: pd.Series, baseline: pd.Series, level: float = LEVEL) -> Interval:
    """The mean within-seed difference ``arm - baseline`` with its t interval."""
    return t_interval(paired_differences(arm, baseline), level, "paired t")


def welch_interval(arm, other, level: float = LEVEL) -> Interval:
    """Difference of means of two arms with different seeds (unpaired), Welch's interval."""
    a, b = _series(arm, "arm").to_numpy(), _series(other, "other").to_numpy()
    n = min(len(a), len(b))
    diff = float(a.mean() - b.mean())
    if n < 2:
        return Interval(diff, -math.inf, math.inf, n, "Welch", float("nan"))
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    se = math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1)) if se > 0 else len(a) + len(b) - 2
    return _t(diff, se, df, n, "Welch", se * math.sqrt(n), level)


def bootstrap_interval(table: pd.DataFrame, statistic: Callable[[pd.DataFrame], float], level: float = LEVEL,
                       draws: int = BOOTSTRAP_DRAWS, seed: int = 0) -> Interval:
    """A statistic that is not a mean over seeds (a correlation, a ratio of means): ``statistic(table)`` on the
    whole table, with a percentile interval from resampling its seeds (the table's index) with replacement."""
    seeds = pd.Index(table.index.unique())
    estimate = float(statistic(table))
    n = len(seeds)
    if n < 2:
        return Interval(estimate, -math.inf, math.inf, n, "seed bootstrap", float("nan"))
    rng = np.random.default_rng(seed)
    groups = [table.loc[[s]] for s in seeds]
    values = np.array([statistic(pd.concat([groups[j] for j in rng.integers(0, n, n)])) for _ in range(draws)])
    values = values[np.isfinite(values)]
    low, high = (float(v) for v in np.quantile(values, [(1 - level) / 2, (1 + level) / 2]))
    return Interval(estimate, low, high, n, "seed bootstrap", float(values.std(ddof=1)) * math.sqrt(n),
                    draws=tuple(values))


def seeds_needed(spread: float, sesoi: float, level: float = LEVEL, at_most: int = 10000) -> int | None:
    """The smallest seed count whose t interval has a half-width of at most ``sesoi`` at this per-seed spread."""
    if not (spread == spread and sesoi > 0) or math.isinf(spread):
        return None
    if spread == 0:
        return 2
    for n in range(2, at_most + 1):
        if _st.t.ppf(0.5 + level / 2, n - 1) * spread / math.sqrt(n) <= sesoi:
            return n
    return None


def outcome(estimate: float, sesoi: float, direction: int, p_positive: float, p_below_sesoi: float,
            alpha: float = (1 - LEVEL) / 2) -> str:
    """The outcome of one claim from its one-sided p-values (or, after Holm, the adjusted ones). At the default
    one-sided level of 2.5% this is the rule stated with the 95% interval: "the interval lies above 0" is
    ``p_positive < 0.025`` and "the interval lies below the SESOI" is ``p_below_sesoi < 0.025``."""
    if p_positive < alpha and direction * estimate >= sesoi:
        return "reproduced"
    if p_below_sesoi < alpha:
        return "contradicted"
    return "inconclusive"


def _settle(row: dict, p_positive: float, p_below_sesoi: float, alpha: float = (1 - LEVEL) / 2) -> None:
    """Set a testable row's outcome from these p-values, and the seeds needed when it is inconclusive."""
    row["outcome"] = outcome(row["estimate"], row["sesoi"], row["direction"], p_positive, p_below_sesoi, alpha)
    row["seeds_needed"] = seeds_needed(row["spread"], row["sesoi"]) if row["outcome"] == "inconclusive" else None


def verdict(claim: str, statistic: str, interval: Interval, sesoi: float, unit: str, direction: int = 1,
            preconditions: Iterable[Precondition] = (), detail: str = "") -> dict:
    """One claim row. ``sesoi`` is positive, in ``unit``; ``direction`` +1 when the paper predicts a positive
    statistic, -1 a negative one. A failed precondition makes the claim untestable, whatever the data say."""
    if direction not in (1, -1):
        raise ValueError(f"direction must be +1 or -1, got {direction!r}")
    if not (sesoi > 0):
        raise ValueError(f"the smallest effect of interest must be positive, got {sesoi!r}")
    p_positive, p_below = interval.one_sided(sesoi, direction)
    failed = [p for p in preconditions if not p.holds]
    row = dict(claim=claim, statistic=statistic, unit=unit, estimate=interval.estimate, ci_low=interval.low,
               ci_high=interval.high, seeds=interval.n, method=interval.method, sesoi=sesoi, direction=direction,
               p_positive=p_positive, p_below_sesoi=p_below, spread=interval.spread, detail=detail,
               failed_precondition=None, holds_where=None, seeds_needed=None)
    if failed:
        row.update(outcome="untestable", failed_precondition="; ".join(
            p.name + (f" (measured: {p.measured})" if p.measured else "") for p in failed),
            holds_where="; ".join(p.where for p in failed if p.where) or None)
        return row
    _settle(row, p_positive, p_below)
    return row


def holm(rows: list[dict], alpha: float = FAMILY_ALPHA) -> list[dict]:
    """Holm-correct the decisions of one notebook's testable claims together (two one-sided tests per claim, one
    family), then re-decide each outcome from the adjusted p-values. Adds ``p_positive_holm`` and
    ``p_below_sesoi_holm``; untestable rows are left out of the family and unchanged."""
    tests = [(i, key) for i, r in enumerate(rows) if r["outcome"] != "untestable"
             for key in ("p_positive", "p_below_sesoi")]
    m = len(tests)
    order = sorted(range(m), key=lambda j: rows[tests[j][0]][tests[j][1]])
    adjusted, running = [0.0] * m, 0.0
    for rank, j in enumerate(order):
        running = max(running, min(1.0, (m - rank) * rows[tests[j][0]][tests[j][1]]))
        adjusted[j] = running
    out = [dict(r) for r in rows]
    for (i, key), p in zip(tests, adjusted):
        out[i][f"{key}_holm"] = p
    for r in out:
        if r["outcome"] != "untestable":
            _settle(r, r["p_positive_holm"], r["p_below_sesoi_holm"], alpha)
    return out
