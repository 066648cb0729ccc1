"""The checkerboard notebooks' runs at each profile (smoke, quick, paper): tables of settings and the functions
that turn them into configs. Not part of any run's code version (``uinfo.provenance``): a config carries every
setting into its store key, so a new notebook or profile here recomputes nothing already stored."""
from __future__ import annotations

from ..experiments.checkerboard import CheckerboardConfig
from . import profile_spec

# ---------------------------------------------------------------------------------------------------------------
# checkerboard_dynamics: profiles are data, not branches

MAIN_WIDTH = 5
SMOKE_BASE = dict(n_samples=600, n_analysis=400, epochs=2, n_checkpoints=6)
QUICK_BASE = dict(epochs=60, n_checkpoints=30)  # shared by every quick checkerboard notebook (store reuse)
PAPER_BASE = dict(epochs=200, n_checkpoints=60)


def _profile(profiles: dict, profile: str, seeds) -> tuple[dict, tuple]:
    spec = profile_spec(profiles, profile)
    return spec, spec["seeds"] if seeds is None else tuple(seeds)


DYNAMICS_PROFILES = {
    # seconds, for CI: tiny data, two epochs
    "smoke": dict(seeds=(0, 1), widths=(5, 100), variants=({"weight_decay": 1e-3},),
                  base=SMOKE_BASE),
    # a 2-core laptop: the paper's data and optimizer, fewer epochs and checkpoints
    "quick": dict(seeds=tuple(range(5)), widths=(3, 5, 8, 16, 100),
                  variants=({"weight_decay": 1e-3}, {"activation": "tanh"}), base=QUICK_BASE),
    # the paper's setting as far as it is known (200 epochs is the spec's recommendation)
    "paper": dict(seeds=tuple(range(10)), widths=(3, 5, 8, 16, 100),
                  variants=({"weight_decay": 1e-3}, {"activation": "tanh"}, {"momentum": 0.9}),
                  base=PAPER_BASE),
}


def dynamics_configs(profile: str, seeds=None, widths=None) -> list[CheckerboardConfig]:
    """FC Small (two hidden layers of equal width) for every width x seed of a profile, then the profile's
    variants (other settings changed one at a time) at the main width."""
    spec, seeds = _profile(DYNAMICS_PROFILES, profile, seeds)
    widths = spec["widths"] if widths is None else tuple(int(w) for w in widths)
    configs = [CheckerboardConfig(seed=s, hidden=(w, w), **spec["base"]) for w in widths for s in seeds]
    configs += [CheckerboardConfig(seed=s, hidden=(MAIN_WIDTH, MAIN_WIDTH), **{**spec["base"], **variant})
                for variant in spec.get("variants", ()) for s in seeds]
    return configs



# ---------------------------------------------------------------------------------------------------------------
# checkerboard_lr_batch: the learning rate and batch size of SGD (spec section 4)

FULL_BATCH = 9000  # larger than any training split here: train_sgd then takes the whole split as one batch
LR_BATCH_PROFILES = {
    "smoke": dict(seeds=(0,), lrs=(0.01, 0.05), batch_sizes=(32, 128), grid_lrs=(), grid_batch_sizes=(),
                  base=SMOKE_BASE),
    # same base as checkerboard_dynamics' quick profile, so the shared lr 0.05 / batch 32 runs come from the store
    "quick": dict(seeds=tuple(range(5)), lrs=(0.001, 0.005, 0.01, 0.05, 0.1), batch_sizes=(8, 32, 128, 512, FULL_BATCH),
                  grid_lrs=(0.01, 0.1), grid_batch_sizes=(8, 128), base=QUICK_BASE),
    "paper": dict(seeds=tuple(range(10)), lrs=(0.001, 0.005, 0.01, 0.05, 0.1), batch_sizes=(8, 32, 128, 512, FULL_BATCH),
                  grid_lrs=(0.005, 0.01, 0.05, 0.1), grid_batch_sizes=(8, 32, 128, 512),
                  base=PAPER_BASE),
}


def lr_batch_configs(profile: str, seeds=None) -> list[CheckerboardConfig]:
    """FC Small at the main width: a learning-rate sweep at batch 32, a batch-size sweep at lr 0.05, and a small
    lr x batch grid (to see whether lr / batch orders the results); each (lr, batch) once, every seed."""
    spec, seeds = _profile(LR_BATCH_PROFILES, profile, seeds)
    pairs = [(lr, 32) for lr in spec["lrs"]] + [(0.05, bs) for bs in spec["batch_sizes"]]
    pairs += [(lr, bs) for lr in spec["grid_lrs"] for bs in spec["grid_batch_sizes"]]
    pairs = list(dict.fromkeys(pairs))
    return [CheckerboardConfig(seed=s, hidden=(MAIN_WIDTH, MAIN_WIDTH), lr=lr, batch_size=bs, **spec["base"])
            for lr, bs in pairs for s in seeds]



# ---------------------------------------------------------------------------------------------------------------
# checkerboard_layers: every hidden layer of a deeper fully connected net

LAYERS_PROFILES = {
    "smoke": dict(seeds=(0,), nets=((5, 5, 5, 5),), base=SMOKE_BASE),
    "quick": dict(seeds=tuple(range(5)), nets=((5, 5, 5, 5), (8, 8, 8, 8), (5, 5)), base=QUICK_BASE),
    "paper": dict(seeds=tuple(range(10)), nets=((5, 5, 5, 5), (8, 8, 8, 8), (5, 5), (25, 15, 5)), base=PAPER_BASE),
}


def layers_configs(profile: str, seeds=None) -> list[CheckerboardConfig]:
    """Fully connected ReLU nets of several depths and widths (the first is the headline), every seed."""
    spec, seeds = _profile(LAYERS_PROFILES, profile, seeds)
    return [CheckerboardConfig(seed=s, hidden=net, **spec["base"]) for net in spec["nets"] for s in seeds]


