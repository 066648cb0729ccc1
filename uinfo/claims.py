"""Claim statistics: what each notebook's claims cell computes from tidy records (presentation only: editing
this module does not invalidate stored results)."""
from __future__ import annotations

import pandas as pd

from .notebook import claim

CONFIG_COLUMNS = ("hidden", "architecture", "activation", "lr", "batch_size", "weight_decay", "momentum", "epochs",
                  "pretrain_epochs", "warmup_epochs", "warmup_lr")


def hidden_layers(records: pd.DataFrame) -> list[str]:
    """The hidden layers named in ``records`` ("hidden1", "hidden2", ...), from the first to the last."""
    return sorted(records["layer"].unique(), key=lambda name: int(name.removeprefix("hidden")))


def last_layer_rows(records: pd.DataFrame) -> pd.DataFrame:
    """The rows of each run's last hidden layer (runs of different depths mixed)."""
    last = {run: hidden_layers(one)[-1] for run, one in records.groupby("run", sort=False)}
    return records[records["layer"] == records["run"].map(last)]


def _widths(hidden) -> list[int]:
    """Layer widths from a stored ``hidden`` value: a tuple or its CSV string "(5, 5)"."""
    return [int(w) for w in str(hidden).strip("()").split(",") if w.strip()]


def _net_label(row) -> str:
    widths = _widths(row.get("hidden", ""))
    arch = row.get("architecture", "mlp")
    if arch in ("rnn", "gru"):
        return f"{arch.upper()} {widths[0]}" + (f" {row['activation']}" if arch == "rnn" else "")
    if len(widths) == 2 and widths[0] == widths[1]:
        return f"width {widths[0]}"
    if len(set(widths)) == 1:
        return f"{len(widths)} layers of width {widths[0]}"
    return "widths " + "-".join(map(str, widths))


def architecture_labels(records: pd.DataFrame) -> pd.Series:
    """Per row: "FC Small 2 × 5" (fully connected, at most 16 units wide), "FC Large 2 × 256", "RNN 5 tanh",
    "GRU 5"."""
    def label(hidden, arch, activation):
        if arch in ("rnn", "gru"):
            return _net_label({"hidden": hidden, "architecture": arch, "activation": activation})
        widths = _widths(hidden)
        size = "Small" if max(widths) <= 16 else "Large"
        shape = f"{len(widths)} × {widths[0]}" if len(set(widths)) == 1 else "-".join(map(str, widths))
        return f"FC {size} {shape}"

    cols = records[["hidden", "architecture", "activation"]].astype(str)
    return pd.Series([label(*row) for row in cols.itertuples(index=False)], index=records.index)


def _is_set(value) -> bool:
    return value is not None and value == value and value != 0  # not None, not NaN, not zero


def condition_labels(records: pd.DataFrame) -> pd.Series:
    """A readable label per row for the setting a run differs in: its network ("width 5", "4 layers of width 5",
    "RNN 5 tanh"), and any non-default activation, weight decay, momentum, lr, batch, pretraining or warm-up
    (e.g. "width 5, weight decay 0.001")."""
    def label(row):
        parts = [_net_label(row)] if "hidden" in row else []
        if row.get("activation", "relu") != "relu" and row.get("architecture", "mlp") == "mlp":
            parts.append(row["activation"])
        if row.get("weight_decay", 0):
            parts.append(f"weight decay {row['weight_decay']:g}")
        if row.get("momentum", 0):
            parts.append(f"momentum {row['momentum']:g}")
        if row.get("lr", 0.05) != 0.05:
            parts.append(f"lr {row['lr']:g}")
        if row.get("batch_size", 32) != 32:
            parts.append(f"batch {row['batch_size']}")
        if _is_set(row.get("pretrain_epochs", 0)):
            parts.append(f"pretrained on {row['pretrain_target']} for {int(row['pretrain_epochs'])} epochs")
            if row.get("reset_readout") in (True, "True"):
                parts.append("fresh readout")
        if _is_set(row.get("warmup_epochs", 0)):
            how = [f"lr {row['warmup_lr']:g}"] if _is_set(row.get("warmup_lr")) else []
            how += [f"batch {int(row['warmup_batch_size'])}"] if _is_set(row.get("warmup_batch_size")) else []
            parts.append(f"first {int(row['warmup_epochs'])} epochs at {' and '.join(how)}")
        return ", ".join(parts) or "default"

    cols = [c for c in ("hidden", "architecture", "activation", "weight_decay", "momentum", "lr", "batch_size",
                        "pretrain_target", "pretrain_epochs", "reset_readout", "warmup_epochs", "warmup_lr", "warmup_batch_size")
            if c in records]
    keys = records[cols].drop_duplicates()
    # str keys (NaN, "unset", matches itself); itertuples keeps each column's dtype, unlike iterrows
    labels = {tuple(map(str, k)): label(dict(zip(cols, k))) for k in keys.itertuples(index=False)}
    return pd.Series([labels[tuple(map(str, v))] for v in records[cols].itertuples(index=False)],
                     index=records.index)


