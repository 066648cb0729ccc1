"""Sweeps: the independent training runs of a figure, computed on a cluster (Slurm job arrays through submitit)
or in parallel local processes, into the same results store the notebooks read.

    python -m uinfo sweep checkerboard_lr_batch --profile paper --executor slurm --timeout-min 120 --mem-gb 4
    python -m uinfo sweep checkerboard_dynamics --profile quick --executor local --workers 2
    python -m uinfo sweep cifar_lr_batch --profile quick --executor local --workers 2

Every notebook that stores its runs can be swept (``uinfo.registry``); ``sp_estimator_validation`` computes in
the notebook and has nothing to sweep.

Finished runs are read from the store and never recomputed; a run that failed, timed out or was killed is
reported, and submitting the sweep again computes only what is still missing (an interrupted run continues
from its last checkpoint, kept in the store). A job that reaches its time limit or is preempted is requeued by
submitit (``RunConfigs`` is checkpointable: requeued with the same runs, it reads the finished ones from the store
and continues the interrupted one from its saved state), up to submitit's limit of timeouts (3).

GPU clusters: ``--gpus-per-node 1`` gives each array task (one run) a GPU, which the CIFAR runs use when there is
one; ``--cpus-per-task`` sets the threads of each run.
"""
from __future__ import annotations

import os
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

import submitit

from . import registry
from .paths import default_store
from .store import Store

EXECUTORS = ("local", "slurm")


def sweepable() -> list[str]:
    return sorted(n.name for n in registry.NOTEBOOKS.values() if n.experiment is not None)


def plan(name: str, profile: str, seeds=None) -> list:
    """The configs of a figure's sweep at a profile."""
    if name not in sweepable():
        raise ValueError(f"unknown sweep {name!r} (a notebook that stores its runs); available: {sweepable()}")
    return registry.notebook(name).configs(profile, seeds)  # the config builder rejects an unknown profile


class RunConfigs(submitit.helpers.Checkpointable):
    """The job body, checkpointable: on a time limit or a preemption submitit requeues it with the same arguments
    (``Checkpointable.checkpoint``), and the requeued job continues where the store says the runs stand."""

    def __call__(self, configs: list, store_root: str, threads: int = 1) -> list[dict]:
        return run_configs(configs, store_root, threads)


def run_configs(configs: list, store_root: str, threads: int = 1) -> list[dict]:
    """The job body: compute each config into the store (reading it if already there). One failing run does not
    stop the others; each gets a status line."""
    import torch

    torch.set_num_threads(threads)
    out = []
    for config in configs:
        t0 = time.perf_counter()
        try:
            _, computed = registry.stored_run(registry.experiment_of(config).name, config, store_root)
            status = "computed" if computed else "stored"
        except Exception:  # reported to the submitter, who can resubmit
            status = "failed: " + traceback.format_exc(limit=3).strip().splitlines()[-1]
        out.append(dict(seed=getattr(config, "seed", None), status=status, seconds=round(time.perf_counter() - t0, 1)))
    return out


@dataclass
class SweepReport:
    total: int
    already: int
    computed: int
    failed: list
    jobs: list

    def __str__(self) -> str:
        lines = [f"{self.total} runs: {self.already} already in the store, {self.computed} computed now, "
                 f"{len(self.failed)} failed"]
        lines += [f"  FAILED {f}" for f in self.failed]
        if self.failed:
            lines.append("  submit the same sweep again to retry them (finished runs are not recomputed)")
        return "\n".join(lines)


