"""The checkerboard notebooks' claims: per-seed statistics from tidy records, decided by the shared verdict rule
(:mod:`uinfo.report.stats`). Presentation only: editing this module does not invalidate stored results.

Windows fixed in advance, as fractions of each run's epochs: the **early window** (5-20% of training, where the
transient is encoded) and the **late window** (the last 20%). Statistics are window means; the extreme-value
versions (peak, final) are only reported beside them."""
from __future__ import annotations

import numpy as np
import pandas as pd

import matplotlib.pyplot as plt

from ..experiments.checkerboard import CheckerboardConfig
from . import stats as S
from .style import COLORS, mean_sem, seed_band, symlog_epochs, use_style

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


BASELINE = CheckerboardConfig()  # the paper's FC Small setting: a label names only what differs from it


def _is_set(value) -> bool:
    return value is not None and value == value and value != 0  # not None, not NaN, not zero


def condition_labels(records: pd.DataFrame, net: bool = True, default: str = "default") -> pd.Series:
    """A readable label per row for the setting a run differs in: its network ("width 5", "4 layers of width 5",
    "RNN 5 tanh"; left out with ``net`` False, for a figure whose nets are all the same), and any non-default
    activation, weight decay, momentum, lr, batch, pretraining or warm-up (e.g. "width 5, weight decay 0.001");
    ``default`` for a run that differs in nothing."""
    def label(row):
        parts = [_net_label(row)] if net and "hidden" in row else []
        if row.get("activation", "relu") != "relu" and row.get("architecture", "mlp") == "mlp":
            parts.append(row["activation"])
        if row.get("weight_decay", 0):
            parts.append(f"weight decay {row['weight_decay']:g}")
        if row.get("momentum", 0):
            parts.append(f"momentum {row['momentum']:g}")
        if row.get("lr", BASELINE.lr) != BASELINE.lr:
            parts.append(f"lr {row['lr']:g}")
        if row.get("batch_size", BASELINE.batch_size) != BASELINE.batch_size:
            parts.append(f"batch {row['batch_size']}")
        if _is_set(row.get("pretrain_epochs", 0)):
            parts.append(f"pretrained on {row['pretrain_target']} for {int(row['pretrain_epochs'])} epochs")
            if row.get("reset_readout"):
                parts.append("fresh readout")
        if _is_set(row.get("warmup_epochs", 0)):
            how = [f"lr {row['warmup_lr']:g}"] if _is_set(row.get("warmup_lr")) else []
            how += [f"batch {int(row['warmup_batch_size'])}"] if _is_set(row.get("warmup_batch_size")) else []
            parts.append(f"first {int(row['warmup_epochs'])} epochs at {' and '.join(how)}")
        return ", ".join(parts) or default

    cols = [c for c in ("hidden", "architecture", "activation", "weight_decay", "momentum", "lr", "batch_size",
                        "pretrain_target", "pretrain_epochs", "reset_readout", "warmup_epochs", "warmup_lr", "warmup_batch_size")
            if c in records]
    keys = records[cols].drop_duplicates()
    # str keys (NaN, "unset", matches itself); itertuples keeps each column's dtype, unlike iterrows
    labels = {tuple(map(str, k)): label(dict(zip(cols, k))) for k in keys.itertuples(index=False)}
    return pd.Series([labels[tuple(map(str, v))] for v in records[cols].itertuples(index=False)],
                     index=records.index)


def without_net(records: pd.DataFrame, default: str) -> dict:
    """{condition: its label without the network} for the runs of ``records`` (a figure whose nets are all the
    same names only what else differs; ``default`` for the baseline)."""
    return dict(zip(records["condition"], condition_labels(records, net=False, default=default)))


EARLY, LATE = S.EARLY, S.LATE
COLOUR_SESOI = 0.05   # bits: a change smaller than 5% of colour's 1 bit is not called encoding or discarding
BITS_SESOI = 0.05     # bits, for any other information difference of the checkerboard
SOLVED = 0.9          # a setting solves the task when its late direction information is >= 90% of the ceiling
SPEARMAN_SESOI = 0.3  # a rank correlation weaker than 0.3 is not called an ordering
GAP_SESOI = 0.01      # nats: a smaller difference in generalization gap is not called "generalizes worse"
OVERFITS = 0.02       # nats: the reference arm must show at least this gap for "generalizes worse" to be testable
OVERFIT_WHERE = "checkerboard_overfitting (205 training samples, sigma 0.5, 2 x 64)"