def transient_statistics(records: pd.DataFrame, variable: str = "colour", layer: str | None = None) -> pd.DataFrame:
    """Per run: the variable's information at initialization, its peak (value and epoch), and its final value,
    in the given layer (default: each run's last hidden layer), with its final losses and generalization gap
    (validation minus training loss). One row per run; ``records`` need a ``condition`` column (see
    `condition_labels`)."""
    sel = records[records["variable"] == variable].sort_values("step", kind="stable")
    rows = []
    for run, one in sel.groupby("run", sort=False):
        one = one[one["layer"] == (layer or hidden_layers(one)[-1])]
        if one.empty:
            continue
        peak_at = one["bits"].idxmax()
        config = {c: one[c].iloc[0] for c in CONFIG_COLUMNS if c in one}
        rows.append(dict(run=run, seed=one["seed"].iloc[0], condition=one["condition"].iloc[0], layer=one["layer"].iloc[0],
                         variable=variable, initial=one["bits"].iloc[0], peak=one.loc[peak_at, "bits"],
                         peak_epoch=one.loc[peak_at, "epoch"], final=one["bits"].iloc[-1],
                         final_val_loss=one["val_loss"].iloc[-1] if "val_loss" in one else float("nan"),
                         final_train_loss=one["train_loss"].iloc[-1] if "train_loss" in one else float("nan"),
                         **config))
    out = pd.DataFrame(rows)
    if len(out):
        out["generalization_gap"] = out["final_val_loss"] - out["final_train_loss"]
    return out


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


def _lr_batch_effects(colour: pd.DataFrame, full_batch: int, column: str = "final", when: str = "") -> list[dict]:
    rows = []
    at32 = colour[colour["batch_size"] == 32]
    reached = at32[at32[column].notna()]  # at a matched loss: only the settings that reach it
    lo, hi = reached["lr"].min(), reached["lr"].max()
    diff, se = _difference(at32.loc[at32["lr"] == lo, column].dropna(), at32.loc[at32["lr"] == hi, column].dropna())
    rows.append(claim(f"Final colour information is higher at the lowest learning rate than at the highest{when}",
                      f"{column} colour bits at lr {lo:g} minus at lr {hi:g} (batch 32)", diff, se,
                      _beyond_noise(diff, se), f"{diff / se:.1f} standard errors" if se > 0 else ""))
    at05 = colour[colour["lr"] == 0.05]
    reached = at05[at05[column].notna()]
    small, large = reached["batch_size"].min(), reached["batch_size"].max()
    name = "full batch" if large >= full_batch else f"batch {large}"
    diff, se = _difference(at05.loc[at05["batch_size"] == large, column].dropna(),
                           at05.loc[at05["batch_size"] == small, column].dropna())
    rows.append(claim(f"Final colour information is higher at the largest batch than at the smallest{when}",
                      f"{column} colour bits at {name} minus at batch {small} (lr 0.05)", diff, se,
                      _beyond_noise(diff, se), f"{diff / se:.1f} standard errors" if se > 0 else ""))
    return rows


def lr_batch_claims(records: pd.DataFrame, ceiling_bits: float, full_batch: int,
                    matched: pd.DataFrame | None = None) -> list[dict]:
    """Spec section 4: final colour information is higher at the lowest learning rate than at the highest (batch
    32), and higher at the largest batch than at the smallest (lr 0.05), each effect measured against its seed
    spread (reproduced when the difference exceeds twice its standard error); every setting solves the task
    (direction >= 90% of the Bayes ceiling); and lr / batch orders the final colour information (Spearman rank
    correlation over the (lr, batch) conditions, reproduced when below -0.7). With ``matched`` (see
    `at_matched_loss`) the two effects again at a matched training loss."""
    colour = transient_statistics(records, "colour")
    direction = transient_statistics(records, "direction")
    rows = _lr_batch_effects(colour, full_batch)
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
    if matched is not None:
        rows += _lr_batch_effects(matched, full_batch, "matched", " (at a matched training loss)")
    return rows


