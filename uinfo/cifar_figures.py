"""Figures and claims of the CIFAR notebooks (presentation only: outside the store's code hash). Usable
information in bits; the headline decoders are cross-fitted on halves of the test images (``fit == "heldout"``)."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from .claims import _difference, _sem
from .notebook import claim
from .plotting import mean_sem, use_style

PENULTIMATE = {"resnet18": "stage4", "allcnn": "block3"}
VARIABLE_COLOURS = {"fine": "tab:purple", "coarse": "tab:green"}
MIN_EFFECT_BITS = 0.05  # an effect must also be at least this large (as on the checkerboard)


def _beyond(diff: float, se: float, min_effect: float = MIN_EFFECT_BITS):
    """Reproduced when the effect exceeds twice its standard error and ``min_effect``; None with one seed."""
    return None if se != se else bool(diff > 2 * se and diff >= min_effect)


def penultimate(records: pd.DataFrame, fit: str = "heldout") -> pd.DataFrame:
    """Rows of each run's penultimate layer (ResNet-18 stage4, All-CNN block3) for one decoder fit."""
    layer = records["model"].map(PENULTIMATE)
    return records[(records["layer"] == layer) & (records["fit"] == fit)]


def condition(records: pd.DataFrame) -> pd.Series:
    """A readable label per row for the setting a run differs in: lr, batch, pretraining."""
    def label(row):
        parts = [f"lr {row.lr:g}", f"batch {row.batch_size}"]
        if row.pretrain_epochs:
            parts.append(f"fine-pretrained {row.pretrain_epochs} ep")
        return ", ".join(parts)
    cols = records[["lr", "batch_size", "pretrain_epochs"]]
    return pd.Series([label(r) for r in cols.itertuples(index=False)], index=records.index)


def _is_headline(records: pd.DataFrame) -> pd.Series:
    """Rows of the runs in the profile's own numerics (those of the first run); the float32 / no-channels-last twin
    of the precision check is set apart."""
    first = records.iloc[0]
    return (records["precision"] == first.precision) & (records["channels_last"] == first.channels_last)


def _headline(records: pd.DataFrame) -> pd.DataFrame:
    return records[_is_headline(records)]


def _numerics(precision: str, channels_last) -> str:
    return precision + (", channels-last" if channels_last in (True, "True") else "")


def trajectory_statistics(records: pd.DataFrame, variable: str, fit: str = "heldout") -> pd.DataFrame:
    """Per run (penultimate layer, coarse-training phase): initial, peak (after epoch 0), peak epoch and final
    information of ``variable``, with the final test / train accuracy and loss."""
    rows = []
    df = penultimate(records, fit)
    df = df[(df["variable"] == variable) & (df["phase"] == "train")]
    for run, one in df.groupby("run", sort=False):
        one = one.sort_values("epoch")
        later = one[one["epoch"] > 0]
        peak = later.loc[later["bits"].idxmax()]
        last = one.iloc[-1]
        rows.append(dict(run=run, seed=last.seed, condition=condition(one).iloc[-1], lr=last.lr,
                         batch_size=last.batch_size, pretrain_epochs=last.pretrain_epochs,
                         numerics=_numerics(last.precision, last.channels_last),
                         initial=one["bits"].iloc[0], peak=peak["bits"], peak_epoch=peak["epoch"],
                         final=last["bits"], final_epoch=last["epoch"], test_accuracy=last.test_accuracy,
                         train_accuracy=last.train_accuracy, test_loss=last.test_loss, train_loss=last.train_loss))
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------------------------------
# figures

def _band(ax, df: pd.DataFrame, y: str, colour, label: str, ls: str = "-") -> None:
    summary = mean_sem(df, "epoch", y)
    mean, sem = summary["mean"], summary["sem"]
    ax.plot(mean.index, mean, color=colour, label=label, lw=1.6, ls=ls, marker=".", ms=4)
    ax.fill_between(mean.index, mean - sem, mean + sem, color=colour, alpha=0.25, lw=0)


def _epoch_axis(ax, records: pd.DataFrame) -> None:
    if records["epoch"].min() < 0:
        ax.set_xlabel("epoch (coarse training starts at 0)")
    else:
        ax.set_xscale("symlog", linthresh=1)
        ax.set_xlim(left=0)
        ax.set_xlabel("epoch (symlog)")


def _references(ax, h: dict, which=("fine", "coarse")) -> None:
    for name in which:
        ax.axhline(h[name], color=VARIABLE_COLOURS[name], ls=":", lw=1)
        ax.annotate(f"H({name}) = {h[name]:.2f}", (0.99, h[name]), xycoords=("axes fraction", "data"),
                    ha="right", va="bottom", fontsize=8, color=VARIABLE_COLOURS[name])


