"""Every notebook's runs, in one table: which experiment computes them, how their configs are built at a profile,
and the code version they come from. What run_all's prefetch, the sweep, the claims' provenance, the results
bundle and the reviewers' check read, so each works for every notebook and none special-cases a family.

An *experiment* is a kind of stored run: its name is its folder in the store, its module computes one run from a
config (``compute(config, progress, state_path)``) and defines the config class, and the import closure of that
module is the runs' code version (``uinfo.provenance``).
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Callable

from . import provenance


@dataclass(frozen=True)
class Experiment:
    name: str            # the store folder
    module: str          # computes one run and defines the config class; its import closure is the code version
    compute: str         # the module's function (config, progress, state_path) -> records or (records, extras)
    config_class: str    # the config dataclass in ``module``

    def code_version(self) -> str:
        return provenance.code_version(self.module)

    def function(self) -> Callable:
        return getattr(importlib.import_module(self.module), self.compute)


EXPERIMENTS = {e.name: e for e in (
    Experiment("checkerboard", "uinfo.experiments.checkerboard", "_compute", "CheckerboardConfig"),
    Experiment("cifar", "uinfo.experiments.cifar", "_compute", "CIFARConfig"),
    Experiment("single_neuron", "uinfo.experiments.neuron", "run_single_neuron", "NeuronConfig"),
    Experiment("szt", "uinfo.experiments.szt", "run_szt", "SZTConfig"),
    Experiment("szt_replicas", "uinfo.experiments.szt", "run_replica_panel", "ReplicaPanelConfig"),
    Experiment("mnist_cnn", "uinfo.experiments.mnist", "run_mnist", "MNISTConfig"),
)}


@dataclass(frozen=True)
class Notebook:
    name: str
    experiment: str | None   # None: computed inside the notebook, nothing stored
    build: Callable | None   # (profile, seeds) -> the configs the notebook reads, at its default parameters
    module: str = ""         # for a notebook that stores nothing: the module it computes with

    def configs(self, profile: str, seeds=None) -> list:
        if self.build is None:
            return []
        return list(self.build(profile, seeds))

    def code_versions(self) -> dict[str, str]:
        """{experiment (or module): code version} of what the notebook's results are computed by."""
        if self.experiment is not None:
            return {self.experiment: EXPERIMENTS[self.experiment].code_version()}
        return {self.module: provenance.code_version(self.module)}


def _checkerboard(builder: str) -> Callable:
    def build(profile, seeds):
        from .profiles import checkerboard

        return getattr(checkerboard, builder)(profile, seeds=seeds)
    return build


def _cifar(notebook: str) -> Callable:
    def build(profile, seeds):
        from .profiles import cifar

        return cifar.notebook_configs(notebook, profile, seeds=seeds)
    return build


def _goldfeld(builder: str, *args) -> Callable:
    def build(profile, seeds):
        from .profiles import goldfeld

        return getattr(goldfeld, builder)(profile, *args, seeds=seeds)
    return build


def _szt(*variants: str) -> Callable:
    def build(profile, seeds):
        from .profiles import goldfeld

        return list(goldfeld.szt_configs(profile, list(variants), seeds).values())
    return build


