"""One figure style: mean and spread over seeds, log-time axes, PDF and PNG output."""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from .claims import hidden_layers, last_layer_rows

COLORS = {"direction": "#1b7837", "colour": "#c51b7d", "configuration": "#2166ac",
          "train": "#444444", "val": "#e08214"}
STYLE = {"figure.dpi": 110, "savefig.dpi": 150, "font.size": 9, "axes.titlesize": 10, "axes.labelsize": 9,
         "legend.fontsize": 8, "axes.spines.top": False, "axes.spines.right": False, "axes.grid": True,
         "grid.alpha": 0.25}


def use_style() -> None:
    plt.rcParams.update(STYLE)


def mean_sem(df, by, y: str):
    """Mean and standard error of ``y`` over the rows of each ``by`` group (seeds), and the count."""
    g = df.groupby(by)[y].agg(["mean", "std", "count"])
    return g.assign(sem=g["std"].fillna(0) / np.sqrt(g["count"]))


def seed_band(ax, df, x: str, y: str, label: str | None = None, color=None, seed_col: str = "seed",
              show_seeds: bool = True):
    """Plot the mean of ``y`` over seeds against ``x`` with a band of +- one standard error; thin lines for
    the individual seeds. Returns the per-x summary (mean, sem, n)."""
    summary = mean_sem(df, x, y)
    if show_seeds and df[seed_col].nunique() > 1:
        for _, one in df.groupby(seed_col):
            one = one.sort_values(x)
            ax.plot(one[x], one[y], color=color, lw=0.5, alpha=0.3)
    ax.plot(summary.index, summary["mean"], color=color, lw=1.8, label=label)
    ax.fill_between(summary.index, summary["mean"] - summary["sem"], summary["mean"] + summary["sem"], color=color,
                    alpha=0.2, lw=0)
    return summary


def symlog_epochs(ax, first_epoch: float) -> None:
    """A log-like epoch axis that still shows epoch 0 (initialization)."""
    ax.set_xscale("symlog", linthresh=max(first_epoch, 1e-3))
    ax.set_xlim(left=0)
    ax.set_xlabel("epoch (symlog)")


def save(fig, name: str, figures_dir) -> list[Path]:
    """Save ``figures_dir/name.pdf`` and ``.png``; returns both paths."""
    figures_dir = Path(figures_dir)
    figures_dir.mkdir(parents=True, exist_ok=True)
    paths = [figures_dir / f"{name}.{ext}" for ext in ("pdf", "png")]
    for p in paths:
        fig.savefig(p, bbox_inches="tight")
    return paths


def checkerboard_dynamics_figure(records, main_condition: str, ceiling_bits: float, sensitivity=None):
    """Fig. 1-style panels: (a) last hidden layer and (b) first hidden layer information over training for the
    main condition, (c) train/validation loss, (d) colour information (initial, peak, final) for every condition
    (``sensitivity``: one row per run with ``condition``, ``initial``, ``peak``, ``final``)."""
    use_style()
    main = records[records["condition"] == main_condition]
    layers = hidden_layers(main)
    first_epoch = main.loc[main["epoch"] > 0, "epoch"].min()
    fig, axes = plt.subplots(2, 2, figsize=(10, 7))
    for ax, layer, title in ((axes[0, 0], layers[-1], "last hidden layer"), (axes[0, 1], layers[0], "first hidden layer")):
        for var in ("direction", "colour", "configuration"):
            seed_band(ax, main[(main["layer"] == layer) & (main["variable"] == var)], "epoch", "bits", var, COLORS[var])
        ax.axhline(ceiling_bits, ls="--", color="k", lw=0.8,
                   label=f"Bayes ceiling I(direction; X) = I(colour; X) = {ceiling_bits:.2f}")
        ax.set_title(f"({'a' if ax is axes[0, 0] else 'b'}) {title} ({layer}), FC Small {main_condition}")
        ax.set_ylabel("usable information (bits)")
        ax.set_ylim(-0.05, 1.08)
        symlog_epochs(ax, first_epoch)
    axes[0, 0].legend(loc="lower right")
    ax = axes[1, 0]
    one = main[(main["layer"] == layers[-1]) & (main["variable"] == "direction")]
    seed_band(ax, one, "epoch", "train_loss", "train", COLORS["train"])
    seed_band(ax, one, "epoch", "val_loss", "validation", COLORS["val"])
    ax.set_ylabel("cross-entropy loss (nats)")
    ax.set_title("(c) direction loss")
    symlog_epochs(ax, first_epoch)
    ax.legend()
    ax = axes[1, 1]
    if sensitivity is not None and len(sensitivity):
        _per_condition_points(axes[1, 1], sensitivity, list(sensitivity["condition"].unique()),
                              [("initial", "o", "colour, initial"), ("peak", "^", "colour, peak"),
                               ("final", "s", "colour, final")], "colour information, last hidden layer (bits)",
                              "(d) sensitivity: width and settings (mean ± s.e.m.; dots: seeds)")
    fig.tight_layout()
    return fig


