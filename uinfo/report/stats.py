"""The verdict rule shared by every claim: a per-seed statistic, a 95% confidence interval (t over seeds, paired
within seed where arms share seeds, or a seed bootstrap for statistics that are not means), a smallest effect size
of interest (SESOI) fixed beside the claim, the claim's preconditions, and one of four outcomes:

- **reproduced**: the interval lies on the predicted side of 0 and the estimate is at least the SESOI;
- **contradicted**: the interval excludes effects of the SESOI or more in the predicted direction (an equivalence
  or an opposite-sign result);
- **inconclusive**: neither; the row says how many seeds would give an interval half-width of the SESOI, from the
  observed spread;
- **untestable**: a precondition failed at this profile; the row names it, and where it holds.

A claim that predicts *no* effect (bf16 keeps the result, a linear net does not compress) swaps the roles: an
equivalence result (the interval inside the SESOI) reproduces it, an effect of at least the SESOI beyond noise
contradicts it.

Multiplicity: the decisions of one notebook are Holm-corrected together (:func:`holm`), at a family-wise level of
5%. Each claim contributes two one-sided tests, one whose rejection reproduces it and one whose rejection
contradicts it; at most one of the two null hypotheses is true, and all of them form one Holm family. A
notebook with one claim is thus decided at 2.5% per side, the level of its 95% interval; with more claims the
adjusted levels are stricter. The 95% intervals are shown unadjusted; the row records the adjusted p-values that
decided.

Presentation only: nothing here is in the store's code hash.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Callable, Iterable

import numpy as np
import pandas as pd
from scipy import stats as _st

OUTCOMES = ("reproduced", "contradicted", "inconclusive", "untestable")
LEVEL = 0.95
FAMILY_ALPHA = 0.05
BOOTSTRAP_DRAWS = 10000
FEW_SEEDS = 5  # below this many seeds a statistic that is not a mean gets the jackknife, not the bootstrap


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

    def shift(self, by: float) -> "Interval":
        """The same interval for the statistic plus ``by`` (an effect measured from a reference value)."""
        if by == 0:
            return self
        return Interval(self.estimate + by, self.low + by, self.high + by, self.n, self.method, self.spread,
                        self.se, self.df, tuple(np.asarray(self.draws) + by) if self.draws else ())

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
    whole table, with a percentile interval from resampling its seeds (the table's index) with replacement.
    With fewer than ``FEW_SEEDS`` seeds the bootstrap has too few distinct resamples (10 with 3 seeds) and its
    percentile interval is far too narrow: the seed jackknife's t interval is used instead."""
    seeds = pd.Index(table.index.unique())
    estimate = float(statistic(table))
    n = len(seeds)
    if n < 2:
        return Interval(estimate, -math.inf, math.inf, n, "seed bootstrap", float("nan"))
    if n < FEW_SEEDS:
        return jackknife_interval(table, statistic, level)
    rng = np.random.default_rng(seed)
    groups = [table.loc[[s]] for s in seeds]
    values = np.array([statistic(pd.concat([groups[j] for j in rng.integers(0, n, n)])) for _ in range(draws)])
    values = values[np.isfinite(values)]
    low, high = (float(v) for v in np.quantile(values, [(1 - level) / 2, (1 + level) / 2]))
    return Interval(estimate, low, high, n, "seed bootstrap", float(values.std(ddof=1)) * math.sqrt(n),
                    draws=tuple(values))


def jackknife_interval(table: pd.DataFrame, statistic: Callable[[pd.DataFrame], float],
                       level: float = LEVEL) -> Interval:
    """The seed jackknife: pseudo-values n * T(all) - (n - 1) * T(all but seed i), and a t interval with n - 1
    degrees of freedom around T(all)."""
    seeds = pd.Index(table.index.unique())
    n = len(seeds)
    estimate = float(statistic(table))
    leave_out = np.array([statistic(table[table.index != s]) for s in seeds], dtype=float)
    if n < 2 or not np.isfinite(leave_out).all():
        return Interval(estimate, -math.inf, math.inf, n, "seed jackknife", float("nan"))
    pseudo = n * estimate - (n - 1) * leave_out
    sd = float(pseudo.std(ddof=1))
    return _t(estimate, sd / math.sqrt(n), n - 1, n, "seed jackknife", sd, level)


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


PREDICTIONS = ("effect", "no effect")