def _length(one: pd.DataFrame) -> float:
    """A run's training length in epochs (its config's ``epochs``, else its last checkpoint)."""
    return float(one["epochs"].iloc[0]) if "epochs" in one and one["epochs"].notna().all() else float(one["epoch"].max())


def transient_statistics(records: pd.DataFrame, variable: str = "colour", layer: str | None = None) -> pd.DataFrame:
    """Per run, in the given layer (default: each run's last hidden layer): the variable's information at
    initialization, its means over the early and the late window, and (reported beside them only) its peak (value
    and epoch) and final value; the late-window losses and generalization gap (validation minus training loss);
    and the final ones. One row per run; ``records`` need a ``condition`` column (see `condition_labels`)."""
    sel = records[records["variable"] == variable].sort_values("step", kind="stable")
    rows = []
    for run, one in sel.groupby("run", sort=False):
        one = one[one["layer"] == (layer or hidden_layers(one)[-1])]
        if one.empty:
            continue
        length = _length(one)
        peak_at = one["bits"].idxmax()
        config = {c: one[c].iloc[0] for c in CONFIG_COLUMNS if c in one}
        windows = {w.name: float(S.window_mean(one, "bits", w, length, by="run").iloc[0]) for w in (EARLY, LATE)}
        losses = {}
        for loss in ("val_loss", "train_loss"):
            if loss in one:
                losses[f"final_{loss}"] = one[loss].iloc[-1]
                losses[f"late_{loss}"] = float(S.window_mean(one, loss, LATE, length, by="run").iloc[0])
            else:
                losses[f"final_{loss}"] = losses[f"late_{loss}"] = float("nan")
        rows.append(dict(run=run, seed=one["seed"].iloc[0], condition=one["condition"].iloc[0], layer=one["layer"].iloc[0],
                         variable=variable, initial=one["bits"].iloc[0], **windows, peak=one.loc[peak_at, "bits"],
                         peak_epoch=one.loc[peak_at, "epoch"], final=one["bits"].iloc[-1], length=length, **losses,
                         **config))
    out = pd.DataFrame(rows)
    if len(out):
        out["generalization_gap"] = out["late_val_loss"] - out["late_train_loss"]
    return out


def _solved(direction: pd.DataFrame, ceiling_bits: float, where: str = "") -> S.Precondition:
    """The task is solved: seed-mean late-window direction information >= 90% of its Bayes ceiling."""
    fraction = direction["late"].mean() / ceiling_bits
    return S.precondition_at_least(f"the task is solved (late direction information >= {SOLVED:.0%} of its "
                                   "ceiling)", fraction, SOLVED, "{:.2f} of the ceiling", where)


def _windows_text(length: float) -> str:
    return f"{EARLY.label(length)}, {LATE.label(length)}"


