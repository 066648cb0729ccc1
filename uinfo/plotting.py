"""One figure style: mean and spread over seeds, log-time axes, PDF and PNG output."""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from .claims import hidden_layers

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
        conditions = list(sensitivity["condition"].unique())
        for col, marker, offset in (("initial", "o", -0.12), ("peak", "^", 0.0), ("final", "s", 0.12)):
            g = mean_sem(sensitivity, "condition", col).loc[conditions]
            x = np.arange(len(conditions)) + offset
            ax.errorbar(x, g["mean"], yerr=g["sem"], fmt=marker, capsize=3, label=f"colour, {col}")
            for i, c in enumerate(conditions):
                vals = sensitivity.loc[sensitivity["condition"] == c, col]
                ax.plot(np.full(len(vals), i + offset), vals, ".", color="gray", alpha=0.5, ms=3)
        ax.set_xticks(range(len(conditions)), [c.replace(", ", "\n") for c in conditions], fontsize=7)
        ax.set_ylabel("colour information, last hidden layer (bits)")
        ax.set_title("(d) sensitivity: width and settings (mean ± s.e.m.; dots: seeds)")
        ax.legend(loc="lower right")
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
