"""Claim statistics: what each notebook's claims cell computes from tidy records (presentation only: editing
this module does not invalidate stored results)."""
from __future__ import annotations

import pandas as pd

from .notebook import claim


def condition_labels(records: pd.DataFrame) -> pd.Series:
    """A readable label per row for the setting a run differs in: its width, and any non-default activation,
    weight decay or momentum (e.g. "width 5, weight decay 0.001")."""
    def label(row):
        parts = [f"width {str(row['hidden']).strip('()').split(',')[0]}"]
        if row.get("activation", "relu") != "relu":
            parts.append(row["activation"])
        if row.get("weight_decay", 0):
            parts.append(f"weight decay {row['weight_decay']:g}")
        if row.get("momentum", 0):
            parts.append(f"momentum {row['momentum']:g}")
        return ", ".join(parts)

    cols = [c for c in ("hidden", "activation", "weight_decay", "momentum") if c in records]
    keys = records[cols].drop_duplicates()
    labels = {tuple(k): label(k) for _, k in keys.iterrows()}
    return pd.Series([labels[tuple(v)] for v in records[cols].itertuples(index=False)], index=records.index)


def transient_statistics(records: pd.DataFrame, variable: str = "colour", layer: str | None = None) -> pd.DataFrame:
    """Per run: the variable's information at initialization, its peak (value and epoch), and its final value,
    in the given layer (default: the last hidden layer). One row per run; ``records`` need a ``condition``
    column (see `condition_labels`)."""
    if layer is None:
        layer = max(records["layer"].unique(), key=lambda name: int(name.removeprefix("hidden")))
    sel = records[(records["variable"] == variable) & (records["layer"] == layer)].sort_values("step", kind="stable")
    rows = []
    for run, one in sel.groupby("run", sort=False):
        peak_at = one["bits"].idxmax()
        rows.append(dict(run=run, seed=one["seed"].iloc[0], condition=one["condition"].iloc[0], layer=layer,
                         variable=variable, initial=one["bits"].iloc[0], peak=one.loc[peak_at, "bits"],
                         peak_epoch=one.loc[peak_at, "epoch"], final=one["bits"].iloc[-1]))
    return pd.DataFrame(rows)


def _sem(x) -> float:
    x = pd.Series(x, dtype=float)
    return float(x.std(ddof=1) / len(x) ** 0.5) if len(x) > 1 else float("nan")


def dynamics_claims(records: pd.DataFrame, main: str, ceiling_bits: float) -> list[dict]:
    """The statistics behind Fig. 1's claims, as claim rows (see ``uinfo.notebook.claim``):
    colour information in the last hidden layer rises above its initial level, peaks, and decays to at most half
    its peak (ratio of seed means); direction information reaches 90% of its Bayes ceiling; and the colour
    claim again for every other condition (width or setting) of the sensitivity panel. ``main`` is the
    headline condition's label."""
    stats = transient_statistics(records)
    rows = []
    for condition in [main, *[c for c in stats["condition"].unique() if c != main]]:
        s = stats[stats["condition"] == condition]
        rise = s["peak"] - s["initial"]
        ratio = s["final"].mean() / s["peak"].mean()
        rose = rise.mean() > 2 * _sem(rise) if len(s) > 1 else rise.mean() > 0
        detail = (f"{condition}, {len(s)} seeds: initial {s['initial'].mean():.2f}, peak {s['peak'].mean():.2f} "
                  f"(epoch {s['peak_epoch'].median():.2g}, median), final {s['final'].mean():.2f} bits; "
                  f"per-seed final/peak {', '.join(f'{v:.2f}' for v in s['final'] / s['peak'])}")
        prefix = "" if condition == main else "(sensitivity) "
        rows.append(claim(prefix + "Colour information rises, peaks, then decays: final <= half the peak",
                          "mean final / mean peak colour bits, last hidden layer", ratio, _sem(s["final"] / s["peak"]),
                          bool(rose and ratio <= 0.5), detail))
    direction = records[(records["condition"] == main) & (records["variable"] == "direction")]
    last_layer = max(direction["layer"].unique(), key=lambda name: int(name.removeprefix("hidden")))
    final = direction[direction["layer"] == last_layer].sort_values("step").groupby("run")["bits"].last()
    fraction = final / ceiling_bits
    rows.insert(1, claim("Direction information reaches at least 90% of its Bayes ceiling",
                         "final direction bits / I(direction; X), last hidden layer", fraction.mean(),
                         _sem(fraction), bool(fraction.mean() >= 0.9),
                         f"{main}: {final.mean():.3f} of {ceiling_bits:.3f} bits"))
    return rows