def dynamics_claims(records: pd.DataFrame, main: str, ceiling_bits: float) -> list[dict]:
    """Fig. 1's claims, one verdict row each: colour information in the last hidden layer is encoded early (early
    window above initialization) and later discarded (early window above late window), each by at least the
    SESOI of 0.05 bits, while the task is solved; direction information reaches 90% of its Bayes ceiling; and the
    "discarded" claim again for every other condition (width or setting) of the sensitivity panel. ``main`` is
    the headline condition's label."""
    stats = transient_statistics(records)
    direction = transient_statistics(records, "direction")
    rows = []
    for condition in [main, *[c for c in stats["condition"].unique() if c != main]]:
        s = stats[stats["condition"] == condition]
        solved = _solved(direction[direction["condition"] == condition], ceiling_bits)
        prefix = "" if condition == main else "(sensitivity) "
        ratio = s["late"].mean() / s["early"].mean()
        detail = (f"{condition}; {_windows_text(s['length'].iloc[0])}: initial {s['initial'].mean():.2f}, early "
                  f"{s['early'].mean():.2f}, late {s['late'].mean():.2f} bits (late / early {ratio:.2f}; the spec's "
                  f"bar, at most half, is {'met' if ratio <= 0.5 else 'not met'}). Extreme-value version beside it: "
                  f"peak {s['peak'].mean():.2f} (epoch {s['peak_epoch'].median():.2g}, median) minus final "
                  f"{s['final'].mean():.2f} bits")
        if condition == main:
            rows.append(S.verdict("Colour information is encoded early: it rises above its initial level",
                                  "early-window minus initial colour bits, last hidden layer",
                                  S.t_interval(S.by_seed(s, "early") - S.by_seed(s, "initial")), COLOUR_SESOI, "bits",
                                  detail=detail))
        rows.append(S.verdict(prefix + "Colour information is later discarded: early window above late window",
                              f"early-window minus late-window colour bits, last hidden layer ({condition})",
                              S.t_interval(S.by_seed(s, "early") - S.by_seed(s, "late")), COLOUR_SESOI, "bits",
                              preconditions=[solved], detail=detail))
    d = direction[direction["condition"] == main]
    rows.insert(2, S.verdict("Direction information reaches at least 90% of its Bayes ceiling",
                             "late-window direction bits / I(direction; X), last hidden layer",
                             S.t_interval(S.by_seed(d, "late") / ceiling_bits), 0.05, "fraction of the ceiling",
                             reference=SOLVED - 0.05,
                             detail=f"{main}: {d['late'].mean():.3f} of {ceiling_bits:.3f} bits; reproduced when the "
                                    "interval lies above 0.85 and the estimate reaches 0.90"))
    return rows


def _settings_solved(direction: pd.DataFrame, ceiling_bits: float) -> pd.Series:
    """Per (lr, batch): the seed-mean late direction information as a fraction of the ceiling."""
    return direction.groupby(["lr", "batch_size"])["late"].mean() / ceiling_bits


def _excluded(fractions: pd.Series) -> str:
    out = [f"lr {lr:g}, batch {bs} ({v:.2f})" for (lr, bs), v in fractions.items() if v < SOLVED]
    return ("excluded as not solving the task (late direction / ceiling): " + "; ".join(out)) if out else \
        "every setting solves the task"


def _paired_arms(stats: pd.DataFrame, arm, baseline, column: str = "late") -> S.Interval:
    return S.paired_interval(S.by_seed(stats[arm], column), S.by_seed(stats[baseline], column))


