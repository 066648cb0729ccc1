"""A costed plan of a profile's runs, before anything is submitted:

    python -m uinfo plan cifar_lr_batch szt_tanh --profile paper     (or ./run_all.sh --plan ...)
    python -m uinfo plan --profile quick --check                      estimates against the bundle's timings
    python -m uinfo plan --calibrate                                  refit the unit costs from bundle/quick

Each run's cost is a sum of work units times a unit cost: images x epochs x the net's relative cost for CIFAR
training, forward passes and decoder fits for measuring, steps and SP draws x mixture centres for the Goldfeld nets
(``work``). The unit costs (seconds per unit, one per term) are fitted by non-negative least squares to the
``seconds`` that the runs of ``bundle/quick`` took, and kept with the machine they came from in
``uinfo/unit_costs.json``. An estimate far outside the calibrated range (the ``paper`` profile: 10-100x larger
nets, replicas, data) is an extrapolation: it assumes cost grows linearly in each unit, which holds for images
and draws, and errs low where larger nets use the CPU better (the plan says which runs it extrapolates).
Orchestration only: nothing here is in a run's code version.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from . import registry
from .paths import REPO_ROOT, default_store

COSTS_FILE = Path(__file__).with_name("unit_costs.json")
SZT_INPUTS = 4096
SZT_TRAIN = 3277  # the authors' 80% training split of the 4096 patterns


def _cifar_work(c) -> dict:
    from .profiles.cifar import MODEL_COST

    net = MODEL_COST[c.model] * c.width ** 2
    images = (c.epochs + c.pretrain_epochs) * (c.n_train or 50000)
    probe = len(c.measure_epochs) * ((c.n_test or 10000) + (c.n_train_eval if c.train_fitted else 0))
    return {"train": images * net * (3.0 if c.precision == "float32" else 1.0), "probe": probe * net,
            "fits": len(c.measure_epochs)}


# the recurrent nets read the input as a sequence: a step is several cell updates, and a GRU cell has 3 gates
# (benchmarks/bench_plan.py measured the GRU at 2.1x the RNN)
CELL_COST = {"mlp": 1.0, "rnn": 3.0, "gru": 9.0}


def _checkerboard_work(c) -> dict:
    """Steps, costed per layer (per-step overhead: these nets are small, so a step's time is its kernels, a few per
    layer, not its arithmetic): an MLP's linear layers, or a recurrent net's cell (one fused operator over the
    sequence, its own unit); epochs (per-epoch overhead: the seeded permutation of the training set and the
    schedule's step; what the long runs on few samples and full-batch training spend beside their steps);
    multiply-adds of the samples seen (what grows with width); and the probe's activations x decoder fits."""
    n_train = c.n_samples * c.train_fraction
    epochs = c.epochs + c.pretrain_epochs + c.warmup_epochs
    steps = ((c.epochs + c.pretrain_epochs) * math.ceil(n_train / c.batch_size)
             + c.warmup_epochs * math.ceil(n_train / (c.warmup_batch_size or c.batch_size)))
    widths = (4, *c.hidden, 2)
    cell = CELL_COST[c.architecture]
    macs = sum(a * b for a, b in zip(widths[:-1], widths[1:])) * cell
    recurrent = c.architecture != "mlp"
    return {"layer_steps": 0.0 if recurrent else steps * (len(c.hidden) + 1),
            "cell_steps": steps * cell if recurrent else 0.0, "epochs": epochs, "macs": epochs * n_train * macs,
            "probe": c.n_checkpoints * (len(c.hidden) + 1) * c.n_analysis * (1 + sum(c.hidden) / 64)}


def _sp_draws(draws: int, replicas: int, own: int | None) -> float:
    """Distances an SP estimate computes per layer: each draw against the pool (and its own fresh replicas)."""
    return draws * (replicas * SZT_INPUTS + (own or 0))


def _szt_work(c) -> dict:
    from .engine.training import log_epochs

    checkpoints = len(log_epochs(c.epochs, c.n_checkpoints))
    noisy = c.beta > 0
    sp = _sp_draws(c.max_draws or c.n_mc_pooled * c.replicas * SZT_INPUTS, c.replicas, c.own_replicas) if noisy else 0
    members, layers = len(c.seeds), len(c.hidden)
    return {"steps": c.epochs * math.ceil(SZT_TRAIN / c.batch_size) * (1 + 0.2 * members),
            "sp": checkpoints * members * layers * sp, "probe": checkpoints * members * layers}


def _replica_work(c) -> dict:
    szt = _szt_work(c.szt.replace(seeds=c.szt.seeds[:1], replicas=1, own_replicas=None, max_draws=64))
    layers = len(c.szt.hidden)
    sp = sum(_sp_draws(c.draws, r, None) for r in c.plain) + sum(_sp_draws(c.draws, r, c.own_replicas)
                                                                  for r in c.pools)
    # the common draws: every pool in every batch, the reference (the largest plain count) in the first few
    paired = c.batches * sum(_sp_draws(c.batch_draws, r, c.own_replicas) for r in c.pools) \
        + c.reference_batches * _sp_draws(c.batch_draws, max(c.plain), c.own_replicas)
    return {"steps": szt["steps"], "sp": len(c.epochs) * (layers * sp + len(c.paired_layers) * paired),
            "probe": szt["probe"]}


def _neuron_work(c) -> dict:
    return {"steps": c.epochs, "sp": c.n_checkpoints * c.n_mc * len(c.inputs)}


def _mnist_work(c) -> dict:
    return {"train": c.epochs * c.n_train, "probe": len(c.matrix_epochs) * c.n_val}


WORK = {"cifar": _cifar_work, "checkerboard": _checkerboard_work, "szt": _szt_work, "szt_replicas": _replica_work,
        "single_neuron": _neuron_work, "mnist_cnn": _mnist_work}


def work(config) -> dict:
    """The run's work units, by term (see the module docstring)."""
    return WORK[registry.experiment_of(config).name](config)


def uses_gpu(config) -> bool:
    """Runs that use a GPU where one is given (the CIFAR nets); the rest are CPU runs."""
    return registry.experiment_of(config).name == "cifar"


# ---------------------------------------------------------------------------------------------------------------
# calibration: unit costs from the timings of bundle/<profile>

# experiments whose records split their time: each term of ``work`` is fitted to the seconds it is spent in (the
# CIFAR runs' cumulative training and measuring seconds), so that terms that grow together at `quick` (training and
# probing both scale with the net) are told apart by what was measured, not by the least-squares fit alone
SPLIT = {"cifar": {"train": "total_train_seconds", "probe": "total_measure_seconds", "fits": "total_measure_seconds"}}
SPLIT_COLUMNS = sorted({column for terms in SPLIT.values() for column in terms.values()})


def bundle_timings(profile: str = "quick", bundle_root: Path | None = None) -> pd.DataFrame:
    """experiment, key, config (rebuilt), seconds: the runs of ``bundle/<profile>`` at the current code versions; for
    the experiments of ``SPLIT``, also the seconds their records split the run's time into."""
    import tarfile

    from .report.bundle import current_version

    root = Path(bundle_root or REPO_ROOT / "bundle") / profile
    if not (root / "index.csv").exists():
        raise FileNotFoundError(f"no results bundle at {root} (its index.csv): the timings come from a profile's "
                                "shipped runs; this repository ships bundle/quick (--profile quick)")
    index = pd.read_csv(root / "index.csv")
    rows = []
    for r in index.itertuples():
        if r.experiment not in WORK or r.code_version != current_version(r.experiment):
            continue
        with tarfile.open(root / r.archive) as tar:
            meta = json.load(tar.extractfile("meta.json"))
            split = set(SPLIT.get(r.experiment, {}).values())
            first = pd.read_csv(tar.extractfile("records.csv"), nrows=1) if split else pd.DataFrame()
        rows.append(dict(experiment=r.experiment, key=r.key, seconds=float(meta["seconds"]),
                         config=registry.config_from_fields(r.experiment, meta["config"]),
                         **{c: float(first[c].iloc[0]) for c in split if c in first.columns}))
    if not rows:
        raise ValueError(f"{root} holds no run of the current code versions, so it has no timings to read: compute "
                         "the runs (./run_all.sh) and export them (python -m uinfo results export), or check out the "
                         "commit the bundle was made with")
    return pd.DataFrame(rows, columns=["experiment", "key", "seconds", "config", *SPLIT_COLUMNS])


def setting(config) -> str:
    """A config without its seed(s): the runs that differ only in seed share a setting."""
    from .store import config_dict

    fields = {k: v for k, v in config_dict(config).items() if k not in ("seed", "seeds")}
    return json.dumps(fields, sort_keys=True, default=str)


def by_setting(timings: pd.DataFrame) -> pd.DataFrame:
    """One row per (experiment, setting): the median seconds over its seeds (a run that shared its core with
    other work reads several times its seeds' time: the median keeps the setting's cost), and one config."""
    t = timings.assign(setting=[setting(c) for c in timings.config])
    split = {c: (c, "median") for c in t.columns if c in SPLIT_COLUMNS}
    return (t.groupby(["experiment", "setting"], sort=False)
            .agg(seconds=("seconds", "median"), runs=("seconds", "size"), config=("config", "first"), **split)
            .reset_index())


def calibrate(timings: pd.DataFrame) -> dict:
    """Seconds per unit of each term, per experiment: non-negative least squares on relative errors (a short run
    counts as much as a long one) over the settings' median times (``by_setting``)."""
    from scipy.optimize import nnls

    def fit(units: pd.DataFrame, seconds: np.ndarray) -> dict:
        coef, _ = nnls(units.to_numpy() / seconds[:, None], np.ones(len(seconds)))
        return dict(zip(units.columns, map(float, coef)))

    costs = {}
    for experiment, group in by_setting(timings).groupby("experiment"):
        units = pd.DataFrame([work(c) for c in group.config]).fillna(0.0)
        split = SPLIT.get(experiment, {})
        columns = list(dict.fromkeys(split.values()))
        if split and all(c in group.columns and group[c].notna().all() for c in columns):
            # each term against the seconds it is spent in; what neither part measures (data loading, set-up) is
            # spread over the terms in proportion, so that the estimate still adds up to the run's seconds
            coef = {}
            for column in columns:
                terms = [t for t, c in split.items() if c == column and t in units.columns]
                coef.update(fit(units[terms], group[column].to_numpy()))
            parts = group[columns].sum(axis=1).to_numpy()
            scale = float(np.median(group.seconds.to_numpy() / parts))
            coef = {t: v * scale for t, v in coef.items()}
        else:
            coef = fit(units, group.seconds.to_numpy())
        costs[experiment] = dict(coef, settings=len(group), runs=int(group.runs.sum()))
    return costs


def load_costs() -> dict:
    if not COSTS_FILE.exists():
        raise FileNotFoundError(f"{COSTS_FILE} is missing: run python -m uinfo plan --calibrate (it reads the run "
                                "timings of bundle/quick)")
    return json.loads(COSTS_FILE.read_text())


def estimate(config, costs: dict | None = None) -> float:
    """Estimated seconds of one run on the calibration machine (one thread, two runs side by side)."""
    table = (costs or load_costs())["unit_costs"].get(registry.experiment_of(config).name)
    if table is None:  # no run of it was in the calibration bundle
        return float("nan")
    return float(sum(table.get(term, 0.0) * units for term, units in work(config).items()))


def check(profile: str = "quick", costs: dict | None = None, timings: pd.DataFrame | None = None) -> pd.DataFrame:
    """Estimated against measured seconds for every setting of the profile's bundled runs (median over its seeds,
    ``by_setting``): ratio per setting."""
    timings = bundle_timings(profile) if timings is None else timings
    costs = costs or load_costs()
    out = by_setting(timings)
    out["estimate"] = [estimate(c, costs) for c in out.config]
    out["ratio"] = out.estimate / out.seconds
    return out.drop(columns=["config"])


# ---------------------------------------------------------------------------------------------------------------
# the plan

def plan(names: list[str], profile: str, store_dir=None, seeds=None) -> pd.DataFrame:
    """One row per notebook and run: notebook, experiment, key, whether the store holds it, estimated core-hours
    (1 thread) and whether it would run on a GPU where there is one. A run two notebooks share has two rows (the
    report counts it once)."""
    from .store import Store, config_key
    from .sweep import describe

    costs = load_costs()
    store = Store(store_dir or default_store())
    calibrated = costs.get("largest_units", {})
    from .tasks.images import DataError

    rows = []
    for name in names:
        note = ""
        try:
            configs = registry.notebook(name).configs(profile, seeds)
        except DataError:  # paper CIFAR without the full training set here: planned for it all the same
            configs, note = _full_set_configs(name, profile, seeds), "full training set not here"
        for config in configs:
            e = registry.experiment_of(config).name
            key = config_key(e, config)
            units = work(config)
            rows.append(dict(notebook=name, experiment=e, key=key, stored=store.load(e, config) is not None,
                             core_hours=estimate(config, costs) / 3600, gpu=uses_gpu(config),
                             extrapolated=any(units[t] > 1.5 * calibrated.get(e, {}).get(t, 0.0) for t in units),
                             run=describe(config), note=note))
    return pd.DataFrame(rows)


def _full_set_configs(name: str, profile: str, seeds) -> list:
    """A notebook's configs where the data here is a subset of what the profile asks: built on the subset on
    purpose, then set to the full training set's count (50000 CIFAR images), so the plan costs what the profile
    would compute. (The run itself stops until the full set is there.)"""
    import dataclasses
    import os

    from .tasks.images import SUBSET_ENV

    import contextlib
    import io
    import warnings

    before = os.environ.get(SUBSET_ENV)
    os.environ[SUBSET_ENV] = "1"
    try:  # quietly: the subset notice is for runs, and these configs are only costed
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()), \
                warnings.catch_warnings():
            warnings.simplefilter("ignore")
            configs = registry.notebook(name).configs(profile, seeds)
    finally:
        if before is None:
            os.environ.pop(SUBSET_ENV)
        else:
            os.environ[SUBSET_ENV] = before
    return [dataclasses.replace(c, n_train=50000) if hasattr(c, "n_train") and hasattr(c, "dataset") else c
            for c in configs]