NOTEBOOKS = {n.name: n for n in (
    Notebook("checkerboard_dynamics", "checkerboard", _checkerboard("dynamics_configs")),
    Notebook("checkerboard_lr_batch", "checkerboard", _checkerboard("lr_batch_configs")),
    Notebook("checkerboard_layers", "checkerboard", _checkerboard("layers_configs")),
    Notebook("checkerboard_architectures", "checkerboard", _checkerboard("architecture_configs")),
    Notebook("checkerboard_initialization", "checkerboard", _checkerboard("initialization_configs")),
    Notebook("checkerboard_overfitting", "checkerboard", _checkerboard("overfitting_configs")),
    Notebook("cifar10_resnet18_coarse", "cifar", _cifar("cifar10_resnet18_coarse")),
    Notebook("cifar10_allcnn_coarse", "cifar", _cifar("cifar10_allcnn_coarse")),
    Notebook("cifar100_coarse", "cifar", _cifar("cifar100_coarse")),
    Notebook("cifar_lr_batch", "cifar", _cifar("cifar_lr_batch")),
    Notebook("cifar_initialization", "cifar", _cifar("cifar_initialization")),
    Notebook("cifar_terminal_phase", "cifar", _cifar("cifar_terminal_phase")),
    Notebook("single_neuron", "single_neuron", _goldfeld("neuron_configs")),
    Notebook("szt_tanh", "szt", _szt("tanh")),
    Notebook("szt_variants", "szt", _szt("tanh", "tanh + orthonormal", "linear (beta 0.01)", "relu")),
    Notebook("binning_vs_sp", "szt", _szt("tanh", "tanh, deterministic")),
    Notebook("usable_vs_shannon", "szt", _szt("tanh")),
    Notebook("szt_replicas", "szt_replicas", _goldfeld("replica_configs")),
    Notebook("mnist_cnn_clustering", "mnist_cnn", _goldfeld("mnist_configs")),
    Notebook("sp_estimator_validation", None, None, module="uinfo.experiments.sp_validation"),
)}


def notebook(name: str) -> Notebook:
    if name not in NOTEBOOKS:
        raise ValueError(f"unknown notebook {name!r}; one of {sorted(NOTEBOOKS)}")
    return NOTEBOOKS[name]


def experiment(name: str) -> Experiment:
    if name not in EXPERIMENTS:
        raise ValueError(f"unknown experiment {name!r}; one of {sorted(EXPERIMENTS)}")
    return EXPERIMENTS[name]


def code_versions(notebook_name: str) -> dict[str, str]:
    """The code versions behind a notebook's results (an unregistered name: the store's own, for tests)."""
    if notebook_name in NOTEBOOKS:
        return NOTEBOOKS[notebook_name].code_versions()
    return {"uinfo.store": provenance.code_version("uinfo.store")}


def experiment_of(config) -> Experiment:
    """The experiment whose runs ``config`` describes (by its class)."""
    kind = type(config)
    for e in EXPERIMENTS.values():
        if kind.__module__ == e.module and kind.__name__ == e.config_class:
            return e
    raise TypeError(f"{kind.__name__} is not the config of any experiment ({sorted(EXPERIMENTS)})")


def config_from_fields(experiment_name: str, fields: dict):
    """The config object of a stored config (meta.json's ``config``): JSON lists back to the tuples the dataclasses
    hold, nested configs rebuilt; fields the class no longer has are left out."""
    e = experiment(experiment_name)
    return _rebuild(getattr(importlib.import_module(e.module), e.config_class), fields)


def _rebuild(kind, fields: dict):
    import dataclasses

    def value(field, v):
        if dataclasses.is_dataclass(field.default) and isinstance(v, dict):
            return _rebuild(type(field.default), v)
        return tuples(v)

    def tuples(v):
        return tuple(tuples(x) for x in v) if isinstance(v, list) else v
    known = {f.name: f for f in dataclasses.fields(kind)}
    return kind(**{k: value(known[k], v) for k, v in fields.items() if k in known})


def notebooks_of(experiment_name: str) -> list[str]:
    return [n.name for n in NOTEBOOKS.values() if n.experiment == experiment_name]


def cost(experiment_name: str, config) -> float:
    """A relative compute cost, to schedule the longest runs first (CIFAR's is measured; others count as 1)."""
    if experiment_name == "cifar":
        from .profiles import cifar

        return cifar.relative_cost(config)
    return 1.0


def runs(experiment_name: str, configs, store=None, progress: bool = True, jobs: int = 1):
    """Records of many runs of one experiment through the store (``uinfo.engine.runs.stored_runs``)."""
    from .engine.runs import stored_runs

    e = experiment(experiment_name)
    return stored_runs(e.name, e.function(), configs, store, progress, jobs)


def stored_run(experiment_name: str, config, store_root, progress: bool = False):
    """One run through the store: (records, computed)."""
    from .engine.runs import stored_run as one

    e = experiment(experiment_name)
    return one(e.name, e.function(), config, store_root, progress)