def final_by_layer(records: pd.DataFrame, at: str = "final") -> pd.DataFrame:
    """Bits per run x layer x variable at the last checkpoint of each run (``at="final"``) or at its first
    (``"initial"``), with the layer's depth index."""
    if at not in ("final", "initial"):
        raise ValueError(f"at must be 'final' or 'initial', got {at!r}")
    pick = records.groupby("run")["step"].transform("max" if at == "final" else "min")
    last = records[records["step"] == pick]
    out = last[["run", "seed", "condition", "layer", "variable", "bits"]].copy()
    out["depth"] = out["layer"].str.removeprefix("hidden").astype(int)
    return out.reset_index(drop=True)


def _paired(a: pd.Series, b: pd.Series) -> tuple[float, float]:
    """Mean of a - b over matched seeds (both indexed by seed) and its standard error."""
    d = (a - b).dropna()
    return float(d.mean()), _sem(d)


def _lowest_verdict(is_lowest: bool, beyond):
    return False if not is_lowest else beyond


def layer_claims(records: pd.DataFrame, main: str) -> list[dict]:
    """Spec Fig. 3/4 [R]: at the end of training the first hidden layer keeps more colour and more configuration
    information than the last (paired over seeds, reproduced when the mean difference exceeds twice its standard
    error), and the last layer is the most minimal: the lowest colour + configuration bits of all layers (seed
    means; its margin over the next-lowest layer, paired over seeds, must exceed twice its standard error). The
    headline net first, then every other net as a sensitivity row."""
    final = final_by_layer(records)
    final = final[final["variable"].isin(["colour", "configuration"])]
    rows = []
    for condition in [main, *[c for c in final["condition"].unique() if c != main]]:
        f = final[final["condition"] == condition]
        prefix = "" if condition == main else "(sensitivity) "
        first, last = f["depth"].min(), f["depth"].max()
        for var in ("colour", "configuration"):
            v = f[f["variable"] == var].pivot_table(index="seed", columns="depth", values="bits")
            diff, se = _paired(v[first], v[last])
            rows.append(claim(prefix + f"Earlier layers keep more {var} information than the last",
                              f"{condition}: final {var} bits, hidden{first} minus hidden{last} (paired over seeds)",
                              diff, se, _beyond_noise(diff, se),
                              "per layer (seed means): " + ", ".join(f"hidden{d} {m:.2f}" for d, m in v.mean().items())))
        irrelevant = f.pivot_table(index="seed", columns="depth", values="bits", aggfunc="sum")
        means = irrelevant.mean()
        others = means.drop(last)
        runner_up = others.idxmin()
        margin, se = _paired(irrelevant[runner_up], irrelevant[last])
        rows.append(claim(prefix + "The last hidden layer ends the most minimal (least colour + configuration)",
                          f"{condition}: final colour + configuration bits, lowest other layer (hidden{runner_up}) "
                          f"minus hidden{last}", margin, se,
                          _lowest_verdict(bool(means.idxmin() == last), _beyond_noise(margin, se)),
                          "per layer (seed means): " + ", ".join(f"hidden{d} {m:.2f}" for d, m in means.items())))
    return rows


MIN_EFFECT_BITS = 0.05  # a rise or fall smaller than this is not called a transient, however consistent


def transient_claims(records: pd.DataFrame, order: list[str], min_effect: float = MIN_EFFECT_BITS) -> list[dict]:
    """Colour information in each run's last hidden layer is transient in every condition (architecture): it
    rises above its initial value (peak - initial) and falls from its peak (peak - final), each by more than
    twice its standard error over seeds and by at least ``min_effect`` bits. The final / peak ratio is reported
    as in checkerboard_dynamics. One row per condition in ``order``, then one for "every architecture"."""
    stats = transient_statistics(records, "colour")
    rows, present = [], []
    for condition in order:
        s = stats[stats["condition"] == condition]
        rise, fall = s["peak"] - s["initial"], s["peak"] - s["final"]
        ok = [_beyond_noise(float(x.mean()), _sem(x)) for x in (rise, fall)]
        large = rise.mean() >= min_effect and fall.mean() >= min_effect
        transient = False if not large else None if None in ok else all(ok)
        present.append(transient)
        ratio = s["final"].mean() / s["peak"].mean()
        rows.append(claim(f"Transient colour information in {condition}: rises above its initial value, then falls",
                          f"{condition}: mean final / mean peak colour bits, last hidden layer", ratio,
                          _sem(s["final"] / s["peak"]), transient,
                          f"{len(s)} seeds: initial {s['initial'].mean():.2f}, peak {s['peak'].mean():.2f} (epoch "
                          f"{s['peak_epoch'].median():.2g}, median), final {s['final'].mean():.2f} bits; rise "
                          f"{rise.mean():.2f} ± {_sem(rise):.2f}, fall {fall.mean():.2f} ± {_sem(fall):.2f}"))
    every = None if None in present else all(present)
    rows.append(claim("The transient colour information appears in every architecture",
                      f"number of architectures with a transient (rise and fall both > 2 s.e. and >= {min_effect} bits)",
                      sum(bool(p) for p in present), None, every,
                      "present in: " + (", ".join(c for c, p in zip(order, present) if p) or "none")))
    return rows


