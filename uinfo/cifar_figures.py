"""Figures and claims of the CIFAR notebooks (presentation only: outside the store's code hash). Usable
information in bits; the headline decoders are cross-fitted on halves of the test images (``fit == "heldout"``)."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from .claims import EARLY, LATE, _by_seed, _sem
from .plotting import mean_sem, use_style
from .report import stats as S

PENULTIMATE = {"resnet18": "stage4", "allcnn": "block3"}
VARIABLE_COLOURS = {"fine": "tab:purple", "coarse": "tab:green"}
BITS_SESOI = 0.05      # bits: as on the checkerboard, a smaller change of information is not called an effect
ACCURACY_SESOI = 0.01  # a test-accuracy difference under one point is not called "generalizes worse"
GAP_SESOI = 0.02       # nats, for a difference in test minus train loss
TERMINAL = 0.99        # training accuracy that marks the phase after the fit, which K6 and the lr/batch claims are about
TERMINAL_WHERE = ("the `paper` profile (160 epochs), or a CPU regime that fits its training set (the regimes issue: "
                  "no notebook yet)")


def _terminal(stats: pd.DataFrame, what: str = "the network") -> S.Precondition:
    """The claim is about the phase after the fit: every arm's seed-mean final training accuracy >= 0.99."""
    acc = float(stats.groupby("condition")["train_accuracy"].mean().min())
    return S.precondition_at_least(f"{what} fits its training set (final training accuracy >= {TERMINAL}), the "
                                   "phase the claim is about", acc, TERMINAL, "{:.3f}", TERMINAL_WHERE)


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
    """Per run (penultimate layer, coarse-training phase): initial, early- and late-window (see
    ``uinfo.claims``), peak (after epoch 0; reported beside only), peak epoch and final information of
    ``variable``, with the final test / train accuracy and loss."""
    rows = []
    df = penultimate(records, fit)
    df = df[(df["variable"] == variable) & (df["phase"] == "train")]
    for run, one in df.groupby("run", sort=False):
        one = one.sort_values("epoch")
        later = one[one["epoch"] > 0]
        peak = later.loc[later["bits"].idxmax()]
        last = one.iloc[-1]
        length = float(last.epochs) if "epochs" in one else float(one["epoch"].max())
        windows = {w.name: float(S.window_mean(one, "bits", w, length, by="run").iloc[0]) for w in (EARLY, LATE)}
        rows.append(dict(run=run, seed=last.seed, condition=condition(one).iloc[-1], lr=last.lr,
                         batch_size=last.batch_size, pretrain_epochs=last.pretrain_epochs,
                         numerics=_numerics(last.precision, last.channels_last), length=length, **windows,
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

def _windows(stats: pd.DataFrame) -> str:
    length = stats["length"].iloc[0]
    return f"{EARLY.label(length)}, {LATE.label(length)}"


def coarse_claims(records: pd.DataFrame, h: dict) -> list[dict]:
    """K6 and its companions, in the penultimate layer (headline numerics; one value per seed): fine information
    is higher in the early window than in the late one (SESOI 0.05 bits) and ends near H(coarse) (within 10% of
    it, two-sided), testable only once the network fits its training set; coarse information rises from
    initialization to the late window (SESOI 0.05 bits)."""
    main = _headline(records)
    fine, coarse = trajectory_statistics(main, "fine"), trajectory_statistics(main, "coarse")
    terminal = _terminal(fine)
    early_peak = (fine["peak_epoch"] < fine["final_epoch"]).mean()
    rows = [
        S.verdict("fine-label information in the last layer peaks early in training and then declines",
                  "fine information, early-window minus late-window (bits)",
                  S.t_interval(_by_seed(fine, "early") - _by_seed(fine, "late")), BITS_SESOI, "bits",
                  preconditions=[terminal],
                  detail=f"{_windows(fine)}: early {fine['early'].mean():.3f}, late {fine['late'].mean():.3f} bits; "
                         f"extreme values beside: peak {fine['peak'].mean():.3f} at median epoch "
                         f"{fine['peak_epoch'].median():g}, before the last checkpoint in {early_peak:.0%} of seeds"),
        S.verdict("coarse-label information rises during training", "coarse information, late-window minus "
                  "initial (bits)", S.t_interval(_by_seed(coarse, "late") - _by_seed(coarse, "initial")),
                  BITS_SESOI, "bits",
                  detail=f"initial {coarse['initial'].mean():.3f}, late {coarse['late'].mean():.3f} of H(coarse) = "
                         f"{h['coarse']:.3f} bits; test accuracy {coarse['test_accuracy'].mean():.3f}"),
        S.verdict("fine information ends near H(coarse) (a representation that keeps only the coarse label)",
                  "late-window fine information minus H(coarse) (bits)",
                  S.t_interval(_by_seed(fine, "late") - h["coarse"]), 0.1 * h["coarse"], "bits", direction=0,
                  predicts="no effect", preconditions=[terminal],
                  detail=f"H(coarse) = {h['coarse']:.3f}, H(fine) = {h['fine']:.3f} bits; SESOI 10% of H(coarse)"),
    ]
    return rows


def diagnostic_claims(records: pd.DataFrame) -> list[dict]:
    """The train-fitted decoders (spec 3.6): do they report less coarse information than the held-out ones at the
    end of training (the pilot's collapse)? Late window, paired within run."""
    main = _headline(records)  # without a float32 twin, which would be a second run of its seed
    held = trajectory_statistics(main, "coarse")
    fitted = trajectory_statistics(main, "coarse", fit="train_fitted")
    return [S.verdict("(diagnostic, ours) decoders fitted on the network's training images under-report coarse "
                      "information late in training", "held-out minus train-fitted late-window coarse information "
                      "(bits), paired within run", S.paired_interval(_by_seed(held, "late"), _by_seed(fitted, "late")),
                      BITS_SESOI, "bits",
                      detail=f"held-out {held['late'].mean():.3f}, train-fitted {fitted['late'].mean():.3f} bits, test "
                             f"accuracy {held['test_accuracy'].mean():.3f}")]


def precision_claims(records: pd.DataFrame) -> list[dict]:
    """bf16 autocast (and channels-last) keep the results: the float32 twins (the first seeds' first epochs) minus
    the headline runs of the same seeds at the twins' last epoch, paired; predicts no effect (two-sided, SESOI
    0.05 bits)."""
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
        rows.append(S.verdict(f"(ours) {label} keeps the result: {var} information at epoch {epoch:g}",
                              f"{other} minus {label}, same seed (bits)", S.paired_interval(t, head.loc[t.index]),
                              BITS_SESOI, "bits", direction=0, predicts="no effect",
                              detail=f"{len(t)} twin(s); seed spread (s.d.) of the {label} runs at epoch {epoch:g}: "
                                     f"{head.std(ddof=1):.3f} bits"))
    return rows


def lr_batch_claims(records: pd.DataFrame, base_lr: float, base_batch: int) -> list[dict]:
    """Each other learning rate (at the base batch) and each other batch size (at the base lr) against the baseline,
    paired within seed: the side expected to keep more late fine information (the lower lr, the larger batch)
    minus the other side, SESOI 0.05 bits. The claim is about minimal representations after the fit, so it is
    testable only where both arms fit their training set. A larger batch at equal epochs takes fewer steps: that
    contrast is confounded by steps, and the row says so."""
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
            steps = (f"confounded by steps: same epochs, so {value // at}x fewer steps; "
                     if column == "batch_size" and value > at else "")
            rows.append(S.verdict(statement, f"late-window fine information, {label.format(more_value)} minus "
                                  f"{label.format(less_value)} (bits), paired within seed",
                                  S.paired_interval(_by_seed(stats[more], "late"), _by_seed(stats[less], "late")),
                                  BITS_SESOI, "bits", preconditions=[_terminal(stats[more | less], "every arm")],
                                  detail=f"{steps}test accuracy {stats.loc[more, 'test_accuracy'].mean():.3f} vs "
                                         f"{stats.loc[less, 'test_accuracy'].mean():.3f}; training accuracy "
                                         f"{stats.loc[more, 'train_accuracy'].mean():.3f} vs "
                                         f"{stats.loc[less, 'train_accuracy'].mean():.3f}"))
    return rows


def initialization_claims(records: pd.DataFrame) -> list[dict]:
    """The fine-pretrained network keeps more late fine information (paired within seed, SESOI 0.05 bits) and
    generalizes worse than the one trained on the coarse labels from scratch: lower test accuracy (SESOI one
    point) and a larger test minus train loss (SESOI 0.02 nats). "Generalizes worse" is about networks that fit
    their training set, so it is testable only there."""
    stats = trajectory_statistics(records, "fine")
    pre, scratch = stats[stats["pretrain_epochs"] > 0], stats[stats["pretrain_epochs"] == 0]
    terminal = _terminal(stats, "every arm")
    rows = [S.verdict("a network first trained on the fine labels keeps more fine information",
                      "late-window fine information, fine-pretrained minus scratch (bits), paired within seed",
                      S.paired_interval(_by_seed(pre, "late"), _by_seed(scratch, "late")), BITS_SESOI, "bits",
                      detail=f"{pre['late'].mean():.3f} vs {scratch['late'].mean():.3f} bits")]
    rows.append(S.verdict("... and generalizes worse", "coarse test accuracy, scratch minus fine-pretrained, paired "
                          "within seed", S.paired_interval(_by_seed(scratch, "test_accuracy"),
                                                           _by_seed(pre, "test_accuracy")),
                          ACCURACY_SESOI, "accuracy", preconditions=[terminal],
                          detail=f"{scratch['test_accuracy'].mean():.3f} vs {pre['test_accuracy'].mean():.3f}"))
    gap = stats.assign(gap=stats["test_loss"] - stats["train_loss"])
    g_pre, g_scr = gap[gap["pretrain_epochs"] > 0], gap[gap["pretrain_epochs"] == 0]
    rows.append(S.verdict("... and generalizes worse (loss gap)", "test minus train coarse loss, fine-pretrained minus "
                          "scratch (nats), paired within seed", S.paired_interval(_by_seed(g_pre, "gap"),
                                                                                  _by_seed(g_scr, "gap")),
                          GAP_SESOI, "nats", preconditions=[terminal],
                          detail=f"gap {g_pre['gap'].mean():.3f} vs {g_scr['gap'].mean():.3f} nats (train = "
                                 "un-augmented training images)"))
    return rows
