"""The shared verdict rule (uinfo.report.stats) on constructed cases: each of the four outcomes, paired and unpaired,
bootstrap statistics, the seeds an inconclusive claim would need, and Holm's correction."""
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as st

from uinfo.report import stats as S

SEEDS = pd.RangeIndex(8, name="seed")


def _seeds(values):
    return pd.Series(values, index=pd.RangeIndex(len(values), name="seed"), dtype=float)


def _row(interval, sesoi=0.05, direction=1, preconditions=()):
    return S.verdict("claim", "statistic", interval, sesoi, "bits", direction, preconditions)


def test_paired_arms_share_seeds_and_pairing_decides():
    """Seeds differ a lot from each other, the arms differ little but consistently within seed: paired, the claim is
    reproduced; the same numbers treated as independent arms are inconclusive."""
    rng = np.random.default_rng(0)
    base = pd.Series(rng.normal(1.0, 0.5, 8), index=SEEDS)
    arm = base + 0.2 + pd.Series(rng.normal(0, 0.02, 8), index=SEEDS)
    paired = S.paired_interval(arm, base)
    assert paired.low > 0 and _row(paired)["outcome"] == "reproduced"
    unpaired = S.welch_interval(arm, base)
    assert unpaired.low < 0 < unpaired.high and _row(unpaired)["outcome"] == "inconclusive"
    assert paired.high - paired.low < (unpaired.high - unpaired.low) / 10


def test_paired_arms_must_hold_the_same_seeds():
    with pytest.raises(ValueError, match="same seeds"):
        S.paired_differences(_seeds([1, 2, 3]), _seeds([1, 2]))
    with pytest.raises(ValueError, match="missing values"):
        S.t_interval(_seeds([1, float("nan"), 3]))


def test_reproduced_needs_the_estimate_to_reach_the_sesoi():
    reached = S.t_interval(_seeds([0.30, 0.31, 0.29, 0.30]))
    assert _row(reached, sesoi=0.1)["outcome"] == "reproduced"
    # beyond noise but far below the smallest effect of interest: an equivalence result, contradicted
    tiny = S.t_interval(_seeds([0.020, 0.021, 0.019, 0.020]))
    assert tiny.low > 0 and _row(tiny, sesoi=0.1)["outcome"] == "contradicted"


@pytest.mark.parametrize("values, method", [([-0.30, -0.31, -0.29, -0.30], "opposite sign"),
                                            ([0.001, -0.002, 0.0, 0.001], "equivalence")])
def test_contradicted_unpaired_and_paired(values, method):
    one_arm = S.t_interval(_seeds(values))
    assert _row(one_arm)["outcome"] == "contradicted", method
    base = _seeds([1.0, 2.0, 0.5, 1.5])
    paired = S.paired_interval(base + _seeds(values), base)
    assert _row(paired)["outcome"] == "contradicted", method


def test_contradicted_unpaired_arms_of_different_seeds():
    a = _seeds(np.linspace(0.99, 1.01, 10))
    b = pd.Series(np.linspace(0.99, 1.01, 12), index=pd.RangeIndex(100, 112), dtype=float)
    assert _row(S.welch_interval(a, b))["outcome"] == "contradicted"


def test_inconclusive_reports_the_seeds_that_would_settle_it():
    values = _seeds([0.20, -0.10, 0.30, 0.0])
    interval = S.t_interval(values)
    row = _row(interval)
    assert row["outcome"] == "inconclusive"
    n, sd = row["seeds_needed"], values.std(ddof=1)
    half = lambda k: st.t.ppf(0.975, k - 1) * sd / math.sqrt(k)  # noqa: E731
    assert half(n) <= 0.05 < half(n - 1)
    assert S.t_interval(_seeds([0.3])).low == -math.inf  # one seed decides nothing
    assert _row(S.t_interval(_seeds([0.3])))["outcome"] == "inconclusive"