# ---------------------------------------------------------------------------------------------------------------
# checkerboard_architectures: FC Small, FC Large and recurrent networks

ARCHITECTURE_PROFILES = {
    "smoke": dict(seeds=(0,), nets=(dict(hidden=(5, 5)), dict(hidden=(64, 64)),
                                    dict(architecture="rnn", hidden=(5,), activation="tanh")), base=SMOKE_BASE),
    "quick": dict(seeds=tuple(range(5)), nets=(dict(hidden=(5, 5)), dict(hidden=(256, 256)),
                                               dict(architecture="rnn", hidden=(5,), activation="tanh"),
                                               dict(architecture="gru", hidden=(5,), activation="tanh")),
                  base=QUICK_BASE),
    "paper": dict(seeds=tuple(range(10)), nets=(dict(hidden=(5, 5)), dict(hidden=(1000, 1000)),
                                                dict(hidden=(1000,) * 5),
                                                dict(architecture="rnn", hidden=(5,), activation="tanh"),
                                                dict(architecture="rnn", hidden=(100,), activation="tanh"),
                                                dict(architecture="gru", hidden=(5,), activation="tanh"),
                                                dict(architecture="gru", hidden=(100,), activation="tanh")),
                  base=PAPER_BASE),
}


def architecture_configs(profile: str, seeds=None) -> list[CheckerboardConfig]:
    """FC Small, FC Large and recurrent networks (vanilla RNN, GRU) on the same task and optimizer, every seed."""
    spec, seeds = _profile(ARCHITECTURE_PROFILES, profile, seeds)
    return [CheckerboardConfig(seed=s, **spec["base"], **net) for net in spec["nets"] for s in seeds]


# ---------------------------------------------------------------------------------------------------------------
# checkerboard_initialization: perturbing the initial part of training (spec section 5)

INITIALIZATION_PROFILES = {
    "smoke": dict(seeds=(0,), pretrain_epochs=1, warmups=(0, 1), warmup_lr=0.005, base=SMOKE_BASE),
    "quick": dict(seeds=tuple(range(5)), pretrain_epochs=20, warmups=(0, 2, 5, 10, 20, 40), warmup_lr=0.005,
                  base=QUICK_BASE),
    "paper": dict(seeds=tuple(range(10)), pretrain_epochs=50, warmups=(0, 1, 2, 5, 10, 20, 40, 80),
                  warmup_lr=0.005, base=PAPER_BASE),
}


def initialization_configs(profile: str, seeds=None) -> list[CheckerboardConfig]:
    """(A) FC Small pretrained on colour, then trained on direction (keeping the readout, and with a fresh
    readout), and the same net from random initialization with the identical direction phase; (B) the first T epochs of direction training at a low
    learning rate, then the baseline lr 0.05 / batch 32, for each T (T = 0 is the baseline). Total direction
    epochs are the same in every condition."""
    spec, seeds = _profile(INITIALIZATION_PROFILES, profile, seeds)
    base = CheckerboardConfig(hidden=(MAIN_WIDTH, MAIN_WIDTH), **spec["base"])
    pretrain = dict(pretrain_target="colour", pretrain_epochs=spec["pretrain_epochs"])
    configs = [base.replace(seed=s, **pretrain) for s in seeds]
    configs += [base.replace(seed=s, reset_readout=True, **pretrain) for s in seeds]
    for t in spec["warmups"]:
        extra = dict(warmup_epochs=t, warmup_lr=spec["warmup_lr"]) if t else {}
        configs += [base.replace(seed=s, **extra) for s in seeds]
    return configs


# ---------------------------------------------------------------------------------------------------------------
# checkerboard_overfitting: the initialization contrast in a regime that can overfit (the regimes issue). FC Small
# cannot overfit this task (its gap is 0.008 nats at every setting of checkerboard_initialization): the inputs are
# 4-D and nearly noise-free (sigma 0.1), with 9000 training samples. Here the evidence is noisier (sigma 0.5: the
# Bayes accuracy falls from ~0.95 to ~0.8, so there is label noise to memorize), the training set is 205 samples
# (5% of 4100; the other 3895 are the validation set), the net is 2 x 64 and trains 1500 epochs.

OVERFIT_PROFILES = {
    "smoke": dict(seeds=(0, 1), pretrain_epochs=2,
                  base=dict(hidden=(16, 16), sigma=0.5, n_samples=600, train_fraction=0.1, n_analysis=400, epochs=4,
                            n_checkpoints=6)),
    "quick": dict(seeds=tuple(range(10)), pretrain_epochs=300,
                  base=dict(hidden=(64, 64), sigma=0.5, n_samples=4100, train_fraction=0.05, epochs=1500,
                            n_checkpoints=30)),
    "paper": dict(seeds=tuple(range(20)), pretrain_epochs=300,
                  base=dict(hidden=(64, 64), sigma=0.5, n_samples=4100, train_fraction=0.05, epochs=1500,
                            n_checkpoints=60)),
}


def overfitting_configs(profile: str, seeds=None) -> list[CheckerboardConfig]:
    """Random initialization, then the same net first trained on colour (readout kept), each followed by the
    identical direction phase, every seed; in the regime of ``OVERFIT_PROFILES``."""
    spec, seeds = _profile(OVERFIT_PROFILES, profile, seeds)
    base = CheckerboardConfig(**spec["base"])
    pretrain = dict(pretrain_target="colour", pretrain_epochs=spec["pretrain_epochs"])
    return [base.replace(seed=s) for s in seeds] + [base.replace(seed=s, **pretrain) for s in seeds]