def outcome(estimate: float, sesoi: float, direction: int, p_reproduce: float, p_contradict: float,
            predicts: str = "effect", alpha: float = (1 - LEVEL) / 2) -> str:
    """The outcome of one claim from its two one-sided p-values (or, after Holm, the adjusted ones); ``estimate``
    is the effect (the statistic minus its reference).

    - ``predicts="effect"``: ``p_reproduce`` tests "the effect is <= 0" and ``p_contradict`` "the effect is >=
      SESOI" (oriented by ``direction``); reproduced also needs the estimate to reach the SESOI.
    - ``predicts="no effect"``: the roles swap. ``p_reproduce`` tests "the effect is >= SESOI" (an equivalence
      result reproduces) and ``p_contradict`` "the effect is <= 0"; contradicted also needs the estimate to reach
      the SESOI. ``direction=0`` makes both two-sided (TOST for the equivalence).

    At the default one-sided level of 2.5% this is the rule stated with the 95% interval ("the interval lies
    above 0" is ``p < 0.025``)."""
    size = abs(estimate) if direction == 0 else direction * estimate
    if predicts == "effect":
        if p_reproduce < alpha and size >= sesoi:
            return "reproduced"
        return "contradicted" if p_contradict < alpha else "inconclusive"
    if p_reproduce < alpha:
        return "reproduced"
    return "contradicted" if p_contradict < alpha and size >= sesoi else "inconclusive"


def _settle(row: dict, p_reproduce: float, p_contradict: float, alpha: float = (1 - LEVEL) / 2) -> None:
    """Set a testable row's outcome from these p-values, and the seeds needed when it is inconclusive."""
    row["outcome"] = outcome(row["estimate"] - row["reference"], row["sesoi"], row["direction"], p_reproduce,
                             p_contradict, row["predicts"], alpha)
    row["seeds_needed"] = seeds_needed(row["spread"], row["sesoi"]) if row["outcome"] == "inconclusive" else None


def _p_values(interval: Interval, sesoi: float, direction: int, predicts: str) -> tuple[float, float]:
    """(p_reproduce, p_contradict) of a claim, as :func:`outcome` reads them."""
    if direction == 0:  # two-sided: the effect is absent (|effect| < SESOI) against present (!= 0)
        up_zero, up_sesoi = interval.one_sided(sesoi, 1)
        down_zero, down_sesoi = interval.one_sided(sesoi, -1)
        return max(up_sesoi, down_sesoi), min(1.0, 2 * min(up_zero, down_zero))
    p_zero, p_sesoi = interval.one_sided(sesoi, direction)
    return (p_zero, p_sesoi) if predicts == "effect" else (p_sesoi, p_zero)


def verdict(claim: str, statistic: str, interval: Interval, sesoi: float, unit: str, direction: int = 1,
            preconditions: Iterable[Precondition] = (), detail: str = "", predicts: str = "effect",
            reference: float = 0.0) -> dict:
    """One claim row. The effect is the statistic minus ``reference`` (0 for a difference; e.g. 0.85 for "reaches
    90% of the ceiling" with a SESOI of 0.05). ``sesoi`` is positive, in ``unit``. ``predicts="effect"``: the paper
    predicts an effect of at least the SESOI, positive (``direction=+1``) or negative (-1).
    ``predicts="no effect"``: it predicts none (smaller than the SESOI on the ``direction`` side, or on both sides
    with ``direction=0``). A failed precondition makes the claim untestable, whatever the data say."""
    if predicts not in PREDICTIONS:
        raise ValueError(f"predicts must be one of {PREDICTIONS}, got {predicts!r}")
    if direction not in ((1, -1) if predicts == "effect" else (1, -1, 0)):
        raise ValueError(f"direction must be +1 or -1 (or 0 for a two-sided 'no effect'), got {direction!r}")
    if not (sesoi > 0):
        raise ValueError(f"the smallest effect of interest must be positive, got {sesoi!r}")
    p_reproduce, p_contradict = _p_values(interval.shift(-reference), sesoi, direction, predicts)
    failed = [p for p in preconditions if not p.holds]
    row = dict(claim=claim, statistic=statistic, unit=unit, estimate=interval.estimate, ci_low=interval.low,
               ci_high=interval.high, seeds=interval.n, method=interval.method, sesoi=sesoi, direction=direction,
               predicts=predicts, reference=reference, p_reproduce=p_reproduce, p_contradict=p_contradict,
               spread=interval.spread, detail=detail, failed_precondition=None, holds_where=None, seeds_needed=None)
    if failed:
        row.update(outcome="untestable", failed_precondition="; ".join(
            p.name + (f" (measured: {p.measured})" if p.measured else "") for p in failed),
            holds_where="; ".join(p.where for p in failed if p.where) or None)
        return row
    _settle(row, p_reproduce, p_contradict)
    return row