def sweep(name: str, profile: str = "quick", executor: str = "local", workers: int = 2, store_dir=None,
          seeds=None, timeout_min: int = 60, mem_gb: float = 4.0, cpus_per_task: int = 1,
          partition: str | None = None, folder=None, wait: bool = True, gpus_per_node: int = 0) -> SweepReport:
    """Submit the missing runs of a figure's sweep and (with ``wait``) collect their statuses.

    ``executor="local"``: ``workers`` submitit local jobs, each computing an equal share of the runs on
    ``cpus_per_task`` threads. ``executor="slurm"``: one array task per run (at most ``workers`` at a time) with
    ``timeout_min``, ``mem_gb``, ``cpus_per_task``, ``gpus_per_node`` and ``partition``. All settings are checked
    before anything is submitted."""
    problems = []
    if executor not in EXECUTORS:
        problems.append(f"executor must be one of {EXECUTORS}, got {executor!r}")
    for label, value in (("workers", workers), ("timeout_min", timeout_min), ("cpus_per_task", cpus_per_task)):
        if not (isinstance(value, int) and value >= 1):
            problems.append(f"{label} must be a positive integer, got {value!r}")
    if not (isinstance(mem_gb, (int, float)) and mem_gb > 0):
        problems.append(f"mem_gb must be > 0, got {mem_gb!r}")
    if not (isinstance(gpus_per_node, int) and gpus_per_node >= 0):
        problems.append(f"gpus_per_node must be a non-negative integer, got {gpus_per_node!r}")
    if problems:
        raise ValueError("invalid sweep settings: " + "; ".join(problems))
    return run_sweep(plan(name, profile, seeds), name, executor, workers, store_dir, timeout_min, mem_gb,
                     cpus_per_task, partition, folder, wait, gpus_per_node)


def run_sweep(configs: list, name: str = "sweep", executor: str = "local", workers: int = 2, store_dir=None,
              timeout_min: int = 60, mem_gb: float = 4.0, cpus_per_task: int = 1, partition: str | None = None,
              folder=None, wait: bool = True, gpus_per_node: int = 0, body: RunConfigs | None = None) -> SweepReport:
    """`sweep` for any list of configs (``name`` labels the jobs and their log folder; ``body`` the job body, for
    the tests)."""
    store = Store(store_dir or default_store())
    missing = [c for c in configs if store.load(registry.experiment_of(c).name, c) is None]
    report = SweepReport(total=len(configs), already=len(configs) - len(missing), computed=0, failed=[], jobs=[])
    if not missing:
        return report
    folder = Path(folder or store.root / ".submitit" / name)
    ex = submitit.AutoExecutor(folder=folder, cluster=executor)
    ex.update_parameters(timeout_min=timeout_min, mem_gb=mem_gb, cpus_per_task=cpus_per_task,
                         name=f"uinfo-{name}", **({"gpus_per_node": gpus_per_node} if gpus_per_node else {}))
    if executor == "slurm":
        ex.update_parameters(slurm_array_parallelism=workers, **({"slurm_partition": partition} if partition else {}))
        chunks = [[c] for c in missing]
        jobs = ex.map_array(body or RunConfigs(), chunks, [str(store.root)] * len(chunks),
                            [cpus_per_task] * len(chunks))
    else:
        chunks = [missing[i::workers] for i in range(min(workers, len(missing)))]
        with ex.batch():
            jobs = [ex.submit(body or RunConfigs(), chunk, str(store.root), cpus_per_task) for chunk in chunks]
    report.jobs = [job.job_id for job in jobs]
    if not wait:
        return report
    for job, chunk in zip(jobs, chunks):
        try:
            for config, line in zip(chunk, job.result()):
                if line["status"] == "computed":
                    report.computed += 1
                elif line["status"].startswith("failed"):
                    report.failed.append(f"{describe(config)}: {line['status']}")
        except Exception as err:  # the job itself died: timeout, out of memory, node failure
            message = str(err).strip().splitlines()
            reason = f"job {job.job_id} {message[-1] if message else type(err).__name__}"
            for c in chunk:  # the runs it finished before dying are in the store
                if store.load(registry.experiment_of(c).name, c) is None:
                    report.failed.append(f"{describe(c)}: {reason}")
                else:
                    report.computed += 1
    return report


def describe(config) -> str:
    fields = {k: v for k, v in vars(config).items() if k in ("seed", "seeds", "model", "dataset", "variant", "hidden",
                                                              "architecture", "activation", "lr", "batch_size",
                                                              "pretrain_epochs", "warmup_epochs")}
    return ", ".join(f"{k}={v}" for k, v in fields.items())


def default_workers() -> int:
    return os.cpu_count() or 1
