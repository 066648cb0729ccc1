"""Claim statistics: what each notebook's claims cell computes from tidy records (presentation only: editing
this module does not invalidate stored results)."""
from __future__ import annotations

import pandas as pd

from .notebook import claim

CONFIG_COLUMNS = ("hidden", "activation", "lr", "batch_size", "weight_decay", "momentum", "epochs")


def hidden_layers(records: pd.DataFrame) -> list[str]:
    """The hidden layers named in ``records`` ("hidden1", "hidden2", ...), from the first to the last."""
    return sorted(records["layer"].unique(), key=lambda name: int(name.removeprefix("hidden")))


def condition_labels(records: pd.DataFrame) -> pd.Series:
    """A readable label per row for the setting a run differs in: its width, and any non-default activation,
    weight decay or momentum (e.g. "width 5, weight decay 0.001")."""
    def label(row):
        parts = [f"width {str(row['hidden']).strip('()').split(',')[0]}"] if "hidden" in row else []
        if row.get("activation", "relu") != "relu":
            parts.append(row["activation"])
        if row.get("weight_decay", 0):
            parts.append(f"weight decay {row['weight_decay']:g}")
        if row.get("momentum", 0):
            parts.append(f"momentum {row['momentum']:g}")
        if row.get("lr", 0.05) != 0.05:
            parts.append(f"lr {row['lr']:g}")
        if row.get("batch_size", 32) != 32:
            parts.append(f"batch {row['batch_size']}")
        return ", ".join(parts) or "default"

    cols = [c for c in ("hidden", "activation", "weight_decay", "momentum", "lr", "batch_size") if c in records]
    keys = records[cols].drop_duplicates()
    labels = {tuple(k): label(k) for _, k in keys.iterrows()}
    return pd.Series([labels[tuple(v)] for v in records[cols].itertuples(index=False)], index=records.index)


def transient_statistics(records: pd.DataFrame, variable: str = "colour", layer: str | None = None) -> pd.DataFrame:
    """Per run: the variable's information at initialization, its peak (value and epoch), and its final value,
    in the given layer (default: the last hidden layer). One row per run; ``records`` need a ``condition``
    column (see `condition_labels`)."""
    if layer is None:
        layer = hidden_layers(records)[-1]
    sel = records[(records["variable"] == variable) & (records["layer"] == layer)].sort_values("step", kind="stable")
    rows = []
    for run, one in sel.groupby("run", sort=False):
        peak_at = one["bits"].idxmax()
        config = {c: one[c].iloc[0] for c in CONFIG_COLUMNS if c in one}
        rows.append(dict(run=run, seed=one["seed"].iloc[0], condition=one["condition"].iloc[0], layer=layer,
                         variable=variable, initial=one["bits"].iloc[0], peak=one.loc[peak_at, "bits"],
                         peak_epoch=one.loc[peak_at, "epoch"], final=one["bits"].iloc[-1],
                         final_val_loss=one["val_loss"].iloc[-1] if "val_loss" in one else float("nan"), **config))
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
    final = transient_statistics(records[records["condition"] == main], "direction")["final"]
    fraction = final / ceiling_bits
    rows.insert(1, claim("Direction information reaches at least 90% of its Bayes ceiling",
                         "final direction bits / I(direction; X), last hidden layer", fraction.mean(),
                         _sem(fraction), bool(fraction.mean() >= 0.9),
                         f"{main}: {final.mean():.3f} of {ceiling_bits:.3f} bits"))
    return rows


def _beyond_noise(diff: float, se: float):
    """True/False when the difference is/isn't above twice its standard error; None with a single seed."""
    return None if se != se else bool(diff > 2 * se)


def _difference(a: pd.Series, b: pd.Series) -> tuple[float, float]:
    """Mean of a minus mean of b, and the standard error of that difference (independent seeds)."""
    return float(a.mean() - b.mean()), float((_sem(a) ** 2 + _sem(b) ** 2) ** 0.5)


def lr_batch_claims(records: pd.DataFrame, ceiling_bits: float, full_batch: int) -> list[dict]:
    """Spec section 4: final colour information is higher at the lowest learning rate than at the highest (batch
    32), and higher at the largest batch than at the smallest (lr 0.05), each effect measured against its seed
    spread (reproduced when the difference exceeds twice its standard error); every setting solves the task
    (direction >= 90% of the Bayes ceiling); and lr / batch orders the final colour information (Spearman rank
    correlation over the (lr, batch) conditions, reproduced when below -0.7)."""
    colour = transient_statistics(records, "colour")
    direction = transient_statistics(records, "direction")
    rows = []
    at32 = colour[colour["batch_size"] == 32]
    lo, hi = at32["lr"].min(), at32["lr"].max()
    diff, se = _difference(at32.loc[at32["lr"] == lo, "final"], at32.loc[at32["lr"] == hi, "final"])
    rows.append(claim("Final colour information is higher at the lowest learning rate than at the highest",
                      f"final colour bits at lr {lo:g} minus at lr {hi:g} (batch 32)", diff, se,
                      _beyond_noise(diff, se), f"{diff / se:.1f} standard errors" if se > 0 else ""))
    at05 = colour[colour["lr"] == 0.05]
    small, large = at05["batch_size"].min(), at05["batch_size"].max()
    name = "full batch" if large >= full_batch else f"batch {large}"
    diff, se = _difference(at05.loc[at05["batch_size"] == large, "final"],
                           at05.loc[at05["batch_size"] == small, "final"])
    rows.append(claim("Final colour information is higher at the largest batch than at the smallest",
                      f"final colour bits at {name} minus at batch {small} (lr 0.05)", diff, se,
                      _beyond_noise(diff, se), f"{diff / se:.1f} standard errors" if se > 0 else ""))
    solved = direction.groupby("condition", sort=False)["final"].mean() / ceiling_bits
    failed = solved[solved < 0.9]
    rows.append(claim("Every setting solves the task (direction >= 90% of its Bayes ceiling)",
                      "lowest mean final direction bits / ceiling over settings", solved.min(), None,
                      bool(failed.empty), "not solved: " + "; ".join(f"{c} ({v:.2f})" for c, v in failed.items())
                      if len(failed) else f"all {len(solved)} settings solved"))
    means = colour.groupby(["lr", "batch_size"])["final"].mean().reset_index()
    means["temperature"] = means["lr"] / means["batch_size"]
    rho = float(means["temperature"].rank().corr(means["final"].rank()))
    rows.append(claim("The ratio lr / batch size (SGD noise scale) orders the final colour information",
                      "Spearman correlation of lr/batch with mean final colour bits over settings", rho, None,
                      bool(rho < -0.7), f"{len(means)} (lr, batch) settings"))
    return rows
