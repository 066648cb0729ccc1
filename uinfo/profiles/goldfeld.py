"""The Goldfeld notebooks' stored runs at each profile (smoke, quick, paper): the single neuron, the SZT nets and
their variants, the MNIST CNN. Not part of any run's code version (``uinfo.provenance``): a config carries every
setting into its store key, so a new notebook or profile here recomputes nothing already stored. (The estimator
validation computes in its notebook and stores nothing: its settings stay beside it in the experiment module.)"""
from __future__ import annotations

from ..experiments.mnist import MNIST_VARIANTS, MNISTConfig
from ..experiments.neuron import NeuronConfig
from ..experiments.szt import ReplicaPanelConfig, SZTConfig
from ..tasks.images import load_images
from . import profile_spec


def _seeds(default, seeds):
    return tuple(default if seeds is None else seeds)


NEURON_PROFILES = {"smoke": dict(epochs=2000, n_checkpoints=20, n_mc=200), "quick": {}, "paper": {}}
NEURON_SEEDS = {"smoke": (0,), "quick": (0, 1, 2), "paper": (0, 1, 2, 3, 4)}


def neuron_configs(profile: str, seeds=None, **overrides) -> list[NeuronConfig]:
    spec = profile_spec(NEURON_PROFILES, profile)
    return [NeuronConfig(**{**spec, **overrides, "seed": s})
            for s in _seeds(NEURON_SEEDS[profile], seeds)]


SZT_PROFILES = {
    "smoke": dict(epochs=20, n_checkpoints=4, replicas=4, own_replicas=16, max_draws=512, seeds=(0, 1),
                  snapshot_epochs=(1, 3, 10, 20)),
    # each drawn input's own conditional from 1000 fresh replicas, the rest of the mixture from 32 per input
    # (sp_fresh_information): 0.035 nats from the exact value of the linear net in its worst layer (4096 draws),
    # where the plain estimate from 8 replicas per input read up to 0.9 nats high (the szt_replicas panel)
    "quick": dict(epochs=10000, n_checkpoints=20, replicas=32, own_replicas=1000, max_draws=512, seeds=(0, 1, 2)),
    # the authors' 4096 inputs x 1000 replicas (the plain estimate); draws are spent to a target error rather
    # than 1000 per centre: 4096 give a Monte Carlo s.e. of about 0.02 nats (a fifth of the claims' SESOI). The
    # 200000 planned before would cost thousands of core-hours per run (python -m uinfo plan szt_tanh --profile paper)
    "paper": dict(epochs=10000, n_checkpoints=100, replicas=1000, max_draws=4096, seeds=(0, 1, 2, 3, 4)),
}
# variant name -> what differs from the tanh run (spec 4.5); the deterministic twin is for the binning notebook
SZT_VARIANTS = {
    "tanh": {},
    "tanh + orthonormal": dict(orth_alpha=1e-3),
    "linear (beta 0.01)": dict(activation="linear", beta=0.01),
    "relu": dict(activation="relu"),
    "tanh, deterministic": dict(beta=0.0),
}


def szt_configs(profile: str, variants=("tanh",), seeds=None, data_dir=None) -> dict[str, SZTConfig]:
    """One config (all seeds side by side) per named variant of ``SZT_VARIANTS``."""
    spec = profile_spec(SZT_PROFILES, profile)
    unknown = [v for v in variants if v not in SZT_VARIANTS]
    if unknown:
        raise ValueError(f"unknown SZT variant(s) {unknown}; choose from {list(SZT_VARIANTS)}")
    base = dict(spec)
    if seeds is not None:
        base["seeds"] = tuple(seeds)
    sha = load_images("szt", data_dir=data_dir, verbose=False).source["sha256"]
    return {v: SZTConfig(**{**base, **SZT_VARIANTS[v], "data_sha256": sha}) for v in variants}


# draws: per unpaired estimate; batches x batch_draws: the common draws of every pool (the first
# reference_batches also of the 1000-replica reference), whose paired differences decide the convergence claims
REPLICA_PROFILES = {
    "smoke": dict(epochs=(3, 10, 20), plain=(4, 8), pools=(4,), own_replicas=32, draws=64, batches=4,
                  batch_draws=16, reference_batches=2),
    "quick": dict(epochs=(30, 886, 10000), plain=(8, 32, 128, 1000), pools=(8, 16, 32), own_replicas=1000,
                  draws=512, batches=64, batch_draws=64, reference_batches=8),
    "paper": dict(epochs=(30, 886, 10000), plain=(8, 32, 128, 512, 1000), pools=(8, 32, 128), own_replicas=1000,
                  draws=4096, batches=64, batch_draws=64, reference_batches=64),
}


def replica_configs(profile: str, variants=("tanh", "linear (beta 0.01)"), seeds=None,
                    data_dir=None) -> list[ReplicaPanelConfig]:
    """The replica-convergence panel of each named SZT variant (its first seed), at the profile's checkpoints."""
    spec = profile_spec(REPLICA_PROFILES, profile)
    return [ReplicaPanelConfig(szt=c, **spec)
            for c in szt_configs(profile, variants, seeds, data_dir).values()]


MNIST_PROFILES = {
    "smoke": dict(n_train=1000, n_val=500, epochs=2, per_class=10, matrix_per_class=5, matrix_epochs=(0, 2)),
    "quick": dict(n_train=12000, n_val=5000, epochs=10, matrix_epochs=(0, 1, 3, 10)),
    "paper": dict(n_train=55000, n_val=5000, epochs=50, matrix_epochs=(0, 1, 5, 20, 50)),
}
MNIST_SEEDS = {"smoke": (0,), "quick": (0, 1, 2), "paper": (0, 1, 2, 3, 4)}


def mnist_configs(profile: str, seeds=None, data_dir=None) -> list[MNISTConfig]:
    spec = profile_spec(MNIST_PROFILES, profile)
    # every profile reads all 60000 training images (the validation images are the last n_val): a smaller file
    # stops here, before any compute
    sha = load_images("mnist", n_train=60000, data_dir=data_dir, verbose=False).source["sha256"]
    return [MNISTConfig(variant=v, seed=s, data_sha256=sha, **spec)
            for v in MNIST_VARIANTS for s in _seeds(MNIST_SEEDS[profile], seeds)]