def report(table: pd.DataFrame, profile: str, top: int = 8) -> str:
    costs = load_costs()
    by = table[~table.stored].groupby("notebook").core_hours.agg(["size", "sum"])
    table = table.drop_duplicates(["experiment", "key"])
    todo = table[~table.stored]
    lines = [f"{len(table)} runs at {profile}: {int(table.stored.sum())} in the store, {len(todo)} to compute",
             f"estimated {todo.core_hours.sum():.1f} core-hours to compute (CPU, 1 thread per run; calibrated on "
             f"{costs['machine']})"]
    gpu = todo[todo.gpu]
    if len(gpu):
        lines.append(f"  of which {gpu.core_hours.sum():.1f} core-hours are CIFAR runs, which use a GPU where there is "
                     f"one: GPU-hours not measured here (no GPU was lent to calibrate on); BENCHMARKS.md has the "
                     f"bf16 CPU throughput")
    unknown = sorted(set(todo[todo.core_hours.isna()].experiment))
    if unknown:
        lines.append(f"  no unit costs for {unknown}: their runs were not in the calibration bundle (refit with "
                     "python -m uinfo plan --calibrate); left out of the total")
    if todo.extrapolated.any():
        lines.append(f"  {int(todo.extrapolated.sum())} runs are larger than any calibration run in some unit "
                     f"(extrapolated linearly)")
    lines += [f"  {n}: {int(r['size'])} runs, {r['sum']:.2f} core-hours" for n, r in by.iterrows()]
    if by["size"].sum() > len(todo):
        lines.append(f"  (runs that notebooks share count once in the total: {int(by['size'].sum()) - len(todo)} "
                     "shared)")
    missing = sorted(set(table[table.note != ""].notebook))
    if missing:
        lines.append(f"  {missing}: planned for the full training sets, which are not here (their runs stop until "
                     "they are: README \"Data files\")")
    lines.append("largest runs:")
    for r in todo.sort_values("core_hours", ascending=False).head(top).itertuples():
        lines.append(f"  {r.core_hours:8.2f} h  {r.experiment} {r.key}  {r.run}")
    return "\n".join(lines)


def write_costs(profile: str = "quick", machine: str | None = None) -> dict:
    """Refit the unit costs from ``bundle/<profile>`` and write them, with the machine, to ``COSTS_FILE``."""
    import platform

    timings = bundle_timings(profile)
    costs = calibrate(timings)
    largest = {e: pd.DataFrame([work(c) for c in g.config]).max().to_dict() for e, g in timings.groupby("experiment")}
    table = dict(machine=machine or f"{platform.processor() or platform.machine()}, {cpu_name()}, bundle/{profile} "
                                    "timings (1 thread per run, 2 runs side by side)",
                 unit_costs=costs, largest_units=largest)
    COSTS_FILE.write_text(json.dumps(table, indent=1) + "\n")
    return table


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"
