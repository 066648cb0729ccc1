"""Figures and claims of the Goldfeld et al. (2019) notebooks (presentation only: outside the store's code hash).
Every quantity is in nats (bits on a twin axis where it helps)."""
from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy import stats as _st

from . import stats as S
from .style import seed_band, use_style as style

LN_4096 = math.log(4096)
LN_3 = math.log(3)
HB_THIRD = -(1 / 3) * math.log(1 / 3) - (2 / 3) * math.log(2 / 3)  # h_b(1/3): two clusters of masses 1/3, 2/3
LAYER_COLOURS = plt.cm.viridis(np.linspace(0, 0.9, 5))
# SZT windows, fixed in advance as fractions of training (the checkpoints are log-spaced to 10000 epochs): the peak
# window after the fitting phase (5-25%: epochs 500-2500 at quick) and the late window (the last 40%). Compression
# is peak-window minus late-window I(X;T), so "late" is enforced: a drop before 5% of training does not count.
SZT_PEAK = S.Window("peak", 0.05, 0.25)
SZT_LATE = S.Window("late", 0.6, 1.0)
NATS_SESOI = 0.1   # nats of I(X;T) (of ln 4096 = 8.3): a smaller drop is not called compression
LOSS_SESOI = 0.02  # nats of test loss
CORRELATION_SESOI = 0.5  # "coincides" / "tracks": at least a strong correlation
BINNING_RULE = ("bins of the given width on a grid anchored at 0 (edges at integer multiples of the width), over the "
                "unbounded range: no clipping (tanh units lie in (-1, 1))")


def _bits_axis(ax) -> None:
    twin = ax.secondary_yaxis("right", functions=(lambda n: n / math.log(2), lambda b: b * math.log(2)))
    twin.set_ylabel("bits")


def _mean_band(ax, df: pd.DataFrame, x: str, y: str, colour, label: str, se: str | None = None) -> None:
    """Mean over seeds (line), spread over seeds (s.e.m., dark band) and Monte Carlo error (light band)."""
    seed_band(ax, df, x, y, label, colour, show_seeds=False, lw=1.6, alpha=0.3, mc_se=se)


# ---------------------------------------------------------------------------------------------------------------
# sp_estimator_validation