def lr_batch_claims(records: pd.DataFrame, ceiling_bits: float, full_batch: int,
                    matched: pd.DataFrame | None = None) -> list[dict]:
    """Spec section 4, among the settings that solve the task only (late direction >= 90% of the ceiling; the
    others are named in the row): late colour information is higher at the lowest learning rate than at the
    highest (batch 32), and at the largest batch than at the smallest (lr 0.05), paired within seed, SESOI 0.05
    bits; and lr / batch orders the late colour information (Spearman correlation of log(lr / batch) with the
    seed-mean late colour bits over the solved settings, a seed bootstrap, SESOI 0.3).

    The lr contrast compares arms at equal steps (same batch, same epochs). The batch contrast does not: at equal
    epochs the small batch takes many more steps. With ``matched`` (see `at_matched_loss`, the first checkpoint at
    the matched training loss) the batch contrast again at an equal fit; it is testable only where both arms reach
    that loss after their early window, i.e. at a similar stage of training, not one of them inside its
    transient."""
    colour = transient_statistics(records, "colour")
    direction = transient_statistics(records, "direction")
    fractions = _settings_solved(direction, ceiling_bits)
    solved = {k for k, v in fractions.items() if v >= SOLVED}
    excluded = _excluded(fractions)
    ok = np.array([(lr, bs) in solved for lr, bs in zip(colour["lr"], colour["batch_size"])])
    rows = []
    at32 = colour[(colour["batch_size"] == BASELINE.batch_size) & ok]
    lrs = sorted(at32["lr"].unique())
    two = S.Precondition("at least two learning rates at batch 32 solve the task", len(lrs) >= 2, f"{len(lrs)}")
    lo, hi = (lrs[0], lrs[-1]) if len(lrs) >= 2 else (np.nan, np.nan)
    interval = _paired_arms(at32, at32["lr"] == lo, at32["lr"] == hi) if len(lrs) >= 2 else S.t_interval([])
    arms = f"lr {lo:g} minus at lr {hi:g}" if len(lrs) >= 2 else "the lowest minus the highest solving lr"
    rows.append(S.verdict("Late colour information is higher at the lowest learning rate than at the highest",
                          f"late colour bits at {arms} (batch 32; equal steps), paired within seed", interval,
                          COLOUR_SESOI, "bits", preconditions=[two], detail=excluded))
    at05 = colour[(colour["lr"] == BASELINE.lr) & ok]
    batches = sorted(at05["batch_size"].unique())
    two = S.Precondition("at least two batch sizes at lr 0.05 solve the task", len(batches) >= 2, f"{len(batches)}")
    small, large = (batches[0], batches[-1]) if len(batches) >= 2 else (0, 0)
    name = "full batch" if large >= full_batch else f"batch {large}"
    interval = (_paired_arms(at05, at05["batch_size"] == large, at05["batch_size"] == small) if len(batches) >= 2
                else S.t_interval([]))
    arms = f"{name} minus at batch {small}" if len(batches) >= 2 else "the largest minus the smallest solving batch"
    steps = f"{large // small}x fewer" if len(batches) >= 2 else "fewer"
    rows.append(S.verdict("Late colour information is higher at the largest batch than at the smallest",
                          f"late colour bits at {arms} (lr 0.05), paired within seed", interval, COLOUR_SESOI, "bits",
                          preconditions=[two], detail=f"confounded by steps: equal epochs, so the large batch takes "
                                                      f"{steps} steps (see the matched row); {excluded}"))
    table = colour[ok].assign(noise=lambda t: np.log(t["lr"] / t["batch_size"])).set_index("seed")

    def spearman(t: pd.DataFrame) -> float:
        means = t.groupby("noise")["late"].mean()
        return float(means.index.to_series().rank().corr(means.rank())) if len(means) > 2 else float("nan")

    three = S.Precondition("at least three (lr, batch) settings solve the task", len(solved) >= 3, f"{len(solved)}")
    rows.append(S.verdict("The ratio lr / batch size (SGD noise scale) orders the late colour information",
                          "Spearman correlation of log(lr / batch) with seed-mean late colour bits over the solved "
                          "settings (seed bootstrap)", S.bootstrap_interval(table, spearman), SPEARMAN_SESOI,
                          "rank correlation", direction=-1, preconditions=[three],
                          detail=f"{len(solved)} solved (lr, batch) settings; {excluded}"))
    if matched is not None:
        m = matched[(matched["lr"] == BASELINE.lr) & np.array([(lr, bs) in solved for lr, bs in
                                                         zip(matched["lr"], matched["batch_size"])])]
        if len(batches) >= 2:
            arms = m[m["batch_size"].isin([small, large])]
            reached = bool(arms["matched"].notna().all())
            stage = arms["matched_epoch"] / arms["length"]
            similar = S.Precondition(f"both arms reach the matched loss after their early window (> {EARLY.end:.0%} "
                                     "of training), at a similar stage", reached and bool((stage > EARLY.end).all()),
                                     "first reached at " + ", ".join(
                                         f"batch {b}: epoch {e:.2g}" for b, e in
                                         arms.groupby("batch_size")["matched_epoch"].median().items()),
                                     "no profile here (the small batch fits early in every profile)")
            interval = (S.paired_interval(S.by_seed(arms[arms["batch_size"] == large], "matched"),
                                          S.by_seed(arms[arms["batch_size"] == small], "matched"))
                        if reached else S.t_interval([]))
            rows.append(S.verdict("Colour information is higher at the largest batch than at the smallest, at a "
                                  "matched training loss", f"colour bits at the matched loss, {name} minus batch "
                                  f"{small} (lr 0.05), paired within seed", interval, COLOUR_SESOI, "bits",
                                  preconditions=[similar], detail="matched point: the first checkpoint at the "
                                  "training loss that every solved setting reaches"))
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


def late_by_layer(records: pd.DataFrame) -> pd.DataFrame:
    """Bits per run x layer x variable averaged over the late window, with the layer's depth index."""
    rows = []
    for (run, layer, variable), one in records.groupby(["run", "layer", "variable"], sort=False):
        rows.append(dict(run=run, seed=one["seed"].iloc[0], condition=one["condition"].iloc[0], layer=layer,
                         variable=variable, bits=float(S.window_mean(one, "bits", LATE, _length(one), by="run").iloc[0])))
    out = pd.DataFrame(rows)
    out["depth"] = out["layer"].str.removeprefix("hidden").astype(int)
    return out