def _sweep_trajectories(ax, records, column, values, fmt):
    cmap = plt.get_cmap("viridis")
    for i, v in enumerate(values):
        sel = records[records[column] == v]
        seed_band(ax, sel, "epoch", "bits", fmt(v), cmap(i / max(1, len(values) - 1)), show_seeds=False)


def lr_batch_figure(records, colour_stats, direction_stats, ceiling_bits: float, full_batch: int):
    """Spec section 4: colour information over training per learning rate (batch 32) and per batch size (lr
    0.05); final colour information against each; final direction information of every setting; final colour
    information against lr / batch. ``*_stats`` are `uinfo.claims.transient_statistics` tables."""
    use_style()
    last = hidden_layers(records)[-1]
    colour = records[(records["variable"] == "colour") & (records["layer"] == last)]
    first_epoch = colour.loc[colour["epoch"] > 0, "epoch"].min()
    fig, axes = plt.subplots(2, 3, figsize=(14, 7.5))
    bs_name = lambda b: "full batch" if b >= full_batch else f"batch {b}"  # noqa: E731
    at32, at05 = colour[colour["batch_size"] == 32], colour[colour["lr"] == 0.05]
    _sweep_trajectories(axes[0, 0], at32, "lr", sorted(at32["lr"].unique()), lambda v: f"lr {v:g}")
    axes[0, 0].set_title(f"(a) colour information, {last}, batch 32")
    _sweep_trajectories(axes[0, 1], at05, "batch_size", sorted(at05["batch_size"].unique()), bs_name)
    axes[0, 1].set_title(f"(b) colour information, {last}, lr 0.05")
    for ax in axes[0, :2]:
        ax.set_ylabel("usable information (bits)")
        ax.axhline(ceiling_bits, ls="--", color="k", lw=0.8)
        symlog_epochs(ax, first_epoch)
        ax.legend(fontsize=7)
    for ax, sel, col, label in ((axes[0, 2], colour_stats[colour_stats["batch_size"] == 32], "lr", "learning rate (batch 32)"),
                                (axes[1, 0], colour_stats[colour_stats["lr"] == 0.05], "batch_size", "batch size (lr 0.05)")):
        g = mean_sem(sel, col, "final")
        ax.errorbar(g.index, g["mean"], yerr=g["sem"], fmt="o-", capsize=3, color=COLORS["colour"],
                    label="mean ± s.e.m.")
        ax.plot(sel[col], sel["final"], ".", color="gray", alpha=0.5, label="seeds")
        ax.set_xscale("log")
        ax.set_xlabel(label)
        ax.set_ylabel("final colour information (bits)")
        ax.legend(fontsize=7)
    axes[0, 2].set_title("(c) final colour information vs learning rate")
    axes[1, 0].set_title("(d) final colour information vs batch size")
    ax = axes[1, 1]
    conditions = list(direction_stats["condition"].unique())
    g = mean_sem(direction_stats, "condition", "final").loc[conditions]
    ax.errorbar(range(len(conditions)), g["mean"], yerr=g["sem"], fmt="o", capsize=3, color=COLORS["direction"])
    ax.axhline(ceiling_bits, ls="--", color="k", lw=0.8, label="Bayes ceiling")
    ax.axhline(0.9 * ceiling_bits, ls=":", color="k", lw=0.8, label="90% of the ceiling")
    ax.set_xticks(range(len(conditions)), [c.replace("width 5, ", "").replace("width 5", "lr 0.05, batch 32")
                                           for c in conditions], rotation=60, ha="right", fontsize=7)
    ax.set_ylabel("final direction information (bits)")
    ax.set_title("(e) does every setting solve the task?")
    ax.legend(fontsize=7)
    ax = axes[1, 2]
    means = mean_sem(colour_stats, ["lr", "batch_size"], "final").reset_index()
    sc = ax.scatter(means["lr"] / means["batch_size"], means["mean"], c=np.log10(means["batch_size"]), cmap="viridis")
    ax.errorbar(means["lr"] / means["batch_size"], means["mean"], yerr=means["sem"], fmt="none", ecolor="gray",
                capsize=2)
    fig.colorbar(sc, ax=ax, label="log10 batch size")
    ax.set_xscale("log")
    ax.set_xlabel("lr / batch size")
    ax.set_ylabel("final colour information (bits)")
    ax.set_title("(f) does lr / batch order the results?")
    fig.tight_layout()
    return fig