def coarse_figure(records: pd.DataFrame, h: dict, title: str, extra: str | None = None):
    """(a) fine and coarse information in the penultimate layer; (b, c) fine and coarse information in every
    probed layer; (d) coarse accuracy; (e, optional) the train-fitted diagnostic ("train_fitted") or bf16 vs
    float32 ("precision")."""
    use_style()
    panels = 5 if extra else 4
    fig, axes = plt.subplots(1, panels, figsize=(4.2 * panels, 3.9))
    main = _headline(records)
    pen = penultimate(main)
    ax = axes[0]
    for var in ("fine", "coarse"):
        _band(ax, pen[pen["variable"] == var], "bits", VARIABLE_COLOURS[var], var)
    _references(ax, h)
    ax.set(ylabel="usable information (bits)", title="(a) penultimate layer")
    ax.legend(loc="center right")
    layers = list(dict.fromkeys(main["layer"]))
    colours = plt.cm.viridis(np.linspace(0, 0.9, len(layers)))
    held = main[main["fit"] == "heldout"]
    for ax, var, letter in ((axes[1], "fine", "b"), (axes[2], "coarse", "c")):
        for layer, colour in zip(layers, colours):
            _band(ax, held[(held["layer"] == layer) & (held["variable"] == var)], "bits", colour, layer)
        _references(ax, h, (var,))
        ax.set(ylabel="bits", title=f"({letter}) {var} information, every layer")
        ax.legend(fontsize=7)
    ax = axes[3]
    one = pen[pen["variable"] == "coarse"]
    _band(ax, one, "train_accuracy", "tab:blue", "train (un-augmented)")
    _band(ax, one, "test_accuracy", "tab:red", "test")
    ax.set(ylabel="coarse accuracy", title="(d) the network's coarse accuracy")
    ax.legend()
    if extra == "train_fitted":
        ax = axes[4]
        fitted = penultimate(main, "train_fitted")
        for var in ("fine", "coarse"):
            _band(ax, pen[pen["variable"] == var], "bits", VARIABLE_COLOURS[var], f"{var}, held-out (headline)")
            _band(ax, fitted[fitted["variable"] == var], "bits", VARIABLE_COLOURS[var], f"{var}, train-fitted",
                  ls="--")
        ax.set(ylabel="bits", title="(e) diagnostic: decoders fitted on training images")
        ax.legend(fontsize=7)
    elif extra == "precision":
        ax = axes[4]
        twin = records[~_is_headline(records)]
        first = twin["seed"].min()
        for one, ls in ((main, "-"), (twin, "--")):
            one = penultimate(one[one["seed"] == first])
            label = _numerics(one["precision"].iloc[0], one["channels_last"].iloc[0])
            for var in ("fine", "coarse"):
                o = one[one["variable"] == var].sort_values("epoch")
                ax.plot(o["epoch"], o["bits"], ls=ls, color=VARIABLE_COLOURS[var], label=f"{var}, {label}")
        ax.set(ylabel="bits", title=f"(e) seed {first}: the same run in two numerics")
        ax.legend(fontsize=7)
    for ax in axes:
        _epoch_axis(ax, records)
    fig.suptitle(title, y=1.02)
    fig.tight_layout()
    return fig


def comparison_figure(records: pd.DataFrame, h: dict, title: str):
    """Conditions side by side (lr / batch, or scratch / fine-pretrained): (a) fine and (b) coarse information in
    the penultimate layer, (c) test accuracy, (d) final fine information per seed."""
    use_style()
    records = records.assign(condition=condition(records))
    order = list(dict.fromkeys(records["condition"]))
    colours = dict(zip(order, plt.cm.tab10(np.arange(len(order)))))
    fig, axes = plt.subplots(1, 4, figsize=(17, 3.9))
    pen = penultimate(records)
    for ax, var, letter in ((axes[0], "fine", "a"), (axes[1], "coarse", "b")):
        for name in order:
            _band(ax, pen[(pen["condition"] == name) & (pen["variable"] == var)], "bits", colours[name], name)
        _references(ax, h, (var, "coarse") if var == "fine" else (var,))
        ax.set(ylabel="usable information (bits)", title=f"({letter}) {var} information, penultimate layer")
    axes[0].legend(fontsize=7)
    ax = axes[2]
    one = pen[pen["variable"] == "coarse"]
    for name in order:
        _band(ax, one[one["condition"] == name], "test_accuracy", colours[name], name)
    ax.set(ylabel="test accuracy (current target)", title="(c) test accuracy")
    for ax in axes[:3]:
        _epoch_axis(ax, records)
    ax = axes[3]
    stats = trajectory_statistics(records, "fine")
    for i, name in enumerate(order):
        vals = stats.loc[stats["condition"] == name, "final"]
        ax.scatter(np.full(len(vals), i), vals, color=colours[name], alpha=0.6)
        ax.errorbar(i + 0.15, vals.mean(), _sem(vals) if len(vals) > 1 else 0, fmt="o", color="k", capsize=3)
    ax.axhline(h["coarse"], color=VARIABLE_COLOURS["coarse"], ls=":", lw=1)
    ax.set_xticks(range(len(order)), [o.replace(", ", "\n") for o in order], fontsize=7)
    ax.set(ylabel="final fine information (bits)", title="(d) end of training, per seed (mean ± s.e.m.)")
    fig.suptitle(title, y=1.02)
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------------------------------------------------------
# claims