def layer_claims(records: pd.DataFrame, main: str) -> list[dict]:
    """Spec Fig. 3/4 [R], late-window bits, paired within seed, SESOI 0.05 bits: the first hidden layer keeps more
    colour and more configuration information than the last; and the last layer is the most minimal (the lowest
    colour + configuration bits: its margin over the next-lowest layer, chosen by seed means; a precondition is
    that it is the lowest at all). The headline net first, then every other net as a sensitivity row."""
    late = late_by_layer(records)
    late = late[late["variable"].isin(["colour", "configuration"])]
    rows = []
    for condition in [main, *[c for c in late["condition"].unique() if c != main]]:
        f = late[late["condition"] == condition]
        prefix = "" if condition == main else "(sensitivity) "
        first, last = f["depth"].min(), f["depth"].max()
        for var in ("colour", "configuration"):
            v = f[f["variable"] == var].pivot_table(index="seed", columns="depth", values="bits")
            rows.append(S.verdict(prefix + f"Earlier layers keep more {var} information than the last",
                                  f"{condition}: late-window {var} bits, hidden{first} minus hidden{last}, paired "
                                  "within seed", S.paired_interval(v[first], v[last]), BITS_SESOI, "bits",
                                  detail="per layer (seed means): " + ", ".join(
                                      f"hidden{d} {m:.2f}" for d, m in v.mean().items())))
        irrelevant = f.pivot_table(index="seed", columns="depth", values="bits", aggfunc="sum")
        means = irrelevant.mean()
        runner_up = means.drop(last).idxmin()
        lowest = S.Precondition("the last layer has the lowest seed-mean colour + configuration bits",
                                bool(means.idxmin() == last), f"lowest: hidden{means.idxmin()}")
        rows.append(S.verdict(prefix + "The last hidden layer ends the most minimal (least colour + configuration)",
                              f"{condition}: late-window colour + configuration bits, next-lowest layer "
                              f"(hidden{runner_up}) minus hidden{last}, paired within seed",
                              S.paired_interval(irrelevant[runner_up], irrelevant[last]), BITS_SESOI, "bits",
                              preconditions=[lowest], detail="per layer (seed means): " + ", ".join(
                                  f"hidden{d} {m:.2f}" for d, m in means.items())))
    return rows


def transient_claims(records: pd.DataFrame, order: list[str], ceiling_bits: float | None = None) -> list[dict]:
    """Colour information in each run's last hidden layer is transient in every architecture: it rises from
    initialization to the early window and falls from the early to the late window. The statistic is the smaller
    of the two per seed (both must reach the SESOI of 0.05 bits); with ``ceiling_bits``, a precondition is that
    the architecture solves the task. One row per architecture in ``order``."""
    stats = transient_statistics(records, "colour")
    direction = transient_statistics(records, "direction") if ceiling_bits else None
    rows = []
    for condition in order:
        s = stats[stats["condition"] == condition]
        rise = S.by_seed(s, "early") - S.by_seed(s, "initial")
        fall = S.by_seed(s, "early") - S.by_seed(s, "late")
        pre = [_solved(direction[direction["condition"] == condition], ceiling_bits)] if ceiling_bits else []
        rows.append(S.verdict(f"Transient colour information in {condition}: rises above its initial value, then "
                              "falls", f"{condition}: the smaller of (early - initial) and (early - late) colour bits "
                              "per seed, last hidden layer", S.t_interval(np.minimum(rise, fall)), COLOUR_SESOI,
                              "bits", preconditions=pre,
                              detail=f"{len(s)} seeds; {_windows_text(s['length'].iloc[0])}: initial "
                                     f"{s['initial'].mean():.2f}, early {s['early'].mean():.2f}, late "
                                     f"{s['late'].mean():.2f} bits; rise {rise.mean():.2f} ± {S.sem(rise):.2f}, fall "
                                     f"{fall.mean():.2f} ± {S.sem(fall):.2f}; peak - final (extreme values) "
                                     f"{(s['peak'] - s['final']).mean():.2f}"))
    return rows