def holm(rows: list[dict], alpha: float = FAMILY_ALPHA) -> list[dict]:
    """Holm-correct the decisions of one notebook's testable claims together (two one-sided tests per claim, one
    family), then re-decide each outcome from the adjusted p-values. Adds ``p_reproduce_holm`` and
    ``p_contradict_holm`` and the family's size ``holm_tests``; untestable rows are left out of the family and
    unchanged."""
    tests = [(i, key) for i, r in enumerate(rows) if r["outcome"] != "untestable"
             for key in ("p_reproduce", "p_contradict")]
    m = len(tests)
    order = sorted(range(m), key=lambda j: rows[tests[j][0]][tests[j][1]])
    adjusted, running = [0.0] * m, 0.0
    for rank, j in enumerate(order):
        running = max(running, min(1.0, (m - rank) * rows[tests[j][0]][tests[j][1]]))
        adjusted[j] = running
    out = [dict(r) for r in rows]
    for (i, key), p in zip(tests, adjusted):
        out[i][f"{key}_holm"] = p
        out[i]["holm_tests"] = m
    for r in out:
        if r["outcome"] != "untestable":
            _settle(r, r["p_reproduce_holm"], r["p_contradict_holm"], alpha)
    return out


@dataclass(frozen=True)
class Window:
    """A stretch of training fixed in advance, as fractions of the run's length: epochs in [start, end] x length.
    Window means replace the peak and the minimum of noisy curves, which are biased away from zero even when
    nothing happens."""

    name: str
    start: float
    end: float

    def bounds(self, length: float) -> tuple[float, float]:
        return self.start * length, self.end * length

    def label(self, length: float) -> str:
        lo, hi = self.bounds(length)
        return f"{self.name} window (epochs {lo:.3g}-{hi:.3g})"


def window_mean(df: pd.DataFrame, column: str, window: Window, length: float, time: str = "epoch",
                by: str = "seed") -> pd.Series:
    """Per ``by`` (seed): the mean of ``column`` over the rows whose ``time`` lies in the window. A group with no
    checkpoint in the window (a profile with very few checkpoints, such as ``smoke``) uses its checkpoint nearest
    the window's middle instead, with a warning that names the window."""
    lo, hi = window.bounds(length)
    inside = df[(df[time] >= lo - 1e-9) & (df[time] <= hi + 1e-9)]
    means = inside.groupby(by)[column].mean()
    missing = sorted(set(df[by]) - set(means.index))
    if missing:
        warnings.warn(f"no checkpoint in the {window.label(length)} for {by} {missing}: using the nearest one",
                      stacklevel=2)
        middle = (lo + hi) / 2
        rest = df[df[by].isin(missing)]
        nearest = rest.loc[(rest[time] - middle).abs().groupby(rest[by]).idxmin()]
        means = pd.concat([means, nearest.set_index(by)[column]])
    return means.astype(float)


def precondition_at_least(name: str, value: float, threshold: float, fmt: str = "{:.3g}", where: str = "") -> Precondition:
    """A precondition "value >= threshold", with the measured value in its text."""
    return Precondition(name, bool(value >= threshold), fmt.format(value), where)


def sem(x) -> float:
    """Standard error of the mean over seeds (NaN for one value)."""
    x = pd.Series(x, dtype=float)
    return float(x.std(ddof=1) / len(x) ** 0.5) if len(x) > 1 else float("nan")


def by_seed(stats: pd.DataFrame, column: str) -> pd.Series:
    """One value per seed (a per-run statistics table indexed by its seed): what the intervals pair on."""
    return stats.set_index("seed")[column].astype(float)


# the windows of training that every trajectory claim of the main paper reads (fractions of training, fixed in
# advance): early 5-20%, late the last 20%
EARLY = Window("early", 0.05, 0.2)
LATE = Window("late", 0.8, 1.0)