def coarse_claims(records: pd.DataFrame, h: dict, min_effect: float = MIN_EFFECT_BITS) -> list[dict]:
    """Fine information in the penultimate layer peaks early and then declines toward H(coarse) while coarse
    information rises (bf16 runs; mean ± s.e.m. over seeds)."""
    main = _headline(records)
    fine, coarse = trajectory_statistics(main, "fine"), trajectory_statistics(main, "coarse")
    fall = fine["peak"] - fine["final"]
    early = (fine["peak_epoch"] < fine["final_epoch"]).mean()
    rise = coarse["final"] - coarse["initial"]
    rows = [
        claim("fine-label information in the last layer peaks early in training and then declines",
              "fine information, peak (after epoch 0) minus final (bits)", fall.mean(), _sem(fall),
              _beyond(fall.mean(), _sem(fall), min_effect) if early > 0.5 else False,
              f"peak {fine['peak'].mean():.3f} bits at median epoch {fine['peak_epoch'].median():g}, final "
              f"{fine['final'].mean():.3f} at epoch {fine['final_epoch'].max():g}; the peak is before the last "
              f"checkpoint in {early:.0%} of seeds; per seed fall {', '.join(f'{v:.3f}' for v in fall)}"),
        claim("coarse-label information rises during training",
              "coarse information, final minus initial (bits)", rise.mean(), _sem(rise),
              _beyond(rise.mean(), _sem(rise), min_effect),
              f"initial {coarse['initial'].mean():.3f}, final {coarse['final'].mean():.3f} of H(coarse) = "
              f"{h['coarse']:.3f} bits; test accuracy {coarse['test_accuracy'].mean():.3f}"),
    ]
    excess = fine["final"] - h["coarse"]
    rows.append(claim("fine information ends near H(coarse) (a representation that keeps only the coarse label)",
                      "final fine information minus H(coarse) (bits)", excess.mean(), _sem(excess),
                      None if excess.mean() != excess.mean() else bool(abs(excess.mean()) < 0.1 * h["coarse"]),
                      f"H(coarse) = {h['coarse']:.3f}, H(fine) = {h['fine']:.3f} bits; 'near' = within 10% of "
                      f"H(coarse)"))
    return rows


def diagnostic_claims(records: pd.DataFrame) -> list[dict]:
    """The train-fitted decoders (spec 3.6): do they report less coarse information than the held-out ones at the
    end of training (the pilot's collapse)?"""
    held = trajectory_statistics(records, "coarse")
    fitted = trajectory_statistics(records, "coarse", fit="train_fitted")
    gap = held["final"].to_numpy() - fitted["final"].to_numpy()
    return [claim("(diagnostic, ours) decoders fitted on the network's training images under-report coarse "
                  "information late in training", "held-out minus train-fitted final coarse information (bits)",
                  gap.mean(), _sem(gap), _beyond(gap.mean(), _sem(gap)),
                  f"held-out {held['final'].mean():.3f}, train-fitted {fitted['final'].mean():.3f} bits, test "
                  f"accuracy {held['test_accuracy'].mean():.3f}")]