def initialization_claims(records: pd.DataFrame, random: str, pretrained: list[str]) -> list[dict]:
    """Spec section 5, arms paired within seed (they share initialization seeds and data). (A) for each pretrained
    condition (the headline first): the network pretrained on colour ends direction training with more late colour
    information in its last hidden layer than the randomly initialized one (SESOI 0.05 bits), and generalizes
    worse (a larger late validation minus training loss, SESOI 0.01 nats), testable only where the random-init
    network overfits at all (gap >= 0.02 nats). (B) residual colour information grows with the length T of a
    low-learning-rate first phase: a seed-bootstrap Spearman correlation of T with the seed-mean late colour bits
    (SESOI 0.3), and the longest T minus T = 0, paired (SESOI 0.05 bits)."""
    stats = transient_statistics(records, "colour")
    b = stats[stats["condition"] == random]
    overfits = S.precondition_at_least(f"the network can overfit (random-init generalization gap >= {OVERFITS} nats)",
                                       float(b["generalization_gap"].mean()), OVERFITS, "{:.4f} nats", OVERFIT_WHERE)
    rows = []
    for k, condition in enumerate(pretrained):
        a = stats[stats["condition"] == condition]
        prefix = "" if k == 0 else "(variant) "
        rows.append(S.verdict(prefix + "A network pretrained on colour ends with more colour information than a "
                              "random init", f"{condition}: late-window colour bits, last hidden layer, minus random "
                              "init, paired within seed",
                              S.paired_interval(S.by_seed(a, "late"), S.by_seed(b, "late")), COLOUR_SESOI, "bits",
                              detail=f"pretrained {a['late'].mean():.2f}, random {b['late'].mean():.2f} bits"))
        rows.append(S.verdict(prefix + "... and generalizes worse",
                              f"{condition}: late-window validation minus training loss, minus random init, paired "
                              "within seed", S.paired_interval(S.by_seed(a, "generalization_gap"),
                                                                 S.by_seed(b, "generalization_gap")),
                              GAP_SESOI, "nats", preconditions=[overfits],
                              detail=f"gap pretrained {a['generalization_gap'].mean():.4f}, random "
                                     f"{b['generalization_gap'].mean():.4f} nats; validation loss "
                                     f"{a['late_val_loss'].mean():.4f} vs {b['late_val_loss'].mean():.4f}"))
    warm = stats[~stats["condition"].isin(pretrained)].copy()
    warm["T"] = warm["warmup_epochs"].fillna(0).astype(int) if "warmup_epochs" in warm else 0
    means = warm.groupby("T")["late"].mean()

    def spearman(t: pd.DataFrame) -> float:
        m = t.groupby("T")["late"].mean()
        return float(m.index.to_series().rank().corr(m.rank()))

    rows.append(S.verdict("Residual colour information grows with the length T of a low-lr first phase",
                          "Spearman correlation of T with seed-mean late colour bits (seed bootstrap)",
                          S.bootstrap_interval(warm.set_index("seed"), spearman), SPEARMAN_SESOI, "rank correlation",
                          detail="mean late colour by T: " + ", ".join(f"T={t} {m:.2f}" for t, m in means.items())))
    t_max = means.index.max()
    rows.append(S.verdict(f"... the longest first phase (T = {t_max}) ends with more colour information than none",
                          f"late colour bits, T = {t_max} minus T = 0, paired within seed",
                          S.paired_interval(S.by_seed(warm[warm["T"] == t_max], "late"),
                                            S.by_seed(warm[warm["T"] == 0], "late")), COLOUR_SESOI, "bits"))
    return rows