def _info_axes(ax, first_epoch: float, title: str, ceiling_bits: float | None = None) -> None:
    if ceiling_bits is not None:
        ax.axhline(ceiling_bits, ls="--", color="k", lw=0.8)
    ax.set_ylabel("usable information (bits)")
    ax.set_ylim(-0.05, 1.08)
    ax.set_title(title)
    symlog_epochs(ax, first_epoch)


def _first_epoch(records) -> float:
    return records.loc[records["epoch"] > 0, "epoch"].min()


def _per_condition_points(ax, stats, conditions, columns, ylabel: str, title: str):
    """Mean ± s.e.m. of each column of ``stats`` per condition, with the seeds as grey dots."""
    offsets = np.linspace(-0.12, 0.12, len(columns)) if len(columns) > 1 else [0.0]
    for (col, marker, label), offset in zip(columns, offsets):
        g = mean_sem(stats, "condition", col).loc[conditions]
        ax.errorbar(np.arange(len(conditions)) + offset, g["mean"], yerr=g["sem"], fmt=marker, capsize=3,
                    label=label)
        for i, c in enumerate(conditions):
            vals = stats.loc[stats["condition"] == c, col]
            ax.plot(np.full(len(vals), i + offset), vals, ".", color="gray", alpha=0.5, ms=3)
    ax.set_xticks(range(len(conditions)), [c.replace(", ", "\n") for c in conditions], fontsize=7)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize=7)


def layers_figure(records, main: str, final, ceiling_bits: float):
    """Per-layer usable information over training for the headline net (one panel per variable, a line per
    layer) and the final colour and configuration bits against depth for every net (``final``:
    `uinfo.claims.final_by_layer`)."""
    use_style()
    sel = records[records["condition"] == main]
    layers = hidden_layers(sel)
    cmap = plt.get_cmap("plasma")
    fig, axes = plt.subplots(2, 3, figsize=(14, 7.5))
    for ax, var, letter in zip(axes[0], ("colour", "configuration", "direction"), "abc"):
        for i, layer in enumerate(layers):
            seed_band(ax, sel[(sel["layer"] == layer) & (sel["variable"] == var)], "epoch", "bits", layer,
                      cmap(i / max(1, len(layers))), show_seeds=False)
        _info_axes(ax, _first_epoch(sel), f"({letter}) {var} information per layer, {main}",
                   ceiling_bits if var != "configuration" else None)
        ax.legend(fontsize=7)
    conditions = list(dict.fromkeys([main, *final["condition"].unique()]))
    for ax, var, letter in zip(axes[1, :2], ("colour", "configuration"), "de"):
        for condition in conditions:
            g = mean_sem(final[(final["condition"] == condition) & (final["variable"] == var)], "depth", "bits")
            ax.errorbar(g.index, g["mean"], yerr=g["sem"], fmt="o-", capsize=3, label=condition)
        ax.set_xlabel("hidden layer (1 = first)")
        ax.set_ylabel(f"final {var} information (bits)")
        ax.set_title(f"({letter}) final {var} information against depth")
        ax.set_xticks(sorted(final["depth"].unique()))
        ax.legend(fontsize=7)
    ax = axes[1, 2]
    one = sel[(sel["layer"] == layers[-1]) & (sel["variable"] == "direction")]
    seed_band(ax, one, "epoch", "train_loss", "train", COLORS["train"])
    seed_band(ax, one, "epoch", "val_loss", "validation", COLORS["val"])
    ax.set_ylabel("cross-entropy loss (nats)")
    ax.set_title(f"(f) direction loss, {main}")
    symlog_epochs(ax, _first_epoch(sel))
    ax.legend()
    fig.tight_layout()
    return fig