def test_untestable_when_a_precondition_fails_whatever_the_data():
    strong = S.t_interval(_seeds([0.5, 0.52, 0.49, 0.51]))
    failed = S.Precondition("the peak lies before the last window", False, "peak at the last checkpoint in 3/3 seeds",
                            "cifar_terminal_phase at quick")
    row = _row(strong, preconditions=[S.Precondition("the task is solved", True), failed])
    assert row["outcome"] == "untestable"
    assert row["failed_precondition"] == ("the peak lies before the last window (measured: peak at the last "
                                          "checkpoint in 3/3 seeds)")
    assert row["holds_where"] == "cifar_terminal_phase at quick"
    paired = S.t_interval(S.paired_differences(_seeds([1, 2, 3]), _seeds([0, 1, 2])))
    assert _row(paired, preconditions=[failed])["outcome"] == "untestable"


def test_a_predicted_decrease():
    fall = S.t_interval(_seeds([-0.30, -0.28, -0.33, -0.31]))
    assert _row(fall, sesoi=0.1, direction=-1)["outcome"] == "reproduced"
    assert _row(fall, sesoi=0.1, direction=1)["outcome"] == "contradicted"


def test_bootstrap_for_a_statistic_that_is_not_a_mean():
    """A Spearman correlation over settings, seeds resampled as units."""
    rng = np.random.default_rng(1)
    rows = [(seed, lr, -lr + rng.normal(0, 0.1)) for seed in range(6) for lr in (0.01, 0.05, 0.1, 0.5)]
    table = pd.DataFrame(rows, columns=["seed", "lr", "colour"]).set_index("seed")
    rho = lambda t: st.spearmanr(t["lr"], t["colour"]).statistic  # noqa: E731
    interval = S.bootstrap_interval(table, rho, draws=2000)
    assert interval.method == "seed bootstrap" and interval.n == 6 and interval.high < 0
    assert _row(interval, sesoi=0.3, direction=-1)["outcome"] == "reproduced"
    flat = table.assign(colour=rng.normal(0, 1, len(table)))
    assert _row(S.bootstrap_interval(flat, rho, draws=2000), 0.3, -1)["outcome"] in (
        "inconclusive", "contradicted")


def test_few_seeds_get_the_jackknife_not_a_too_narrow_bootstrap():
    """With 3 seeds a seed bootstrap has 10 distinct resamples: its percentile interval is far too narrow. The
    jackknife's t interval (2 degrees of freedom) is used instead; for a mean it is exactly the t interval."""
    values = pd.DataFrame({"x": [0.9, 0.5, 0.7]}, index=pd.RangeIndex(3, name="seed"))
    jack = S.bootstrap_interval(values, lambda t: t["x"].mean())
    t = S.t_interval(values["x"])
    assert jack.method == "seed jackknife" and not jack.draws
    assert (jack.low, jack.high) == pytest.approx((t.low, t.high))
    rng = np.random.default_rng(2)
    rows = [(seed, x, x + rng.normal(0, 0.5)) for seed in range(3) for x in np.linspace(0, 1, 20)]
    table = pd.DataFrame(rows, columns=["seed", "x", "y"]).set_index("seed")
    corr = lambda t: float(np.corrcoef(t["x"], t["y"])[0, 1])  # noqa: E731
    jack = S.bootstrap_interval(table, corr)
    assert jack.method == "seed jackknife" and jack.low < corr(table) < jack.high


def test_holm_makes_a_notebook_of_borderline_claims_stricter():
    """A claim at one-sided p ~ 0.01 is reproduced alone (2.5% per side, the 95% interval's level); among ten claims
    whose nulls all hold, Holm asks p < 0.05 / 20 of it, and it is inconclusive."""
    borderline = S.t_interval(_seeds([0.10, 0.02, 0.15, 0.07, 0.20, 0.0]))
    alone = S.holm([_row(borderline)])
    assert 0.0025 < alone[0]["p_reproduce"] < 0.025 and borderline.low > 0
    assert alone[0]["outcome"] == "reproduced" and alone[0]["p_reproduce_holm"] == pytest.approx(
        2 * alone[0]["p_reproduce"])
    nulls = [_row(S.t_interval(_seeds(np.random.default_rng(i).normal(0, 0.2, 6)))) for i in range(9)]
    family = S.holm([_row(borderline), *nulls])
    assert family[0]["p_reproduce_holm"] > 0.05 / 20
    assert family[0]["outcome"] == "inconclusive" and family[0]["seeds_needed"] is not None
    untestable = _row(borderline, preconditions=[S.Precondition("x", False)])
    assert S.holm([untestable, _row(borderline)])[0]["outcome"] == "untestable"  # left out of the family