def precision_claims(records: pd.DataFrame) -> list[dict]:
    """bf16 autocast (and channels-last) keep the results: the float32 twin (the first seed's first epochs) minus
    the headline run of the same seed at the twin's last epoch, against the spread of the headline seeds there
    (standard deviation)."""
    main = _headline(records)
    twin = records[~_is_headline(records)]
    epoch = twin["epoch"].max()
    label = _numerics(main["precision"].iloc[0], main["channels_last"].iloc[0])
    other = _numerics(twin["precision"].iloc[0], twin["channels_last"].iloc[0])
    rows = []
    for var in ("fine", "coarse"):
        head = penultimate(main)
        head = head[(head["variable"] == var) & (head["epoch"] == epoch)].set_index("seed")["bits"]
        t = penultimate(twin)
        t = t[(t["variable"] == var) & (t["epoch"] == epoch)].set_index("seed")["bits"]
        diff = float((t - head.loc[t.index]).mean())
        spread = float(head.std(ddof=1))
        rows.append(claim(f"(ours) {label} keeps the result: {var} information at epoch {epoch:g}",
                          f"{other} minus {label}, same seed (bits)", diff, None,
                          None if spread != spread else bool(abs(diff) <= 2 * spread),
                          f"seed spread (s.d.) of the {label} runs at epoch {epoch:g}: {spread:.3f} bits; kept = "
                          "within 2 s.d."))
    return rows


def _compare(stats: pd.DataFrame, more: pd.Series, less: pd.Series, column: str = "final"):
    """Mean ``column`` of the ``more`` rows minus that of the ``less`` rows, and its standard error."""
    return _difference(stats.loc[more, column], stats.loc[less, column])


def lr_batch_claims(records: pd.DataFrame, base_lr: float, base_batch: int) -> list[dict]:
    """Each other learning rate (at the base batch) and each other batch size (at the base lr) against the baseline,
    as the side expected to keep more fine information (the lower lr, the larger batch) minus the other side."""
    stats = trajectory_statistics(records, "fine")
    base = (stats["lr"] == base_lr) & (stats["batch_size"] == base_batch)
    # (column swept, column held, base value, held value, claim, label, +1 when a larger value keeps more)
    axes = (("lr", "batch_size", base_lr, base_batch, "a higher learning rate ends with less fine information",
             "lr {:g}", -1),
            ("batch_size", "lr", base_batch, base_lr, "a smaller batch ends with less fine information",
             "batch {}", +1))
    rows = []
    for column, held, at, fixed, statement, label, sign in axes:
        others = stats.loc[(stats[held] == fixed) & (stats[column] != at), column]
        keeps_more = lambda v: sign * (v - at) > 0  # noqa: E731 - the setting is expected to keep more than the base
        for value in sorted(others.unique(), key=lambda v: (not keeps_more(v), v)):
            setting = (stats[column] == value) & (stats[held] == fixed)
            more, less = (setting, base) if keeps_more(value) else (base, setting)
            more_value, less_value = (value, at) if keeps_more(value) else (at, value)
            diff, se = _compare(stats, more, less)
            steps = (f"same epochs, so {value // at}x fewer steps; "
                     if column == "batch_size" and value > at else "")
            rows.append(claim(statement, f"final fine information, {label.format(more_value)} minus "
                              f"{label.format(less_value)} (bits)", diff, se, _beyond(diff, se),
                              f"{steps}test accuracy {stats.loc[more, 'test_accuracy'].mean():.3f} vs "
                              f"{stats.loc[less, 'test_accuracy'].mean():.3f}"))
    return rows


def initialization_claims(records: pd.DataFrame) -> list[dict]:
    """The fine-pretrained network keeps more fine information and generalizes worse than the one trained on the
    coarse labels from scratch."""
    stats = trajectory_statistics(records, "fine")
    pre, scratch = stats["pretrain_epochs"] > 0, stats["pretrain_epochs"] == 0
    diff, se = _compare(stats, pre, scratch)
    rows = [claim("a network first trained on the fine labels keeps more fine information",
                  "final fine information, fine-pretrained minus scratch (bits)", diff, se, _beyond(diff, se),
                  f"{stats.loc[pre, 'final'].mean():.3f} vs {stats.loc[scratch, 'final'].mean():.3f} bits")]
    acc, acc_se = _compare(stats, scratch, pre, "test_accuracy")
    rows.append(claim("... and generalizes worse", "coarse test accuracy, scratch minus fine-pretrained", acc, acc_se,
                      None if acc_se != acc_se else bool(acc > 2 * acc_se),
                      f"{stats.loc[scratch, 'test_accuracy'].mean():.3f} vs {stats.loc[pre, 'test_accuracy'].mean():.3f}"))
    gap = stats["test_loss"] - stats["train_loss"]
    g_pre, g_scr = gap[pre], gap[scratch]
    d, s = _difference(g_pre, g_scr)
    rows.append(claim("... and generalizes worse (loss gap)", "test minus train coarse loss, fine-pretrained minus "
                      "scratch (nats)", d, s, None if s != s else bool(d > 2 * s),
                      f"gap {g_pre.mean():.3f} vs {g_scr.mean():.3f} nats (train = un-augmented training images)"))
    return rows
