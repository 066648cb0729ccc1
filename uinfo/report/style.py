"""The look of every figure (rcParams, colours), the one mean +- s.e.m. band plotter and saving. Presentation only."""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

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
              show_seeds: bool = True, ls: str = "-", lw: float = 1.8, alpha: float = 0.2, marker: str | None = None,
              mc_se: str | None = None):
    """The one mean +- s.e.m. band of every figure: the mean of ``y`` over seeds against ``x`` with a band of +-
    one standard error over seeds; thin lines for the individual seeds (``show_seeds``); with ``mc_se`` (a column
    of Monte Carlo standard errors) a lighter band of +- 2 root-mean-square Monte Carlo errors around the mean.
    Returns the per-x summary (mean, sem, n)."""
    summary = mean_sem(df, x, y)
    if show_seeds and df[seed_col].nunique() > 1:
        for _, one in df.groupby(seed_col):
            one = one.sort_values(x)
            ax.plot(one[x], one[y], color=color, lw=0.5, alpha=0.3)
    mean, error = summary["mean"], summary["sem"]
    ax.plot(summary.index, mean, color=color, lw=lw, ls=ls, label=label, **({"marker": marker, "ms": 4} if marker
                                                                            else {}))
    ax.fill_between(summary.index, mean - error, mean + error, color=color, alpha=alpha, lw=0)
    if mc_se is not None:
        mc = df.groupby(x)[mc_se].apply(lambda s: float(np.sqrt((s ** 2).mean())))
        ax.fill_between(summary.index, mean - 2 * mc, mean + 2 * mc, color=color, alpha=0.12, lw=0)
    return summary


def symlog_epochs(ax, first_epoch: float) -> None:
    """A log-like epoch axis that still shows epoch 0 (initialization)."""
    ax.set_xscale("symlog", linthresh=max(first_epoch, 1e-3))
    ax.set_xlim(left=0)
    ax.set_xlabel("epoch (symlog)")


def save(fig, name: str, figures_dir) -> list[Path]:
    """Save ``figures_dir/name.pdf`` and ``.png``; returns both paths. The PDF carries no creation date, so the
    same figure is the same bytes (re-running a notebook does not change a committed PDF)."""
    figures_dir = Path(figures_dir)
    figures_dir.mkdir(parents=True, exist_ok=True)
    paths = [figures_dir / f"{name}.{ext}" for ext in ("pdf", "png")]
    for p in paths:
        fig.savefig(p, bbox_inches="tight", metadata={"CreationDate": None} if p.suffix == ".pdf" else None)
    return paths