def validation_figure(df: pd.DataFrame):
    style()
    fig, axes = plt.subplots(1, 2, figsize=(10.5, 4))
    ax = axes[0]
    for d, g in df[df.sweep == "n"].groupby("d"):
        m = g.groupby("n")["error"].agg(["mean", "std"])
        ax.errorbar(m.index, m["mean"], m["std"], marker="o", capsize=3, label=f"d = {d}")
    ax.axhline(0, color="k", lw=0.8)
    ax.set(xscale="log", xlabel="samples n of P", ylabel="h_SP - h (nats)",
           title="(a) bias from below, shrinking with n")
    ax.set_yscale("symlog", linthresh=0.05)
    ax.legend()
    ax = axes[1]
    for d, g in df[df.sweep == "n_mc"].groupby("d"):
        s = g.groupby("n_mc").agg(se=("se", "mean"), spread=("estimate", "std"), n=("n", "first"))
        draws = s["n"] * s.index
        line = ax.plot(draws, s["se"], marker="o", label=f"d = {d}: reported s.e.")[0]
        ax.plot(draws, s["spread"], marker="x", ls="--", color=line.get_color(), label=f"d = {d}: sd of repeats")
        ax.plot(draws, s["se"].iloc[0] * np.sqrt(draws.iloc[0] / draws), color="grey", lw=0.8)
    ax.set(xscale="log", yscale="log", xlabel="Monte Carlo draws n x n_mc", ylabel="nats",
           title="(b) Monte Carlo error ~ 1/sqrt(n n_mc) (grey)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def validation_claims(df: pd.DataFrame) -> list[dict]:
    """(a) No positive bias: the least favourable (d, n) cell (highest upper bound of its mean error over repeats)
    stays below +0.01 nats, a "no effect" claim. (b) The Monte Carlo error shrinks like 1/sqrt(n n_mc): the slope
    of log(sd of independent repeats) against log n_mc, averaged over d, within 0.1 of -1/2 (two-sided
    equivalence), with a bootstrap over the repeats. Not the reported s.e., which scales so by construction."""
    by_n = df[df.sweep == "n"].groupby(["d", "n"])["error"].agg(["mean", "std", "count"])
    worst = (by_n["mean"] + 2 * by_n["std"] / np.sqrt(by_n["count"])).idxmax()
    cell = df[(df.sweep == "n") & (df.d == worst[0]) & (df.n == worst[1])]
    largest = by_n.groupby(level="d").tail(1)["mean"].abs().max()
    mc = df[df.sweep == "n_mc"]
    spread = mc.groupby(["d", "n_mc"]).agg(se=("se", "mean"), sd=("estimate", "std"), repeats=("estimate", "size"))
    ratio = spread["sd"] / spread["se"]

    def slope(t: pd.DataFrame) -> float:
        sd = t.groupby(["d", "n_mc"])["estimate"].std()
        return float(np.mean([np.polyfit(np.log(g.index.get_level_values("n_mc")), np.log(g), 1)[0]
                              for _, g in sd.groupby(level="d")]))

    slopes = {d: slope(g) for d, g in mc.groupby("d")}
    return [
        S.verdict("The SP (plug-in) entropy estimate approaches the truth from below",
                  f"mean error (estimate - truth) over repeats, least favourable cell (d = {worst[0]}, n = {worst[1]})",
                  S.t_interval(cell.set_index("repeat")["error"]), 0.01, "nats", predicts="no effect",
                  detail=f"|mean error| at the largest n: {largest:.3f} nats; reproduced when the interval lies "
                         "below +0.01 nats"),
        S.verdict("The Monte Carlo error shrinks like 1/sqrt(n n_mc)",
                  f"slope of log(sd of {int(spread['repeats'].min())} independent repeats) against log n_mc, mean "
                  "over d (bootstrap over repeats)", S.bootstrap_interval(mc.set_index("repeat"), slope), 0.1, "slope",
                  direction=0, predicts="no effect", reference=-0.5,
                  detail=f"per d: {', '.join(f'{v:.2f}' for v in slopes.values())}; sd of repeats / reported s.e. "
                         f"{ratio.median():.2f} (median; range {ratio.min():.2f}-{ratio.max():.2f})"),
    ]


# ---------------------------------------------------------------------------------------------------------------
# szt_replicas

REPLICA_QUANTITIES = (("mi", "se", "I(X;T_l)"), ("mi_y", "se_y", "I(T_l;Y)"))


def replica_figure(panels: dict[str, pd.DataFrame], quick_pool: int, layers=(3, 4, 5)):
    """One row per (net, quantity), one column per checkpoint: the plain SP estimate against its replicas per
    input (solid, ±2 s.e.), the fresh-replica estimate against its pool's replicas (dashed, hollow; the
    profile's setting ringed), and the exact value where there is one (dotted)."""
    style()
    rows = [(name, q) for name in panels for q in REPLICA_QUANTITIES]
    epochs = sorted(next(iter(panels.values())).epoch.unique())
    fig, axes = plt.subplots(len(rows), len(epochs), figsize=(3.6 * len(epochs), 2.9 * len(rows)), squeeze=False)
    for i, (name, (col, se, label)) in enumerate(rows):
        df = panels[name]
        for j, epoch in enumerate(epochs):
            ax = axes[i, j]
            for layer in layers:
                colour = LAYER_COLOURS[layer - 1]
                at = df[(df.epoch == epoch) & (df.layer == layer)]
                plain, fresh = at[at.estimator == "plain"], at[at.estimator == "fresh"]
                ax.errorbar(plain.replicas, plain[col], yerr=2 * plain[se], color=colour, marker="o", ms=4,
                            capsize=2, label=f"layer {layer}: plain")
                ax.errorbar(fresh.replicas, fresh[col], yerr=2 * fresh[se], color=colour, marker="s", ms=5,
                            mfc="none", ls="--", capsize=2, label=f"layer {layer}: fresh")
                mine = fresh[fresh.replicas == quick_pool]
                ax.plot(mine.replicas, mine[col], "o", ms=11, mfc="none", color="k", lw=0.8)
                exact = at[at.estimator == "exact"]
                if len(exact):
                    ax.axhline(float(exact[col].iloc[0]), color=colour, ls=":", lw=1.2)
            ticks = sorted(df.loc[df.estimator != "exact", "replicas"].unique())
            ax.set(xscale="log", xlabel="replicas per input (fresh: of the pool)", ylabel="nats",
                   title=f"{label}, {name}, epoch {epoch}")
            ax.set_xticks(ticks, [str(int(t)) for t in ticks])
            ax.minorticks_off()
    axes[0, 0].legend(fontsize=6, ncol=2)
    fig.tight_layout()
    return fig


def _deviation_interval(diff: pd.Series, error: pd.Series, df: float = math.inf,
                        method: str = "Monte Carlo (normal)") -> tuple[S.Interval, tuple]:
    """The least favourable cell of a difference with Monte Carlo errors (largest |difference| + 2 s.e.) as an
    interval from the cell's standard error (one net, not seeds): normal, or t with ``df`` degrees of freedom."""
    worst = (diff.abs() + 2 * error).idxmax()
    worst = tuple(v if isinstance(v, str) else int(v) for v in worst)
    d, e = float(diff[worst]), float(error[worst])
    half = float(_st.t.ppf(0.975, df)) * e
    return S.Interval(d, d - half, d + half, 1, method, float("nan"), e, df), worst


def paired_cells(paired: pd.DataFrame, pool: int, reference: int | None = None):
    """The panel's common draws (estimator "paired") per (quantity, epoch, layer): the mean over batches of the
    estimate with ``pool`` replicas, or of its difference from the ``reference`` pool's estimate on the same
    batches (those the reference has), with the standard error over batches; and the fewest batches of a cell."""
    keys = ["epoch", "layer", "batch"]
    mine = paired[paired.replicas == pool].set_index(keys)
    ref = paired[paired.replicas == reference].set_index(keys) if reference is not None else None
    means, errors, counts = {}, {}, []
    for col, _, label in REPLICA_QUANTITIES:
        x = mine[col] if ref is None else (mine[col] - ref[col]).dropna()
        per_cell = x.groupby(level=["epoch", "layer"])
        means[label], errors[label] = per_cell.mean(), per_cell.std(ddof=1) / np.sqrt(per_cell.count())
        counts.append(int(per_cell.count().min()))
    return pd.concat(means), pd.concat(errors), min(counts)


def exact_cells(paired: pd.DataFrame, exact: pd.DataFrame, pool: int):
    """The ``pool``'s estimate over every batch of the common draws minus the exact value (estimator "exact"
    records), per (quantity, epoch, layer), with the combined standard error (over batches, and the exact value's
    own Monte Carlo error) and the fewest batches of a cell."""
    mine, error, n = paired_cells(paired, pool)
    at = exact.set_index(["epoch", "layer"])
    diff = mine - pd.concat({label: at[col] for col, _, label in REPLICA_QUANTITIES})
    error = np.sqrt(error ** 2 + pd.concat({label: at[se] for _, se, label in REPLICA_QUANTITIES}) ** 2)
    return diff, error, n


def paired_figure(panels: dict[str, pd.DataFrame], quick_pool: int, layers=(3, 4, 5)):
    """The common draws, one column per net and one row per quantity: per (checkpoint, layer) cell, each pool's
    estimate minus the 1000-replica pool's on the same batches (mean over batches, 95% t interval), the profile's
    pool filled; for a net with an exact value also the profile's pool over every batch minus it (black
    diamonds, its Monte Carlo error added); grey: ±0.1 nats, the SESOI the convergence claims are decided by."""
    style()
    fig, axes = plt.subplots(len(REPLICA_QUANTITIES), len(panels), figsize=(5.6 * len(panels), 6.2), squeeze=False)
    for j, (name, df) in enumerate(panels.items()):
        df = df[df.layer.isin(layers)]
        paired = df[df.estimator == "paired"]
        reference = int(df.loc[df.estimator == "plain", "replicas"].max())
        pools = sorted(set(paired.replicas) - {reference})
        series = []  # (differences, their errors, batches, offset on the axis, label, marker style)
        for k, pool in enumerate(pools):
            diff, err, n = paired_cells(paired, pool, reference)
            series.append((diff, err, n, 0.12 * (k - (len(pools) - 1) / 2), f"pool {pool} - pool {reference} ({n} "
                           f"batches)", dict(marker="o", color=LAYER_COLOURS[k],
                                             mfc=None if pool == quick_pool else "none")))
        exact = df[df.estimator == "exact"]
        if len(exact):
            diff, err, n = exact_cells(paired, exact, quick_pool)
            series.append((diff, err, n, 0.3, f"pool {quick_pool} ({n} batches) - exact value",
                           dict(marker="D", color="k")))
        for i, (_, _, label) in enumerate(REPLICA_QUANTITIES):
            ax, cells = axes[i, j], series[0][0][label].index
            for diff, err, n, offset, what, marker in series:
                ax.errorbar(np.arange(len(cells)) + offset, diff[label].reindex(cells),
                            yerr=float(_st.t.ppf(0.975, n - 1)) * err[label].reindex(cells), ls="none", ms=4,
                            capsize=2, label=what, **marker)
            ax.axhspan(-NATS_SESOI, NATS_SESOI, color="0.9", zorder=0)
            ax.axhline(0, color="0.5", lw=0.8)
            ax.set_xticks(np.arange(len(cells)), [f"ep {e}\nL{l}" for e, l in cells], fontsize=7)
            ax.set(ylabel="difference (nats)", title=f"{label}, {name}: on common draws")
        axes[0, j].legend(fontsize=6)
    fig.tight_layout()
    return fig


def replica_claims(panels: dict[str, pd.DataFrame], quick_pool: int, layers=(3, 4, 5)) -> list[dict]:
    """Per net: the profile's fresh-replica estimate within 0.1 nats of the 1000-replica estimate at every shown
    checkpoint, layer and quantity (the least favourable cell decides: a "no effect" claim, two-sided), on common
    draws: batch by batch, the same inputs, own samples and noise, the pools differing only in the other inputs'
    share of the mixture, so the paired difference carries little of the draws' spread (t interval over
    batches). For a net with an exact value, the same against it, from the pool's estimate over every batch. The
    plain estimate from 8 replicas is reported beside, against the plain 1000-replica estimate or the exact value
    (unpaired)."""
    rows = []
    for name, df in panels.items():
        df = df[df.layer.isin(layers)]
        paired = df[df.estimator == "paired"]
        reference = int(df.loc[df.estimator == "plain", "replicas"].max())
        plain = df[df.estimator == "plain"]
        few = plain[plain.replicas == plain.replicas.min()].set_index(["epoch", "layer"])
        comparisons = [(f"the {reference}-replica estimate", plain[plain.replicas == reference], *paired_cells(
            paired, quick_pool, reference))]
        exact = df[df.estimator == "exact"]
        if len(exact):
            comparisons.append(("its exact value", exact, *exact_cells(paired, exact, quick_pool)))
        for what, ref, diff, error, n in comparisons:
            ref = ref.set_index(["epoch", "layer"])
            old = pd.concat({label: few[col] - ref[col] for col, _, label in REPLICA_QUANTITIES})
            interval, worst = _deviation_interval(diff, error, df=n - 1, method="t over batches of common draws")
            how = (f"over {n} batches, minus its exact value" if what == "its exact value" else
                   f"minus the pool of {reference} replicas per input on the same draws ({n} batches)")
            rows.append(S.verdict(
                f"(check) The SP estimate at the profile's setting has converged in noise replicas: {name} net, "
                f"against {what}",
                f"fresh-replica estimate (pool {quick_pool}, own {int(paired.own_replicas.iloc[0])}) {how}, least "
                f"favourable of {len(diff)} (quantity, checkpoint, layer) cells: {worst[0]}, epoch {worst[1]}, layer "
                f"{worst[2]}, nats", interval, NATS_SESOI, "nats", direction=0, predicts="no effect",
                detail=f"mean difference {diff.mean():+.3f} nats; the plain estimate from "
                       f"{int(few.replicas.iloc[0])} replicas: mean {old.mean():+.3f}, largest {old.abs().max():.3f} "
                       f"nats (at {', '.join(map(str, old.abs().idxmax()))})"))
    return rows


# ---------------------------------------------------------------------------------------------------------------
# single_neuron

def neuron_density(t: np.ndarray, centres, beta: float) -> np.ndarray:
    c = np.asarray(centres, float)
    return np.exp(-(t[:, None] - c[None, :]) ** 2 / (2 * beta ** 2)).mean(1) / (beta * math.sqrt(2 * math.pi))


def single_neuron_figure(df: pd.DataFrame, beta: float, show_epochs):
    """x axis: epoch + 1 (log), so that the initial state is drawn too."""
    style()
    fig, axes = plt.subplots(1, 4, figsize=(18, 4.2))
    d = df.assign(step=df.epoch + 1)
    s0 = d[d.seed == d.seed.min()]
    ax = axes[0]
    _mean_band(ax, d, "step", "mi_exact", "C0", "I(X;T), quadrature")
    ax.errorbar(s0.step, s0.mi_sp, 2 * s0.se_sp, fmt=".", color="C1", ms=4, label="SP estimate (seed 0, ±2 s.e.)")
    ax.plot(s0.step, s0.binned, color="C2", ls=":", label="H(Bin(T)) of the deterministic neuron, B = 10β")
    for v, name in ((LN_3, "ln 3"), (HB_THIRD, "h_b(1/3)")):
        ax.axhline(v, color="grey", ls="--", lw=0.8)
        ax.text(1, v + 0.01, name, fontsize=8, color="grey")
    ax.set(xscale="log", xlabel="epoch + 1 (full-batch steps)", ylabel="nats", title="(a) I(X;T) rises, then falls")
    _bits_axis(ax)
    ax.legend(fontsize=7, loc="lower center")
    ax = axes[1]
    _mean_band(ax, d, "step", "w", "C3", "w")
    _mean_band(ax, d, "step", "b", "C4", "b")
    ax.set(xscale="log", xlabel="epoch + 1", title="(b) weight and bias")
    ax.legend()
    ax = axes[2]
    for i, x in enumerate((-3, -1, 1)):
        ax.plot(s0.step, s0[f"t{i}"], color=f"C{i + 5}", label=f"tanh(w·({x}) + b)")
        ax.fill_between(s0.step, s0[f"t{i}"] - 2 * beta, s0[f"t{i}"] + 2 * beta, color=f"C{i + 5}", alpha=0.3)
    ax.set(xscale="log", xlabel="epoch + 1", ylabel="T (±2β bands)", title="(c) the three noiseless outputs (seed 0)")
    ax.legend(fontsize=7)
    ax = axes[3]
    t = np.linspace(-1.0 - 4 * beta, -0.95, 4001)
    for e in show_epochs:
        row = s0.iloc[(s0.epoch - e).abs().argmin()]
        ax.plot(t, neuron_density(t, [row.t0, row.t1, row.t2], beta),
                label=f"epoch {int(row.epoch)} (I = {row.mi_exact:.2f} nats)")
    ax.set(xlabel="T (near -1)", ylabel="density of T",
           title="(d) the two class -1 bumps merge")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def single_neuron_claims(df: pd.DataFrame) -> list[dict]:
    """Exact (quadrature) I(X;T) of the single tanh neuron, per seed. Its curve has no estimation noise, so its
    peak is not an extreme of noise: (a) the peak is ln 3 within 0.05 nats (two-sided); (b) it falls from the peak
    to the end by at least 0.1 nats; (c) the SP estimate agrees with quadrature: its mean signed error over
    checkpoints within 0.02 nats (two-sided)."""
    per_seed = df.groupby("seed").agg(peak=("mi_exact", "max"), final=("mi_exact", "last"),
                                      peak_epoch=("mi_exact", lambda s: df.loc[s.idxmax(), "epoch"]))
    sp_gap = (df.mi_sp - df.mi_exact).abs() / df.se_sp.clip(lower=1e-9)
    error = (df.mi_sp - df.mi_exact).groupby(df.seed).mean()
    return [
        S.verdict("I(X;T) of the single tanh neuron rises to about ln 3", "peak I(X;T) (quadrature), nats",
                  S.t_interval(per_seed.peak), 0.05, "nats", direction=0, predicts="no effect", reference=LN_3,
                  detail=f"ln 3 = {LN_3:.4f}; peak at epoch {per_seed.peak_epoch.median():.0f} (median)"),
        S.verdict("... then falls as the two same-class points saturate together", "peak - final I(X;T) "
                  "(quadrature), nats", S.t_interval(per_seed.peak - per_seed.final), NATS_SESOI, "nats",
                  detail=f"final {per_seed.final.mean():.3f} nats vs h_b(1/3) = {HB_THIRD:.4f}"),
        S.verdict("(check) the SP estimator agrees with quadrature", "mean SP - exact I(X;T) over checkpoints, nats",
                  S.t_interval(error), 0.02, "nats", direction=0, predicts="no effect",
                  detail=f"median |SP - exact| / s.e. {sp_gap.median():.2f} over {len(df)} checkpoints"),
    ]


# ---------------------------------------------------------------------------------------------------------------
# SZT networks

def _layer_panel(ax, df: pd.DataFrame, column: str, se: str | None, title: str, ylabel: str = "nats") -> None:
    for layer, g in df.groupby("layer"):
        _mean_band(ax, g[g.epoch > 0], "epoch", column, LAYER_COLOURS[int(layer) - 1], f"layer {layer}", se)
    ax.set(xscale="log", xlabel="epoch", ylabel=ylabel, title=title)


def _loss_panel(ax, df: pd.DataFrame, title: str) -> None:
    first = df[(df.layer == 1) & (df.epoch > 0)]
    _mean_band(ax, first, "epoch", "train_loss", "C0", "train")
    _mean_band(ax, first, "epoch", "test_loss", "C3", "test")
    acc = first.groupby("epoch").test_acc.mean()
    ax.set(xscale="log", yscale="log", xlabel="epoch", ylabel="cross-entropy (nats)",
           title=f"{title} (final test accuracy {acc.iloc[-1]:.3f})")
    ax.legend(fontsize=8)


def szt_figure(records: pd.DataFrame, snapshots: pd.DataFrame, bin_width: float, name: str):
    """I(X;T_l) over training, losses, binning row, and the last hidden layer at four epochs (member 0)."""
    style()
    fig = plt.figure(figsize=(15, 8.5))
    ax = fig.add_subplot(2, 4, (1, 2))
    _layer_panel(ax, records, "mi", "se", f"(a) I(X;T_l), SP estimate ({name})")
    ax.axhline(LN_4096, color="grey", ls="--", lw=0.8)
    ax.text(1, LN_4096 + 0.05, "H(X) = ln 4096", fontsize=8, color="grey")
    ax.legend(fontsize=8, ncol=5, loc="lower left")
    _bits_axis(ax)
    _loss_panel(fig.add_subplot(2, 4, 3), records, "(b) noiseless loss")
    ax = fig.add_subplot(2, 4, 4)
    _layer_panel(ax, records, f"bin_{bin_width:.4g}", None, f"(c) H(Bin(S_l)), bin {bin_width:.3g}")
    epochs = sorted(snapshots.epoch.unique())[:4]
    dims = [c for c in snapshots.columns if c.startswith("t")]
    for i, e in enumerate(epochs):
        s = snapshots[snapshots.epoch == e]
        if len(dims) >= 3:
            ax = fig.add_subplot(2, 4, 5 + i, projection="3d")
            ax.scatter(s[dims[0]], s[dims[1]], s[dims[2]], c=s.label, cmap="coolwarm", s=2, alpha=0.5)
        else:
            ax = fig.add_subplot(2, 4, 5 + i)
            ax.scatter(s[dims[0]], s[dims[-1]], c=s.label, cmap="coolwarm", s=2, alpha=0.5)
        mi = records[(records.epoch == e) & (records.layer == records.layer.max())].mi.mean()
        ax.set_title(f"(d) last hidden layer, epoch {e}\nI(X;T) = {mi:.2f} nats (mean over seeds)", fontsize=9)
    fig.tight_layout()
    return fig


def compression(records: pd.DataFrame, layer: int, column: str = "mi", after: int = 1) -> pd.DataFrame:
    """Per seed: the peak of ``column`` in ``layer`` (epochs >= ``after``), its epoch, the final value, and
    peak - final ("compression")."""
    d = records[(records.layer == layer) & (records.epoch >= after)]
    out = []
    for seed, g in d.groupby("seed"):
        g = g.sort_values("epoch")
        i = g[column].idxmax()
        out.append(dict(seed=seed, peak=g.loc[i, column], peak_epoch=g.loc[i, "epoch"], final=g[column].iloc[-1],
                        compression=g.loc[i, column] - g[column].iloc[-1]))
    return pd.DataFrame(out)


def _length(records: pd.DataFrame) -> float:
    return float(records.epoch.max())


def windowed_compression(records: pd.DataFrame, layer: int, column: str = "mi") -> pd.Series:
    """Per seed: mean ``column`` of ``layer`` over the SZT peak window minus over the late window."""
    d = records[records.layer == layer]
    length = _length(records)
    return S.window_mean(d, column, SZT_PEAK, length) - S.window_mean(d, column, SZT_LATE, length)


def _szt_windows(records: pd.DataFrame) -> str:
    return f"{SZT_PEAK.label(_length(records))}, {SZT_LATE.label(_length(records))}"


def _correlation(column: str):
    return lambda t: float(np.corrcoef(t.mi, t[column])[0, 1])


def szt_claims(records: pd.DataFrame, bin_width: float) -> list[dict]:
    """Compression in the two deepest layers (peak-window minus late-window I(X;T_l), SESOI 0.1 nats); the test
    loss rises meanwhile (late minus peak window, SESOI 0.02 nats); and compression coincides with clustering (the
    correlation of I(X;T_l) with H(Bin(S_l)) over checkpoints and seeds, a seed bootstrap, SESOI 0.5)."""
    last = int(records.layer.max())
    rows = []
    for layer in (last - 1, last):
        c = compression(records, layer)
        rows.append(S.verdict(f"Deep layers compress late in training: layer {layer}",
                              "peak-window minus late-window I(X;T_l), nats",
                              S.t_interval(windowed_compression(records, layer)), NATS_SESOI, "nats",
                              detail=f"{_szt_windows(records)}; extreme values beside: peak - final "
                                     f"{c.compression.mean():.2f}, peak at epoch {c.peak_epoch.median():.0f} (median)"))
    first = records[records.layer == 1]
    rise = (S.window_mean(first, "test_loss", SZT_LATE, _length(records))
            - S.window_mean(first, "test_loss", SZT_PEAK, _length(records)))
    best = first.loc[first.groupby("seed").test_loss.idxmin(), "epoch"]
    rows.append(S.verdict("... while the test loss rises", "late-window minus peak-window test loss, nats",
                          S.t_interval(rise), LOSS_SESOI, "nats",
                          detail=f"minimum at epoch {best.median():.0f} (median; an extreme value, beside)"))
    deep = records[(records.layer >= last - 1) & (records.epoch > 0)]
    rows.append(S.verdict("Compression coincides with clustering", f"correlation of I(X;T_l) with H(Bin(S_l)), bin "
                          f"{bin_width:.3g}, layers {last - 1}-{last}, all checkpoints (seed bootstrap)",
                          S.bootstrap_interval(deep.set_index("seed"), _correlation(f"bin_{bin_width:.4g}")),
                          CORRELATION_SESOI, "correlation", detail=BINNING_RULE))
    return rows


def variants_figure(records: dict[str, pd.DataFrame]):
    style()
    n = len(records)
    fig, axes = plt.subplots(2, n, figsize=(4.2 * n, 7.5), squeeze=False)
    for i, (name, df) in enumerate(records.items()):
        _layer_panel(axes[0, i], df, "mi", "se", f"I(X;T_l): {name}")
        axes[0, i].axhline(LN_4096, color="grey", ls="--", lw=0.8)
        _loss_panel(axes[1, i], df, "loss")
    axes[0, 0].legend(fontsize=8)
    fig.tight_layout()
    return fig


def _linear_exact_detail(df: pd.DataFrame, late_from: int = 100) -> str:
    """The same statistic on the linear net's exact I(X;T_5) (no noise replicas), and its change over the late
    phase (from the first checkpoint at or after ``late_from`` to the end): is the SP estimate's drop real, and
    is it late?"""
    if "mi_exact" not in df or df["mi_exact"].isna().all():
        return ""
    layer = int(df.layer.max())
    exact = compression(df, layer, column="mi_exact")
    d = df[df.layer == layer]
    start = d.loc[d.epoch >= late_from, "epoch"].min()
    late = (d[d.epoch == d.epoch.max()].set_index("seed")["mi_exact"]
            - d[d.epoch == start].set_index("seed")["mi_exact"])
    return (f"exact I(X;T_5) of the linear net: peak - final {exact.compression.mean():.2f} ± "
            f"{S.sem(exact.compression):.2f} nats, peak at epoch {exact.peak_epoch.median():.0f} (median); change from "
            f"epoch {start} to the end {late.mean():+.2f} ± {S.sem(late):.2f}: the drop is real and early, none is late. "
            f"The SP estimate (the profile's noise replicas) reads {(d['mi'] - d['mi_exact']).mean():+.2f} nats above the exact "
            "value on average")


def variants_claims(records: dict[str, pd.DataFrame]) -> list[dict]:
    """Peak-window minus late-window I(X;T_5) per variant (SESOI 0.1 nats): the linear net's (on its exact
    I(X;T), where computed) and ReLU's are claimed absent (a "no effect" claim, one-sided); orthonormal weights
    suppress it (tanh minus orthonormal, paired within seed)."""
    rows, amounts = [], {}
    for name, df in records.items():
        amounts[name] = windowed_compression(df, int(df.layer.max()))
    for name, a in amounts.items():
        df = records[name]
        if name.startswith("linear"):
            exact = "mi_exact" in df and df["mi_exact"].notna().all()
            value = windowed_compression(df, int(df.layer.max()), "mi_exact") if exact else a
            rows.append(S.verdict("Linear activations show no compression",
                                  f"peak-window minus late-window {'exact ' if exact else ''}I(X;T_5), {name}, nats",
                                  S.t_interval(value), NATS_SESOI, "nats", predicts="no effect",
                                  detail=f"{_szt_windows(df)}; SP estimate {a.mean():+.2f} ± {S.sem(a):.2f}. "
                                         + _linear_exact_detail(df)))
        elif "orthonormal" in name and "tanh" in amounts:
            base = amounts["tanh"]
            interval = S.paired_interval(base, a) if set(base.index) == set(a.index) else S.welch_interval(base, a)
            rows.append(S.verdict("Orthonormal weights suppress compression [MEM]", f"peak-window minus late-window "
                                  f"I(X;T_5), tanh minus {name}, nats", interval, NATS_SESOI, "nats",
                                  detail=f"tanh {base.mean():.2f}, {name} {a.mean():.2f} nats"))
        elif name == "relu":
            rows.append(S.verdict("ReLU shows little or no compression [MEM low]", "peak-window minus late-window "
                                  "I(X;T_5), relu, nats", S.t_interval(a), NATS_SESOI, "nats", predicts="no effect"))
    return rows


# ---------------------------------------------------------------------------------------------------------------
# binning_vs_sp

def binning_figure(noisy: pd.DataFrame, deterministic: pd.DataFrame, widths, layers=(3, 4, 5)):
    style()
    fig, axes = plt.subplots(2, len(layers), figsize=(4.6 * len(layers), 7.5), squeeze=False)
    for row, (name, df) in enumerate((("noisy net (β = 0.005): S_l", noisy), ("deterministic twin (β = 0)", deterministic))):
        for j, layer in enumerate(layers):
            ax = axes[row, j]
            d = df[(df.layer == layer) & (df.epoch > 0)]
            for k, w in enumerate(widths):
                _mean_band(ax, d, "epoch", f"bin_{w:.4g}", f"C{k}", f"H(Bin), bin {w:.3g}")
            if "mi" in d and d.mi.notna().any():
                _mean_band(ax, d, "epoch", "mi", "k", "SP I(X;T_l)", "se")
            ax.axhline(LN_4096, color="grey", ls="--", lw=0.8)
            ax.set(xscale="log", xlabel="epoch", ylabel="nats", title=f"{name}, layer {layer}")
    axes[0, 0].legend(fontsize=7)
    fig.tight_layout()
    return fig


def binning_claims(noisy: pd.DataFrame, deterministic: pd.DataFrame, widths) -> list[dict]:
    """(a) Binning tends to ln 4096 as bins shrink: per seed, the mean H(Bin) / ln 4096 at the smallest bin over
    every layer and checkpoint reaches 0.9 (interval above 0.85); (b) it tracks clustering (correlation with the
    SP I(X;T_l), layers 4-5, seed bootstrap, SESOI 0.5); (c) a deterministic net "compresses" under binning too
    (peak-window minus late-window H(Bin(T_5)), SESOI 0.1 nats)."""
    small, mid = min(widths), sorted(widths)[1]
    rows = []
    for name, df in (("noisy", noisy), ("deterministic", deterministic)):
        share = (df[f"bin_{small:.4g}"] / LN_4096).groupby(df.seed).mean()
        order = all((df[f"bin_{a:.4g}"] >= df[f"bin_{b:.4g}"] - 1e-9).mean() > 0.95
                    for a, b in zip(sorted(widths)[:-1], sorted(widths)[1:]))
        rows.append(S.verdict("Binning tends to ln 4096 as bins shrink", f"mean H(Bin) / ln 4096 at bin {small:.3g} "
                              f"({name}; every layer and checkpoint)", S.t_interval(share), 0.05, "fraction of ln 4096",
                              reference=0.85,
                              detail=("smaller bins give higher entropy at >95% of points" if order else
                                      "not monotone in bin width") + f"; {BINNING_RULE}"))
    deep = noisy[(noisy.layer >= 4) & (noisy.epoch > 0)]
    column = f"bin_{mid:.4g}"
    rows.append(S.verdict("Binning tracks clustering (follows the SP estimate)", f"correlation of H(Bin), bin {mid:.3g}, "
                          "with SP I(X;T_l), layers 4-5 (seed bootstrap)",
                          S.bootstrap_interval(deep.set_index("seed"), _correlation(column)), CORRELATION_SESOI,
                          "correlation"))
    last = int(deterministic.layer.max())
    c = compression(deterministic, last, column)
    rows.append(S.verdict("A deterministic net 'compresses' under binning too", f"peak-window minus late-window "
                          f"H(Bin(T_5)), bin {mid:.3g}, nats",
                          S.t_interval(windowed_compression(deterministic, last, column)), NATS_SESOI, "nats",
                          detail=f"{_szt_windows(deterministic)}; extreme values beside: peak - final "
                                 f"{c.compression.mean():.2f}"))
    return rows


# ---------------------------------------------------------------------------------------------------------------
# mnist_cnn_clustering

def mnist_figure(records: pd.DataFrame, matrices: dict, layer: str = "fc"):
    style()
    variants = list(matrices)
    epochs = sorted(next(iter(matrices.values())).epoch.unique())
    fig = plt.figure(figsize=(3.2 * len(epochs), 3.0 * (len(variants) + 1.3)))
    grid = fig.add_gridspec(len(variants) + 1, len(epochs), height_ratios=[1] * len(variants) + [1.3])
    for r, v in enumerate(variants):
        m = matrices[v]
        for c, e in enumerate(epochs):
            d = m[(m.epoch == e) & (m.layer == layer)]
            size = int(d.i.max()) + 1
            mat = np.zeros((size, size))
            mat[d.i, d.j] = d.cos
            mat[d.j, d.i] = d.cos
            ax = fig.add_subplot(grid[r, c])
            ax.imshow(mat, vmin=0, vmax=1, cmap="magma")
            ax.set_xticks([]), ax.set_yticks([])
            ax.set_title(f"{v}, epoch {e}", fontsize=9)
    sub = grid[len(variants), :].subgridspec(1, 2)
    ax = fig.add_subplot(sub[0])
    d = records[records.layer == layer]
    for k, (v, g) in enumerate(d.groupby("variant", sort=False)):
        g = g.assign(gap=g.within - g.between)
        _mean_band(ax, g, "epoch", "gap", f"C{k}", v)
    ax.set(xlabel="epoch", ylabel="within - between cosine", title=f"clustering of layer '{layer}' (sorted by class above)")
    ax.legend(fontsize=8)
    ax = fig.add_subplot(sub[1])
    for k, (v, g) in enumerate(d[d.epoch > 0].groupby("variant", sort=False)):
        _mean_band(ax, g, "epoch", "val_error", f"C{k}", v)
    ax.set(xlabel="epoch", ylabel="validation error", yscale="log", title="validation error")
    fig.tight_layout()
    return fig


def mnist_claims(records: pd.DataFrame, layer: str = "fc") -> list[dict]:
    """Same-class clustering grows in training, per variant: the (within - between class cosine similarity) gap
    of ``layer``, late window (the last 20% of epochs) minus initialization, per seed, SESOI 0.05."""
    rows = []
    d = records[records.layer == layer].assign(gap=lambda x: x.within - x.between)
    last = d.epoch.max()
    late = S.Window("late", 0.8, 1.0)
    for v, g in d.groupby("variant", sort=False):
        rise = S.window_mean(g, "gap", late, last) - g[g.epoch == 0].set_index("seed")["gap"]
        err = g[g.epoch == last].val_error
        rows.append(S.verdict(("Deterministic networks cluster same-class samples too" if v == "deterministic" else
                               f"({v} net) same-class clustering grows in training"),
                              f"(within - between cosine) of layer '{layer}', late window minus initial",
                              S.t_interval(rise), 0.05, "cosine similarity",
                              detail=f"{late.label(last)}; final validation error {err.mean():.4f} ± {S.sem(err):.4f}"))
    return rows


# ---------------------------------------------------------------------------------------------------------------
# usable_vs_shannon

def usable_vs_shannon_figure(records: pd.DataFrame, h_y: float):
    style()
    layers = sorted(records.layer.unique())
    fig, axes = plt.subplots(1, len(layers), figsize=(3.6 * len(layers), 3.8), sharey=True)
    for ax, layer in zip(axes, layers):
        d = records[(records.layer == layer) & (records.epoch > 0)]
        _mean_band(ax, d, "epoch", "mi_y", "C0", "Shannon I(T_l;Y), SP", "se_y")
        _mean_band(ax, d, "epoch", "iu", "C3", "usable I_u(T_l;Y), linear")
        ax.axhline(h_y, color="grey", ls="--", lw=0.8)
        ax.set(xscale="log", xlabel="epoch", title=f"layer {layer}")
    axes[0].set_ylabel("nats")
    axes[0].legend(fontsize=7)
    axes[0].text(1, h_y + 0.01, "H(Y)", fontsize=8, color="grey")
    fig.tight_layout()
    return fig


def usable_vs_shannon_claims(records: pd.DataFrame) -> list[dict]:
    """(a) Usable information never exceeds Shannon information: per seed, the mean of I_u - I_SP(T;Y) over every
    checkpoint and layer stays below +0.02 nats (a "no effect" claim); the share of points above I_SP + 2 s.e. +
    0.02 is reported beside it. (b) The linear decoder misses more information in layer 1 than in the last layer:
    late-window (I(T;Y) - I_u), layer 1 minus last, paired within seed, SESOI 0.05 nats."""
    d = records[records.epoch > 0]
    excess = d.iu - d.mi_y
    above = float((excess > 2 * d.se_y + 0.02).mean())
    length = _length(records)
    missed = records.assign(missed=records.mi_y - records.iu)
    first = S.window_mean(missed[missed.layer == 1], "missed", SZT_LATE, length)
    last = S.window_mean(missed[missed.layer == missed.layer.max()], "missed", SZT_LATE, length)
    return [
        S.verdict("(ours) Usable information never exceeds Shannon information (a decoder cannot create it)",
                  "mean of I_u - I_SP(T;Y) over checkpoints and layers, nats",
                  S.t_interval(excess.groupby(d.seed).mean()), 0.02, "nats", predicts="no effect",
                  detail=f"share of checkpoints x layers x seeds with I_u > I_SP + 2 s.e. + 0.02: {above:.3f}"),
        S.verdict("(ours) The linear decoder misses information in early layers, not in the last",
                  "late-window I(T;Y) - I_u, layer 1 minus last layer, paired within seed, nats",
                  S.paired_interval(first, last), 0.05, "nats",
                  detail=f"{SZT_LATE.label(length)}; layer 1: {first.mean():.3f}, last: {last.mean():.3f}"),
    ]