def initialization_claims(records: pd.DataFrame, random: str, pretrained: list[str]) -> list[dict]:
    """Spec section 5. (A) for each pretrained condition (the headline first): the network pretrained on colour
    ends direction training with more colour information in its last hidden layer than the randomly initialized
    one, and generalizes worse (a larger validation minus training loss); each difference against its standard
    error (independent seeds). (B) residual colour information grows with the length T of a low-learning-rate
    first phase: Spearman correlation of T with the mean final colour bits (reproduced above 0.7 with the longest
    T above T = 0 by more than twice the standard error)."""
    stats = transient_statistics(records, "colour")
    b = stats[stats["condition"] == random]
    rows = []
    for k, condition in enumerate(pretrained):
        a = stats[stats["condition"] == condition]
        prefix = "" if k == 0 else "(variant) "
        diff, se = _difference(a["final"], b["final"])
        rows.append(claim(prefix + "A network pretrained on colour ends with more colour information than a "
                          "random init", f"{condition}: final colour bits, last hidden layer, minus random init",
                          diff, se, _beyond_noise(diff, se),
                          f"pretrained {a['final'].mean():.2f}, random {b['final'].mean():.2f} bits; "
                          f"{diff / se:.1f} standard errors" if se > 0 else ""))
        diff, se = _difference(a["generalization_gap"], b["generalization_gap"])
        rows.append(claim(prefix + "... and generalizes worse",
                          f"{condition}: final validation minus training loss (nats), minus random init", diff, se,
                          _beyond_noise(diff, se), f"gap pretrained {a['generalization_gap'].mean():.4f}, random "
                          f"{b['generalization_gap'].mean():.4f} nats; val loss {a['final_val_loss'].mean():.4f} vs "
                          f"{b['final_val_loss'].mean():.4f}"))
    warm = stats[~stats["condition"].isin(pretrained)].copy()
    warm["T"] = warm["warmup_epochs"].fillna(0).astype(int) if "warmup_epochs" in warm else 0
    means = warm.groupby("T")["final"].mean()
    rho = float(pd.Series(means.index, dtype=float).rank().corr(pd.Series(means.values).rank()))
    t_max = means.index.max()
    diff, se = _difference(warm.loc[warm["T"] == t_max, "final"], warm.loc[warm["T"] == 0, "final"])
    beyond = _beyond_noise(diff, se)
    rows.append(claim("Residual colour information grows with the length T of a low-lr first phase",
                      "Spearman correlation of T with mean final colour bits", rho, None,
                      None if beyond is None else bool(rho > 0.7 and beyond),
                      "mean final colour by T: " + ", ".join(f"T={t} {m:.2f}" for t, m in means.items())
                      + f"; T={t_max} minus T=0: {diff:+.3f} ± {se:.3f} bits"))
    return rows


def at_matched_loss(records: pd.DataFrame, level: float, variable: str = "colour") -> pd.DataFrame:
    """Per run: the variable's bits in its last hidden layer at the first checkpoint where the training loss is
    at or below ``level`` (NaN where a run never gets there), for comparing settings at an equal fit."""
    stats = transient_statistics(records, variable)
    rows = []
    for run, one in last_layer_rows(records[records["variable"] == variable]).groupby("run", sort=False):
        one = one.sort_values("step")
        reached = one[one["train_loss"] <= level]
        rows.append(dict(run=run, matched_epoch=reached["epoch"].iloc[0] if len(reached) else float("nan"),
                         matched=reached["bits"].iloc[0] if len(reached) else float("nan")))
    return stats.merge(pd.DataFrame(rows), on="run")