def architectures_figure(records, order: list[str], stats, ceiling_bits: float):
    """One panel per architecture (last hidden layer: direction, colour, configuration over training) and a
    summary of the colour information's initial, peak and final values (``stats``: transient_statistics)."""
    use_style()
    n = len(order) + 1
    cols = 3
    fig, axes = plt.subplots((n + cols - 1) // cols, cols, figsize=(14, 3.8 * ((n + cols - 1) // cols)),
                             squeeze=False)
    axes = axes.ravel()
    for ax, condition, letter in zip(axes, order, "abcdefgh"):
        sel = records[records["condition"] == condition]
        last = hidden_layers(sel)[-1]
        for var in ("direction", "colour", "configuration"):
            seed_band(ax, sel[(sel["layer"] == last) & (sel["variable"] == var)], "epoch", "bits", var, COLORS[var])
        _info_axes(ax, _first_epoch(sel), f"({letter}) {condition} ({last})", ceiling_bits)
    axes[0].legend(fontsize=7, loc="lower right")
    _per_condition_points(axes[len(order)], stats, order,
                          [("initial", "o", "initial"), ("peak", "^", "peak"), ("final", "s", "final")],
                          "colour information, last hidden layer (bits)",
                          f"({'abcdefgh'[len(order)]}) colour information per architecture")
    for ax in axes[n:]:
        ax.set_visible(False)
    fig.tight_layout()
    return fig


def initialization_figure(records, stats, direction_stats, random: str, pretrained: list[str], ceiling_bits: float):
    """Spec section 5: (a) colour information and (b) direction losses over training for the pretrained nets
    (``pretrained``: their conditions) and the randomly initialized one (negative epochs: pretraining on colour);
    (c) colour information per warm-up length T; (d) final colour information and (e) generalization gap against T,
    with the pretrained nets beside; (f) final direction information of every condition."""
    use_style()
    colour = last_layer_rows(records[records["variable"] == "colour"])
    fig, axes = plt.subplots(2, 3, figsize=(14, 7.5))
    arms = list(zip([random, *pretrained], ["#555555", COLORS["colour"], COLORS["configuration"], "#e08214"]))
    short = {c: c.replace("width 5, ", "").replace(", fresh readout", ",\nfresh readout") for c, _ in arms}
    ax = axes[0, 0]
    for condition, color in arms:
        seed_band(ax, colour[colour["condition"] == condition], "epoch", "bits", short[condition], color)
    ax.axvline(0, color="k", lw=0.6)
    ax.axhline(ceiling_bits, ls="--", color="k", lw=0.8)
    ax.set_xscale("symlog", linthresh=1)
    ax.set_xlabel("epoch of direction training (symlog; < 0: pretraining on colour)")
    ax.set_ylabel("colour information, last hidden layer (bits)")
    ax.set_title("(a) pretrained on colour vs random initialization")
    ax.legend(fontsize=6, loc="lower left")
    ax = axes[0, 1]
    for condition, color in arms:
        one = colour[colour["condition"] == condition]
        seed_band(ax, one, "epoch", "train_loss", f"{short[condition]}: train", color, show_seeds=False)
        s = mean_sem(one, "epoch", "val_loss")
        ax.plot(s.index, s["mean"], ls="--", color=color, label="validation")
    ax.set_xscale("symlog", linthresh=1)
    ax.set_xlabel("epoch of direction training (symlog)")
    ax.set_ylabel("direction loss (nats)")
    ax.set_title("(b) direction loss (while pretraining, the net is fitting colour)")
    ax.legend(fontsize=6, loc="upper right")
    warm = stats[~stats["condition"].isin(pretrained)].copy()
    warm["T"] = warm["warmup_epochs"].fillna(0).astype(int)
    ts = sorted(warm["T"].unique())
    ax = axes[0, 2]
    cmap = plt.get_cmap("viridis")
    for i, t in enumerate(ts):
        runs = warm.loc[warm["T"] == t, "run"]
        seed_band(ax, colour[colour["run"].isin(runs)], "epoch", "bits", f"T = {t}", cmap(i / max(1, len(ts) - 1)),
                  show_seeds=False)
    _info_axes(ax, _first_epoch(colour), "(c) colour information per low-lr phase length T", ceiling_bits)
    ax.legend(fontsize=7)
    for ax, col, ylabel, letter in ((axes[1, 0], "final", "final colour information (bits)", "d"),
                                    (axes[1, 1], "generalization_gap", "validation - training loss (nats)", "e")):
        g = mean_sem(warm, "T", col)
        ax.errorbar(g.index, g["mean"], yerr=g["sem"], fmt="o-", capsize=3, color=COLORS["colour"],
                    label="low-lr first phase of T epochs")
        ax.plot(warm["T"], warm[col], ".", color="gray", alpha=0.5)
        for k, (condition, color) in enumerate(arms[1:]):
            p = stats.loc[stats["condition"] == condition, col]
            ax.errorbar([max(ts) * (1.12 + 0.08 * k) + 1], [p.mean()], yerr=[p.sem()], fmt="D", color=color,
                        capsize=3, label="pretrained, " + ("fresh readout" if "fresh" in condition else "readout kept")
                        + " (T = 0)")
        ax.set_xlabel("T (epochs)")
        ax.set_ylabel(ylabel)
        ax.set_title(f"({letter}) {ylabel.split(' (')[0]} against T")
        ax.legend(fontsize=6)
    conditions = list(direction_stats["condition"].unique())
    _per_condition_points(axes[1, 2], direction_stats, conditions, [("final", "o", "final")],
                          "final direction information (bits)", "(f) every condition solves the task?")
    axes[1, 2].axhline(ceiling_bits, ls="--", color="k", lw=0.8)
    axes[1, 2].set_xticks(range(len(conditions)), [c.replace("width 5, ", "").replace("width 5", "baseline")
                                                   .replace(" epochs at ", " ep. at\n").replace(", ", "\n")
                                                   for c in conditions], fontsize=6, rotation=45, ha="right")
    fig.tight_layout()
    return fig


