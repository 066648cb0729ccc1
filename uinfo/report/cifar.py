"""Figures and claims of the CIFAR notebooks (presentation only: outside the store's code hash). Usable
information in bits; the headline decoders are cross-fitted on halves of the test images (``fit == "heldout"``)."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from . import stats as S
from .stats import EARLY, LATE
from .style import seed_band, use_style

PENULTIMATE = {"resnet18": "stage4", "allcnn": "block3"}
VARIABLE_COLOURS = {"fine": "tab:purple", "coarse": "tab:green"}
BITS_SESOI = 0.05      # bits: as on the checkerboard, a smaller change of information is not called an effect
ACCURACY_SESOI = 0.01  # a test-accuracy difference under one point is not called "generalizes worse"
GAP_SESOI = 0.02       # nats, for a difference in test minus train loss
TERMINAL = 0.99        # training accuracy that marks the phase after the fit, which K6 and the lr/batch claims are about
TERMINAL_WHERE = ("the `paper` profile (160 epochs); at `quick`, the terminal regime (10000 un-augmented images, 40 "
                  "epochs): `cifar_terminal_phase` for K6, `cifar_lr_batch` and `cifar_initialization` for their "
                  "contrasts")


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


def headline(records: pd.DataFrame) -> pd.DataFrame:
    """The runs in the profile's own numerics: without the float32 twins of the precision check."""
    return records[_is_headline(records)]


def _numerics(precision: str, channels_last) -> str:
    return precision + (", channels-last" if channels_last else "")