def test_a_claim_of_no_effect_swaps_the_roles():
    """"bf16 keeps the result", "a linear net does not compress": an interval inside the SESOI reproduces (TOST
    when two-sided), an effect of at least the SESOI beyond noise contradicts, a wide interval settles nothing."""
    none = S.t_interval(_seeds([0.01, -0.01, 0.0, 0.005]))
    assert S.verdict("c", "s", none, 0.05, "bits", 0, predicts="no effect")["outcome"] == "reproduced"
    assert S.verdict("c", "s", none, 0.05, "bits", 1, predicts="no effect")["outcome"] == "reproduced"
    big = S.t_interval(_seeds([0.3, 0.32, 0.29, 0.31]))
    assert S.verdict("c", "s", big, 0.05, "bits", 0, predicts="no effect")["outcome"] == "contradicted"
    assert S.verdict("c", "s", S.t_interval(-_seeds([0.3, 0.32, 0.29, 0.31])), 0.05, "bits", 0,
                     predicts="no effect")["outcome"] == "contradicted"  # two-sided: either sign contradicts
    # one-sided: a decrease does not contradict "no increase"
    assert S.verdict("c", "s", S.t_interval(-_seeds([0.3, 0.32, 0.29, 0.31])), 0.05, "bits", 1,
                     predicts="no effect")["outcome"] == "reproduced"
    # beyond noise but below the SESOI: not a contradiction of "no effect"
    small = S.t_interval(_seeds([0.02, 0.021, 0.019, 0.02]))
    assert S.verdict("c", "s", small, 0.05, "bits", 0, predicts="no effect")["outcome"] == "reproduced"
    wide = S.t_interval(_seeds([0.3, -0.2, 0.1, 0.0]))
    row = S.verdict("c", "s", wide, 0.05, "bits", 0, predicts="no effect")
    assert row["outcome"] == "inconclusive" and row["seeds_needed"] > 4
    paired = S.paired_interval(_seeds([1.0, 2.0, 3.0]) + _seeds([0.001, -0.001, 0.0]), _seeds([1.0, 2.0, 3.0]))
    assert S.verdict("c", "s", paired, 0.05, "bits", 0, predicts="no effect")["outcome"] == "reproduced"


def test_a_reference_value_shifts_the_effect():
    """"Reaches 90% of the ceiling": reference 0.85 with a SESOI of 0.05."""
    high = S.t_interval(_seeds([0.95, 0.96, 0.94, 0.95]))
    low = S.t_interval(_seeds([0.65, 0.66, 0.64, 0.65]))
    near = S.t_interval(_seeds([0.87, 0.86, 0.88, 0.87]))
    outcome = lambda i: S.verdict("c", "s", i, 0.05, "fraction", reference=0.85)["outcome"]  # noqa: E731
    assert (outcome(high), outcome(low), outcome(near)) == ("reproduced", "contradicted", "contradicted")
    row = S.verdict("c", "s", high, 0.05, "fraction", reference=0.85)
    assert row["estimate"] == pytest.approx(0.95) and row["reference"] == 0.85  # the statistic, not the effect, is shown
    boot = S.bootstrap_interval(pd.DataFrame({"x": [0.95, 0.96, 0.94, 0.95]}, index=pd.RangeIndex(4, name="seed")),
                                lambda t: t["x"].mean(), draws=500)
    assert S.verdict("c", "s", boot, 0.05, "fraction", reference=0.85)["outcome"] == "reproduced"