def overfitting_figure(records, stats, random: str, pretrained: str):
    """The overfitting regime: (a) training and validation direction loss, (b) colour information in the last
    hidden layer, over training, pretrained on colour vs random init (mean +- s.e.m.); (c) each seed's late
    generalization gap in both arms, paired."""
    use_style()
    colour = last_layer_rows(records[records["variable"] == "colour"])
    arms = [(random, "#555555", "random init"), (pretrained, COLORS["colour"], "pretrained on colour")]
    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    ax = axes[0]
    for condition, color, label in arms:
        one = colour[colour["condition"] == condition]
        seed_band(ax, one, "epoch", "train_loss", f"{label}: training", color, show_seeds=False)
        s = mean_sem(one, "epoch", "val_loss")
        ax.plot(s.index, s["mean"], ls="--", color=color, label=f"{label}: validation")
    ax.set_xscale("symlog", linthresh=1)
    ax.set_xlabel("epoch of direction training (symlog; < 0: pretraining on colour)")
    ax.set_ylabel("direction loss (nats)")
    ax.set_ylim(0, 1.2)
    ax.set_title("(a) training vs validation loss")
    ax.legend(fontsize=7)
    ax = axes[1]
    for condition, color, label in arms:
        seed_band(ax, colour[colour["condition"] == condition], "epoch", "bits", label, color)
    ax.axvline(0, color="k", lw=0.6)
    ax.set_xscale("symlog", linthresh=1)
    ax.set_xlabel("epoch of direction training (symlog)")
    ax.set_ylabel("colour information, last hidden layer (bits)")
    ax.set_title("(b) colour information")
    ax.legend(fontsize=7)
    ax = axes[2]
    pairs = stats.pivot_table(index="seed", columns="condition", values="generalization_gap")
    for _, row in pairs.iterrows():
        ax.plot([0, 1], [row[random], row[pretrained]], "-o", color="gray", alpha=0.6, ms=4)
    ax.errorbar([0, 1], [pairs[random].mean(), pairs[pretrained].mean()],
                yerr=[pairs[random].sem(), pairs[pretrained].sem()], fmt="D", color="k", capsize=4, zorder=3)
    ax.set_xticks([0, 1], ["random init", "pretrained on colour"])
    ax.set_xlim(-0.4, 1.4)
    ax.set_ylabel("late validation - training loss (nats)")
    ax.set_title("(c) generalization gap, each seed paired")
    fig.tight_layout()
    return fig