def trajectory_statistics(records: pd.DataFrame, variable: str, fit: str = "heldout") -> pd.DataFrame:
    """Per run (penultimate layer, coarse-training phase): initial, early- and late-window (see
    ``uinfo.report.stats``), peak (after epoch 0; reported beside only), peak epoch and final information of
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
    seed_band(ax, df, "epoch", y, label, colour, show_seeds=False, ls=ls, lw=1.6, alpha=0.25, marker=".")


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
    main = headline(records)
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
        epoch, label, other = _twin_numerics(records)
        markers = "os^DvP*X"
        for x, var in enumerate(("fine", "coarse")):
            twin, head = _twin_pairs(records, var, epoch)
            diff = twin - head
            for i, (seed, d) in enumerate(diff.items()):  # side by side, a marker per seed
                ax.scatter(x + 0.15 * (i - (len(diff) - 1) / 2), d, color=VARIABLE_COLOURS[var], zorder=3,
                           marker=markers[i % len(markers)], label=f"seed {seed}" if x == 0 else None)
        ax.axhspan(-BITS_SESOI, BITS_SESOI, color="gray", alpha=0.15, lw=0, label=f"±{BITS_SESOI} bits (SESOI)")
        ax.axhline(0, color="gray", lw=0.8)
        ax.set(xticks=[0, 1], xticklabels=["fine", "coarse"], xlim=(-0.6, 1.6),
               ylabel=f"{other} minus {label} (bits)",
               title=f"(e) the same seed in two numerics, epoch {epoch:g}")
        ax.legend(fontsize=7)
    for ax in axes[:4] if extra == "precision" else axes:  # the precision panel's x axis is the variable
        _epoch_axis(ax, records)
    fig.suptitle(title, y=1.02)
    fig.tight_layout()
    return fig


def comparison_figure(records: pd.DataFrame, h: dict, title: str):
    """Conditions side by side (lr / batch, or scratch / fine-pretrained): (a) fine and (b) coarse information in
    the penultimate layer (dashed: where each setting first reaches 99% training accuracy), (c) test and training
    accuracy (dotted: 99%), (d) final fine information per seed."""
    use_style()
    records = records.assign(condition=condition(records))
    order = list(dict.fromkeys(records["condition"]))
    colours = dict(zip(order, plt.cm.tab10(np.arange(len(order)))))
    fig, axes = plt.subplots(1, 4, figsize=(17, 3.9))
    pen = penultimate(records)
    for ax, var, letter in ((axes[0], "fine", "a"), (axes[1], "coarse", "b")):
        for name in order:
            _band(ax, pen[(pen["condition"] == name) & (pen["variable"] == var)], "bits", colours[name], name)
        _references(ax, h, ("coarse",))  # H(fine) lies far above every curve at these widths: left out, for scale
        ax.set(ylabel="usable information (bits)", title=f"({letter}) {var} information, penultimate layer")
    # where each setting first reaches 99% training accuracy (median over seeds): the matched-accuracy point
    matched = terminal_statistics(records, "fine").assign(condition=condition)
    for name in order:
        arm = matched[(matched["condition"] == name) & (matched["reached"] >= TERMINAL)]
        if len(arm):
            axes[0].axvline(arm["fit_end"].median(), color=colours[name], ls="--", lw=0.8)
    axes[0].legend(fontsize=7, title="dashed: first at 99% training accuracy", title_fontsize=7, loc="lower right")
    ax = axes[2]
    one = pen[pen["variable"] == "coarse"]
    for name in order:
        _band(ax, one[one["condition"] == name], "test_accuracy", colours[name], name)
        _band(ax, one[one["condition"] == name], "train_accuracy", colours[name], None, ls="--")
    ax.axhline(TERMINAL, color="k", ls=":", lw=0.8)
    ax.set(ylabel="accuracy (current target)", title="(c) test (solid) and training (dashed) accuracy")
    for ax in axes[:3]:
        _epoch_axis(ax, records)
    ax = axes[3]
    stats = trajectory_statistics(records, "fine")
    for i, name in enumerate(order):
        vals = stats.loc[stats["condition"] == name, "final"]
        ax.scatter(np.full(len(vals), i), vals, color=colours[name], alpha=0.6)
        ax.errorbar(i + 0.15, vals.mean(), S.sem(vals) if len(vals) > 1 else 0, fmt="o", color="k", capsize=3)
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
    main = headline(records)
    fine, coarse = trajectory_statistics(main, "fine"), trajectory_statistics(main, "coarse")
    terminal = _terminal(fine)
    early_peak = (fine["peak_epoch"] < fine["final_epoch"]).mean()
    rows = [
        S.verdict("fine-label information in the last layer peaks early in training and then declines",
                  "fine information, early-window minus late-window (bits)",
                  S.t_interval(S.by_seed(fine, "early") - S.by_seed(fine, "late")), BITS_SESOI, "bits",
                  preconditions=[terminal],
                  detail=f"{_windows(fine)}: early {fine['early'].mean():.3f}, late {fine['late'].mean():.3f} bits; "
                         f"extreme values beside: peak {fine['peak'].mean():.3f} at median epoch "
                         f"{fine['peak_epoch'].median():g}, before the last checkpoint in {early_peak:.0%} of seeds"),
        S.verdict("coarse-label information rises during training", "coarse information, late-window minus "
                  "initial (bits)", S.t_interval(S.by_seed(coarse, "late") - S.by_seed(coarse, "initial")),
                  BITS_SESOI, "bits",
                  detail=f"initial {coarse['initial'].mean():.3f}, late {coarse['late'].mean():.3f} of H(coarse) = "
                         f"{h['coarse']:.3f} bits; test accuracy {coarse['test_accuracy'].mean():.3f}"),
        S.verdict("fine information ends near H(coarse) (a representation that keeps only the coarse label)",
                  "late-window fine information minus H(coarse) (bits)",
                  S.t_interval(S.by_seed(fine, "late") - h["coarse"]), 0.1 * h["coarse"], "bits", direction=0,
                  predicts="no effect", preconditions=[terminal],
                  detail=f"H(coarse) = {h['coarse']:.3f}, H(fine) = {h['fine']:.3f} bits; SESOI 10% of H(coarse)"),
    ]
    return rows


def diagnostic_claims(records: pd.DataFrame) -> list[dict]:
    """The train-fitted decoders (spec 3.6): do they report less coarse information than the held-out ones at the
    end of training (the pilot's collapse)? Late window, paired within run."""
    main = headline(records)  # without a float32 twin, which would be a second run of its seed
    held = trajectory_statistics(main, "coarse")
    fitted = trajectory_statistics(main, "coarse", fit="train_fitted")
    return [S.verdict("(diagnostic, ours) decoders fitted on the network's training images under-report coarse "
                      "information late in training", "held-out minus train-fitted late-window coarse information "
                      "(bits), paired within run", S.paired_interval(S.by_seed(held, "late"), S.by_seed(fitted, "late")),
                      BITS_SESOI, "bits",
                      detail=f"held-out {held['late'].mean():.3f}, train-fitted {fitted['late'].mean():.3f} bits, test "
                             f"accuracy {held['test_accuracy'].mean():.3f}")]


def _twin_numerics(records: pd.DataFrame) -> tuple:
    """The float32 twins' last epoch (the one they are measured at), and the headline's and the twins' numerics."""
    main, twin = headline(records), records[~_is_headline(records)]
    return (twin["epoch"].max(), _numerics(main["precision"].iloc[0], main["channels_last"].iloc[0]),
            _numerics(twin["precision"].iloc[0], twin["channels_last"].iloc[0]))


def _twin_pairs(records: pd.DataFrame, variable: str, epoch: float) -> tuple:
    """``variable``'s information in the penultimate layer at ``epoch`` (the twins' last, from ``_twin_numerics``):
    the twins' and the headline runs' of the same seeds, each a Series by seed."""

    def at_epoch(df):
        df = penultimate(df)
        return df[(df["variable"] == variable) & (df["epoch"] == epoch)].set_index("seed")["bits"]
    twin = at_epoch(records[~_is_headline(records)])
    return twin, at_epoch(headline(records)).loc[twin.index]


def precision_claims(records: pd.DataFrame) -> list[dict]:
    """bf16 autocast (and channels-last) keep the results: the float32 twins (every seed's first epochs, measured
    at their last) minus the headline runs of the same seeds at that epoch, paired; predicts no effect (two-sided,
    SESOI 0.05 bits)."""
    epoch, label, other = _twin_numerics(records)
    rows = []
    for var in ("fine", "coarse"):
        twin, head = _twin_pairs(records, var, epoch)
        rows.append(S.verdict(f"(ours) {label} keeps the result: {var} information at epoch {epoch:g}",
                              f"{other} minus {label}, same seed (bits)", S.paired_interval(twin, head),
                              BITS_SESOI, "bits", direction=0, predicts="no effect",
                              detail=f"{len(twin)} twin(s); seed spread (s.d.) of the {label} runs at epoch {epoch:g}: "
                                     f"{head.std(ddof=1):.3f} bits"))
    return rows


def precision_table(records: pd.DataFrame) -> pd.DataFrame:
    """Per seed, the penultimate layer's fine and coarse information at the twins' last epoch in both numerics and
    their difference (what ``precision_claims`` tests)."""
    epoch, label, other = _twin_numerics(records)
    columns = {}
    for var in ("fine", "coarse"):
        twin, head = _twin_pairs(records, var, epoch)
        columns.update({f"{var}, {label}": head, f"{var}, {other}": twin, f"{var}, difference": twin - head})
    return pd.DataFrame(columns).rename_axis(f"seed (epoch {epoch:g})")


def _reaches(stats: pd.DataFrame, what: str = "every arm") -> S.Precondition:
    """A matched-accuracy contrast reads each run in its fitting window, so every run must reach 99% training
    accuracy at some checkpoint."""
    reached = float(stats["reached"].min()) if len(stats) else float("nan")
    return S.precondition_at_least(f"{what} reaches {TERMINAL} training accuracy (the matched point)", reached,
                                   TERMINAL, "{:.3f}", TERMINAL_WHERE)


def _matched(matched: pd.DataFrame, more, less, claim: str, contrast: str) -> dict:
    """``claim`` at matched training accuracy: fine information over each run's fitting window (training accuracy
    0.9 -> 0.99, ending where the run first reaches 99%), ``more`` minus ``less`` (row masks of ``matched``, a
    ``terminal_statistics`` table), paired within seed."""
    a, b = matched[more], matched[less]
    return S.verdict(f"{claim}, at matched training accuracy", f"fine information over the fitting window (training "
                     f"accuracy 0.9 -> 0.99), {contrast} (bits), paired within seed",
                     S.paired_interval(S.by_seed(a, "fitting"), S.by_seed(b, "fitting")), BITS_SESOI, "bits",
                     preconditions=[_reaches(matched[more | less])],
                     detail=f"{a['fitting'].mean():.3f} vs {b['fitting'].mean():.3f} bits; first at 99% training "
                            f"accuracy at epoch {a['fit_end'].median():g} vs {b['fit_end'].median():g} (median)")


def lr_batch_claims(records: pd.DataFrame, base_lr: float, base_batch: int) -> list[dict]:
    """Each other learning rate (at the base batch) and each other batch size (at the base lr) against the baseline,
    paired within seed: the side expected to keep more fine information (the lower lr, the larger batch) minus the
    other side, SESOI 0.05 bits, twice: in the late window (testable only where both arms fit their training set)
    and at matched training accuracy (each run's fitting window, testable where both reach 99%). A larger batch at
    equal epochs takes fewer steps: that contrast is confounded by steps, and the row says so."""
    stats = trajectory_statistics(records, "fine")
    matched = terminal_statistics(headline(records), "fine")
    # (column swept, column held, base value, held value, claim, label, +1 when a larger value keeps more)
    axes = (("lr", "batch_size", base_lr, base_batch, "a higher learning rate ends with less fine information",
             "lr {:g}", -1),
            ("batch_size", "lr", base_batch, base_lr, "a smaller batch ends with less fine information",
             "batch {}", +1))
    rows = []
    for column, held, at, fixed, statement, label, sign in axes:
        others = stats.loc[(stats[held] == fixed) & (stats[column] != at), column]
        keeps_more = lambda v: sign * (v - at) > 0  # noqa: E731 - the setting is expected to keep more than the base
        arm = lambda frame, v: (frame[column] == v) & (frame[held] == fixed)  # noqa: E731 - rows of one setting
        for value in sorted(others.unique(), key=lambda v: (not keeps_more(v), v)):
            more_value, less_value = (value, at) if keeps_more(value) else (at, value)
            more, less = arm(stats, more_value), arm(stats, less_value)
            steps = (f"confounded by steps: same epochs, so {value // at}x fewer steps; "
                     if column == "batch_size" and value > at else "")
            contrast = f"{label.format(more_value)} minus {label.format(less_value)}"
            rows.append(S.verdict(statement, f"late-window fine information, {contrast} (bits), paired within seed",
                                  S.paired_interval(S.by_seed(stats[more], "late"), S.by_seed(stats[less], "late")),
                                  BITS_SESOI, "bits", preconditions=[_terminal(stats[more | less], "every arm")],
                                  detail=f"{steps}test accuracy {stats.loc[more, 'test_accuracy'].mean():.3f} vs "
                                         f"{stats.loc[less, 'test_accuracy'].mean():.3f}; training accuracy "
                                         f"{stats.loc[more, 'train_accuracy'].mean():.3f} vs "
                                         f"{stats.loc[less, 'train_accuracy'].mean():.3f}"))
            rows.append(_matched(matched, arm(matched, more_value), arm(matched, less_value),
                                 statement.replace("ends with", "has"), contrast))
    return rows


def initialization_claims(records: pd.DataFrame) -> list[dict]:
    """The fine-pretrained network keeps more fine information than the one trained on the coarse labels from
    scratch, paired within seed, SESOI 0.05 bits: in the late window, and at matched training accuracy (each run's
    fitting window, testable where both reach 99%); and it generalizes worse: lower test accuracy (SESOI one
    point), a higher test loss and a larger test minus train loss (SESOI 0.02 nats). "Generalizes worse" is about
    networks that fit their training set, so it is testable only there."""
    stats = trajectory_statistics(records, "fine")
    pre, scratch = stats[stats["pretrain_epochs"] > 0], stats[stats["pretrain_epochs"] == 0]
    terminal = _terminal(stats, "every arm")
    rows = [S.verdict("a network first trained on the fine labels keeps more fine information",
                      "late-window fine information, fine-pretrained minus scratch (bits), paired within seed",
                      S.paired_interval(S.by_seed(pre, "late"), S.by_seed(scratch, "late")), BITS_SESOI, "bits",
                      detail=f"{pre['late'].mean():.3f} vs {scratch['late'].mean():.3f} bits; final training "
                             f"accuracy {pre['train_accuracy'].mean():.3f} vs {scratch['train_accuracy'].mean():.3f}")]
    matched = terminal_statistics(records, "fine")
    rows.append(_matched(matched, matched["pretrain_epochs"] > 0, matched["pretrain_epochs"] == 0,
                         "a network first trained on the fine labels keeps more fine information",
                         "fine-pretrained minus scratch"))
    rows.append(S.verdict("... and generalizes worse", "coarse test accuracy, scratch minus fine-pretrained, paired "
                          "within seed", S.paired_interval(S.by_seed(scratch, "test_accuracy"),
                                                           S.by_seed(pre, "test_accuracy")),
                          ACCURACY_SESOI, "accuracy", preconditions=[terminal],
                          detail=f"{scratch['test_accuracy'].mean():.3f} vs {pre['test_accuracy'].mean():.3f}"))
    rows.append(S.verdict("... and generalizes worse (test loss)", "coarse test loss, fine-pretrained minus scratch "
                          "(nats), paired within seed", S.paired_interval(S.by_seed(pre, "test_loss"),
                                                                          S.by_seed(scratch, "test_loss")),
                          GAP_SESOI, "nats", preconditions=[terminal],
                          detail=f"{pre['test_loss'].mean():.3f} vs {scratch['test_loss'].mean():.3f} nats"))
    gap = stats.assign(gap=stats["test_loss"] - stats["train_loss"])
    g_pre, g_scr = gap[gap["pretrain_epochs"] > 0], gap[gap["pretrain_epochs"] == 0]
    rows.append(S.verdict("... and generalizes worse (loss gap)", "test minus train coarse loss, fine-pretrained minus "
                          "scratch (nats), paired within seed", S.paired_interval(S.by_seed(g_pre, "gap"),
                                                                                  S.by_seed(g_scr, "gap")),
                          GAP_SESOI, "nats", preconditions=[terminal],
                          detail=f"gap {g_pre['gap'].mean():.3f} vs {g_scr['gap'].mean():.3f} nats (train = "
                                 "un-augmented training images)"))
    return rows


# ---------------------------------------------------------------------------------------------------------------
# cifar_terminal_phase (the regimes issue): what happens after the network fits its training set

FITTING = (0.9, TERMINAL)  # the fitting window: checkpoints from the first at 90% training accuracy to the first at 99%


# the neural-collapse ratios of the penultimate layer (``uinfo.estimators.collapse``), on test and training images
COLLAPSE = {"collapse_coarse_test": "coarse, test", "collapse_coarse_train": "coarse, training",
            "collapse_fine_test": "fine inside coarse, test", "collapse_fine_train": "fine inside coarse, training"}


def _arm(row) -> str:
    """The arm of a terminal-phase run: its net, training images and augmentation."""
    return f"{row.model}, {int(row.n_train)} images" + (", augmented" if row.augment else "")


def _trajectories(records: pd.DataFrame, layer: str = "penultimate", fit: str = "heldout"):
    """The coarse-training rows of one layer ("penultimate" or a layer name) and one decoder fit, and their table
    of fine, coarse and excess (fine minus coarse) bits per run and epoch."""
    held = records[(records["fit"] == fit) & (records["phase"] == "train")]
    chosen = held[held["layer"] == (held["model"].map(PENULTIMATE) if layer == "penultimate" else layer)]
    table = chosen.pivot_table(index=["run", "epoch"], columns="variable", values="bits").reset_index()
    table["excess"] = table["fine"] - table["coarse"]
    measured = [c for c in COLLAPSE if c in chosen.columns]  # per checkpoint, on the runs that record them
    if measured:
        table = table.merge(chosen.drop_duplicates(["run", "epoch"])[["run", "epoch", *measured]], on=["run", "epoch"])
    return chosen, table


def terminal_statistics(records: pd.DataFrame, variable: str, layer: str = "penultimate",
                        fit: str = "heldout") -> pd.DataFrame:
    """Per run: the mean information of ``variable`` ("fine", "coarse" or "excess" = fine minus coarse; or a
    collapse ratio of ``COLLAPSE``) in the penultimate layer (or "logits") over the fitting window (the checkpoints
    from the first at which the training accuracy reaches 0.9 to the first at which it reaches 0.99; the last
    checkpoint for a run that never does) and over the late window (the last 20% of training,
    ``uinfo.report.stats.LATE``); the epochs the fit starts and ends; the final accuracies and
    losses. The fitting window is defined by the accuracy, not by the information, so it does not select a peak."""
    chosen, table = _trajectories(records, layer, fit)
    first = chosen.drop_duplicates(["run", "epoch"]).set_index(["run", "epoch"])
    rows = []
    for run, one in table.groupby("run", sort=False):
        one = one.sort_values("epoch")
        info = first.loc[run]
        acc = info["train_accuracy"].reindex(one["epoch"]).to_numpy()
        last = info.iloc[-1]
        epochs = one["epoch"].to_numpy()
        # a run that never reaches 99% (or 90%) gets the window's end (and start) at its last checkpoint: its
        # statistic is still shown, beside the failed precondition that makes its claims untestable
        end = epochs[acc >= FITTING[1]][0] if (acc >= FITTING[1]).any() else epochs[-1]
        start = min(epochs[acc >= FITTING[0]][0], end) if (acc >= FITTING[0]).any() else end
        window = one[(one["epoch"] >= start) & (one["epoch"] <= end)]
        length = float(last.epochs)
        late = one[one["epoch"] >= LATE.start * length]
        rows.append(dict(run=run, seed=last.seed, arm=_arm(last), model=last.model, n_train=int(last.n_train),
                         augment=bool(last.augment), lr=last.lr, batch_size=last.batch_size,
                         pretrain_epochs=last.pretrain_epochs, variable=variable, layer=layer,
                         fitting=float(window[variable].mean()), late=float(late[variable].mean()),
                         initial=float(one[variable].iloc[0]), final=float(one[variable].iloc[-1]),
                         fit_start=start, fit_end=end, reached=float(np.nanmax(acc)),
                         train_accuracy=last.train_accuracy, test_accuracy=last.test_accuracy,
                         train_loss=last.train_loss, test_loss=last.test_loss))
    return pd.DataFrame(rows)


def collapse_table(records: pd.DataFrame) -> pd.DataFrame:
    """Per arm: each neural-collapse ratio (within- over between-class variability of the penultimate features)
    at initialization, over the fitting window and over the late window, as the geometric mean over seeds (the
    ratios span orders of magnitude), and the late over fitting ratio per seed (min-max); ``fitted``: every seed
    reached 99% training accuracy (otherwise its fitting window is its last checkpoint, inside the late window).
    Arms in the order of the records. Empty where no run records them."""
    rows = []
    for column, what in COLLAPSE.items():
        if column not in records.columns or records[column].isna().all():
            continue
        stats = terminal_statistics(records[records[column].notna()], column)
        for arm, one in stats.groupby("arm", sort=False):
            change = one["late"] / one["fitting"]
            rows.append(dict(arm=arm, ratio=what, seeds=len(one), initial=_geomean(one["initial"]),
                             fitting=_geomean(one["fitting"]), late=_geomean(one["late"]),
                             late_over_fitting=_geomean(change), lowest=change.min(), highest=change.max(),
                             fitted=bool((one["reached"] >= TERMINAL).all())))
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    arms = list(dict.fromkeys(_arm(r) for r in records.drop_duplicates("run").itertuples(index=False)))
    return table.sort_values("arm", key=lambda a: a.map(arms.index), kind="stable").reset_index(drop=True)


def _geomean(values: pd.Series) -> float:
    return float(np.exp(np.log(values.astype(float)).mean()))


def _fits(stats: pd.DataFrame, arm: str) -> S.Precondition:
    acc = float(stats["train_accuracy"].mean()) if len(stats) else float("nan")
    return S.precondition_at_least(f"{arm} fits its training set (final training accuracy >= {TERMINAL})", acc,
                                   TERMINAL, "{:.3f}", "a longer run of this arm")


def _decline(stats: pd.DataFrame, claim: str, what: str) -> dict:
    arm = stats["arm"].iloc[0]
    return S.verdict(claim, f"{arm}: {what}, fitting-window minus late-window (bits)",
                     S.t_interval(S.by_seed(stats, "fitting") - S.by_seed(stats, "late")), BITS_SESOI, "bits",
                     preconditions=[_fits(stats, arm)],
                     detail=f"fitting window (training accuracy 0.9 -> 0.99) epochs {stats['fit_start'].median():g}-"
                            f"{stats['fit_end'].median():g} (median): {stats['fitting'].mean():.3f}, late window "
                            f"{stats['late'].mean():.3f} bits; final training accuracy "
                            f"{stats['train_accuracy'].mean():.3f}, test {stats['test_accuracy'].mean():.3f}")


def terminal_claims(records: pd.DataFrame, headline: list[str], augmented: str | None, sizes: list[str]) -> list[dict]:
    """K6 in the phase after the fit, per run from the fitting window (accuracy 0.9 -> 0.99) to the late window
    (last 20%), one value per seed, SESOI 0.05 bits, each arm testable only if it fits its training set: for each
    headline net, fine information in the penultimate layer falls, and so does the excess (fine minus coarse)
    information, the part a minimal representation of the coarse task would not keep; fine information in the
    logits falls. Beside them: the augmented arm and the training-set sizes (the sensitivity panel)."""
    rows = []
    fine, excess = terminal_statistics(records, "fine"), terminal_statistics(records, "excess")
    logits = terminal_statistics(records, "fine", layer="logits")
    for arm in headline:
        rows.append(_decline(fine[fine["arm"] == arm], "K6: fine-label information falls once the network has fitted "
                             "its training set", "fine information, penultimate layer"))
        rows.append(_decline(excess[excess["arm"] == arm], "K6: ... toward a representation of the coarse label only "
                             "(the excess, fine minus coarse information, falls)", "fine minus coarse information, "
                             "penultimate layer"))
        rows.append(_decline(logits[logits["arm"] == arm], "K6: fine-label information in the logits falls once the "
                             "network has fitted its training set", "fine information, logits"))
    for arm in [a for a in (augmented, *sizes) if a]:
        rows.append(_decline(fine[fine["arm"] == arm], "(sensitivity) K6: fine-label information falls once the "
                             "network has fitted its training set", "fine information, penultimate layer"))
    return rows


def terminal_figure(records: pd.DataFrame, h: dict, headline: list[str], augmented: str | None, sizes: list[str]):
    """(a) training and test accuracy of the headline nets; (b) fine and coarse, (c) excess information in the
    penultimate layer; (d) fine information in the logits; (e) the fine-information decline (fitting window minus
    late window) per arm, seeds as dots; (f) fine information, penultimate layer, per number of training images;
    (g, h) the neural-collapse ratios of the headline nets on training (solid) and test (dashed) images, where the
    runs record them; (i) All-CNN's fine information without and with augmentation."""
    use_style()
    records = records.assign(arm=[_arm(r) for r in records[["model", "n_train", "augment"]].itertuples(index=False)])
    held = records[(records["fit"] == "heldout") & (records["phase"] == "train")]
    pen = penultimate(held)
    arms = [a for a in (*headline, augmented, *sizes) if a]
    colours = dict(zip(arms, plt.cm.tab10(np.arange(len(arms)))))
    fig, axes = plt.subplots(3, 3, figsize=(15, 12))
    ax = axes[0, 0]
    for arm in headline:
        one = pen[(pen["arm"] == arm) & (pen["variable"] == "coarse")]
        _band(ax, one, "train_accuracy", colours[arm], f"{arm}: training")
        _band(ax, one, "test_accuracy", colours[arm], f"{arm}: test", ls="--")
    ax.axhline(TERMINAL, color="k", ls=":", lw=0.8)
    ax.set(ylabel="coarse accuracy", title="(a) fitting the training set")
    ax.legend(fontsize=7)
    ax = axes[0, 1]
    for arm in headline:
        for var, ls in (("fine", "-"), ("coarse", "--")):
            _band(ax, pen[(pen["arm"] == arm) & (pen["variable"] == var)], "bits", colours[arm], f"{arm}: {var}", ls)
    _references(ax, h, ("coarse",))
    ax.set(ylabel="usable information (bits)", title="(b) fine (solid) and coarse (dashed), penultimate")
    ax.legend(fontsize=7)
    for ax, var, layer, title in ((axes[0, 2], "excess", "penultimate", "(c) excess: fine minus coarse, penultimate"),
                                  (axes[1, 0], "fine", "logits", "(d) fine information in the logits")):
        for arm in headline:
            one = records[records["arm"] == arm]
            stats = terminal_statistics(one, var, layer)
            _band(ax, _trajectories(one, layer)[1], var, colours[arm], arm)
            ax.axvspan(stats["fit_start"].median(), stats["fit_end"].median(), color=colours[arm], alpha=0.08)
        ax.set(ylabel="bits", title=title)
        ax.legend(fontsize=7)
    ax = axes[1, 1]
    fine = terminal_statistics(records, "fine")
    for i, arm in enumerate(arms):
        d = (fine.loc[fine["arm"] == arm, "fitting"] - fine.loc[fine["arm"] == arm, "late"]).to_numpy()
        ax.scatter(np.full(len(d), i), d, color=colours[arm], alpha=0.6)
        ax.errorbar(i + 0.15, np.nanmean(d), S.sem(pd.Series(d).dropna()) if np.isfinite(d).sum() > 1 else 0,
                    fmt="o", color="k", capsize=3)
    ax.axhline(0, color="k", lw=0.6)
    ax.axhline(BITS_SESOI, color="gray", ls=":", lw=0.8)
    ax.set_xticks(range(len(arms)), [a.replace(", ", "\n") for a in arms], fontsize=7)
    ax.set(ylabel="fitting-window minus late-window fine bits", title="(e) the decline after the fit, per seed")
    ax = axes[1, 2]
    for arm in [headline[0], *sizes]:
        _band(ax, pen[(pen["arm"] == arm) & (pen["variable"] == "fine")], "bits", colours[arm], arm)
    ax.set(ylabel="fine information, penultimate (bits)", title="(f) training-set size")
    ax.legend(fontsize=7)
    tables = {arm: _trajectories(records[records["arm"] == arm])[1] for arm in headline}  # with the collapse ratios
    for ax, kind, title in ((axes[2, 0], "coarse", "(g) collapse of the coarse classes"),
                            (axes[2, 1], "fine", "(h) fine classes inside each coarse class")):
        for arm, table in tables.items():
            for split, ls in (("train", "-"), ("test", "--")):
                column = f"collapse_{kind}_{split}"
                if column in table.columns and table[column].notna().any():
                    _band(ax, table, column, colours[arm], f"{arm}: {'training' if split == 'train' else split}", ls)
        ax.set(yscale="log", ylabel="within- / between-class variability", title=title)
        ax.legend(fontsize=7)
    ax = axes[2, 2]
    allcnn = [a for a in headline if a.startswith("allcnn")]
    for arm in [*allcnn, augmented] if augmented else allcnn:
        _band(ax, pen[(pen["arm"] == arm) & (pen["variable"] == "fine")], "bits", colours[arm], arm)
    ax.set(ylabel="fine information, penultimate (bits)", title="(i) augmentation")
    ax.legend(fontsize=7)
    for ax in (*axes[0], axes[1, 0], axes[1, 2], *axes[2]):
        _epoch_axis(ax, held)
    fig.tight_layout()
    return fig