def test_windows_average_fixed_stretches_of_training():
    df = pd.DataFrame([dict(seed=s, epoch=e, bits=e + s) for s in (0, 1) for e in (0, 5, 10, 50, 90, 100)])
    late = S.window_mean(df, "bits", S.Window("late", 0.8, 1.0), 100)
    assert list(late) == [95.0, 96.0] and S.Window("late", 0.8, 1.0).label(100) == "late window (epochs 80-100)"
    with pytest.warns(UserWarning, match=r"no checkpoint in the mid window \(epochs 25-45\)"):
        mid = S.window_mean(df, "bits", S.Window("mid", 0.25, 0.45), 100)
    assert list(mid) == [50.0, 51.0]  # the checkpoint nearest the window's middle (epoch 35)


def test_rule_arguments_are_checked():
    interval = S.t_interval(_seeds([0.1, 0.2]))
    with pytest.raises(ValueError, match="direction"):
        _row(interval, direction=2)
    with pytest.raises(ValueError, match="positive"):
        _row(interval, sesoi=0.0)
    with pytest.raises(ValueError, match="direction"):
        _row(interval, direction=0)  # two-sided only for a claim of no effect
    with pytest.raises(ValueError, match="predicts"):
        S.verdict("c", "s", interval, 0.05, "bits", predicts="maybe")


def test_information_bounds_count_breaks_beyond_the_monte_carlo_error():
    from uinfo.report.bounds import information_bounds, label_entropy

    h_y = label_entropy([0, 1, 1, 0])
    records = pd.DataFrame(dict(mi=[math.log(8) + 1e-15, math.log(8) + 0.1, -0.05, 1.0], se=[0.0, 0.01, 0.05, 0.1],
                                mi_y=[h_y + 0.3, 0.2, -0.2, 0.1], se_y=[0.1, 0.1, 0.05, 0.1]))
    table = information_bounds(records, 8, h_y).set_index("bound")
    assert h_y == pytest.approx(math.log(2))
    assert table["broken"].tolist() == [1, 0, 1, 1]  # rounding at ln 8 is no break; 0.1 nats at 0.01 s.e. is
    assert table.loc["I(X;T) >= 0", "largest_excess_se"] == pytest.approx(1.0)
    assert table.loc["I(T;Y) >= 0", "largest_excess_nats"] == pytest.approx(0.2)


def test_linear_reference_check_counts_agreement():
    from uinfo.report.bounds import linear_reference_check

    records = pd.DataFrame(dict(layer=[1, 1, 2], mi=[1.0, 1.1, 2.0], se=[0.01, 0.01, 0.1], mi_exact=[1.0, 1.0, 2.5],
                                se_exact=[0.0, 0.0, 0.1], mi_y=[0.5, 0.5, 0.3], se_y=[0.01] * 3,
                                mi_y_exact=[0.5, 0.5, 0.3], se_y_exact=[0.0] * 3))
    check = linear_reference_check(records).set_index(["layer", "quantity"])
    assert check.loc[(1, "I(X;T)"), "within"] == 1 and check.loc[(1, "I(X;T)"), "largest_difference"] == pytest.approx(0.1)
    assert check.loc[(2, "I(X;T)"), "within"] == 0 and check.loc[(2, "I(T;Y)"), "within"] == 1


def test_linear_reference_summary_weighs_the_points_outside_against_chance():
    """At 2 s.e. about 1 point in 22 lies outside by chance: 95 of 100 within is what an unbiased estimate gives,
    80 of 100 is not."""
    from uinfo.report.bounds import linear_reference_check, within_chance, within_summary

    rng = np.random.default_rng(1)

    def records(bias):
        z = rng.normal(size=100) + bias
        return pd.DataFrame(dict(layer=1, mi=1.0 + 0.01 * z, se=0.01, mi_exact=1.0, se_exact=0.0, mi_y=0.5,
                                 se_y=0.01, mi_y_exact=0.5, se_y_exact=0.0))
    fair = linear_reference_check(records(0.0))
    assert fair.expected.iloc[0] == pytest.approx(95.45, abs=0.01)
    p_fair = within_chance(fair.iloc[:1])[3]
    p_biased = within_chance(linear_reference_check(records(1.5)).iloc[:1])[3]
    assert p_fair > 0.05 and p_biased < 1e-6
    assert within_summary(fair.iloc[:1]).endswith(f"= {p_fair:.2f})")