def overfitting_claims(records: pd.DataFrame, random: str, pretrained: str) -> list[dict]:
    """The initialization contrast of `initialization_claims` (A) in a regime that overfits
    (``uinfo.profiles.checkerboard.OVERFIT_PROFILES``), arms paired within seed: the net pretrained on colour ends
    with more late colour information (SESOI 0.05 bits), a larger generalization gap (late validation minus
    training loss, SESOI 0.01 nats) and a higher late validation loss (SESOI 0.01 nats). The gap and validation
    claims need the random-init net to overfit (gap >= 0.02 nats), measured here, not assumed."""
    stats = transient_statistics(records, "colour")
    a, b = stats[stats["condition"] == pretrained], stats[stats["condition"] == random]
    gap = float(b["generalization_gap"].mean())
    overfits = S.precondition_at_least(f"the network can overfit (random-init generalization gap >= {OVERFITS} nats)",
                                       gap, OVERFITS, "{:.4f} nats", OVERFIT_WHERE)
    losses = (f"late validation loss pretrained {a['late_val_loss'].mean():.3f}, random {b['late_val_loss'].mean():.3f}; "
              f"training loss {a['late_train_loss'].mean():.3f} vs {b['late_train_loss'].mean():.3f} nats")
    return [
        S.verdict("(overfitting regime) A network pretrained on colour ends with more colour information than a "
                  "random init", "late-window colour bits, last hidden layer, pretrained minus random init, paired "
                  "within seed", S.paired_interval(S.by_seed(a, "late"), S.by_seed(b, "late")), COLOUR_SESOI, "bits",
                  detail=f"pretrained {a['late'].mean():.3f}, random {b['late'].mean():.3f} bits"),
        S.verdict("(overfitting regime) ... and generalizes worse",
                  "late-window validation minus training loss, pretrained minus random init, paired within seed",
                  S.paired_interval(S.by_seed(a, "generalization_gap"), S.by_seed(b, "generalization_gap")), GAP_SESOI,
                  "nats", preconditions=[overfits],
                  detail=f"gap pretrained {a['generalization_gap'].mean():.4f}, random {gap:.4f} nats; {losses}"),
        S.verdict("(overfitting regime) ... with a higher held-out loss",
                  "late-window validation loss, pretrained minus random init, paired within seed",
                  S.paired_interval(S.by_seed(a, "late_val_loss"), S.by_seed(b, "late_val_loss")), GAP_SESOI, "nats",
                  preconditions=[overfits], detail=losses),
    ]


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


# ---------------------------------------------------------------------------------------------------------------
# figures

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
    information against lr / batch. ``*_stats`` are `transient_statistics` tables."""
    use_style()
    last = hidden_layers(records)[-1]
    colour = records[(records["variable"] == "colour") & (records["layer"] == last)]
    first_epoch = colour.loc[colour["epoch"] > 0, "epoch"].min()
    fig, axes = plt.subplots(2, 3, figsize=(14, 7.5))
    bs_name = lambda b: "full batch" if b >= full_batch else f"batch {b}"  # noqa: E731
    at32, at05 = colour[colour["batch_size"] == BASELINE.batch_size], colour[colour["lr"] == BASELINE.lr]
    _sweep_trajectories(axes[0, 0], at32, "lr", sorted(at32["lr"].unique()), lambda v: f"lr {v:g}")
    axes[0, 0].set_title(f"(a) colour information, {last}, batch 32")
    _sweep_trajectories(axes[0, 1], at05, "batch_size", sorted(at05["batch_size"].unique()), bs_name)
    axes[0, 1].set_title(f"(b) colour information, {last}, lr 0.05")
    for ax in axes[0, :2]:
        ax.set_ylabel("usable information (bits)")
        ax.axhline(ceiling_bits, ls="--", color="k", lw=0.8)
        symlog_epochs(ax, first_epoch)
        ax.legend(fontsize=7)
    for ax, sel, col, label in ((axes[0, 2], colour_stats[colour_stats["batch_size"] == BASELINE.batch_size], "lr", "learning rate (batch 32)"),
                                (axes[1, 0], colour_stats[colour_stats["lr"] == BASELINE.lr], "batch_size", "batch size (lr 0.05)")):
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
    short = without_net(records, default="lr 0.05, batch 32")
    ax.set_xticks(range(len(conditions)), [short[c] for c in conditions], rotation=60, ha="right", fontsize=7)
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
    `final_by_layer`)."""
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
    names = without_net(records, default=random)  # the random-init run is the one that differs in nothing
    short = {c: names[c].replace(", fresh readout", ",\nfresh readout") for c, _ in arms}
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
    axes[1, 2].set_xticks(range(len(conditions)), [names[c].replace(" epochs at ", " ep. at\n").replace(", ", "\n")
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
