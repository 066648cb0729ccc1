"""Many runs of one experiment through the store: each read when it is there, computed (then stored) when not,
in worker processes when asked; an interrupted sweep resumes at the first missing run."""
from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Callable

import pandas as pd
import torch
from tqdm.auto import tqdm

from ..store import Store


def stored_run(experiment: str, compute: Callable, config, store_root, progress: bool = False) -> tuple:
    """One run through the store: read if finished, else ``compute(config, progress, state_path)`` with its resume
    state kept in the store (``state_path`` None without a store). Returns (records, computed)."""
    if store_root is None:
        result = compute(config, progress, None)
        return (result[0] if isinstance(result, tuple) else result), True
    store = Store(store_root)
    return store.get_or_compute(experiment, config, lambda: compute(
        config, progress, store.partial_path(experiment, config)))


def _worker_init() -> None:
    torch.set_num_threads(1)  # one core per run: these small nets are bound by per-step overhead


def stored_runs(experiment: str, compute: Callable, configs, store: Store | None = None, progress: bool = True,
                jobs: int = 1) -> pd.DataFrame:
    """Records of many runs (in the order of ``configs``); with ``jobs`` > 1 the missing runs are computed in that
    many spawned worker processes, one thread each. ``compute`` must be a module-level function (picklable).
    ``.attrs["computed_runs"]`` says how many were computed."""
    configs = list(configs)
    if not (isinstance(jobs, int) and jobs >= 1):
        raise ValueError(f"jobs must be a positive integer, got {jobs!r}")
    root = None if store is None else store.root
    results: dict[int, tuple] = {}
    if store is not None:
        for i, config in enumerate(configs):
            found = store.load(experiment, config)
            if found is not None:
                results[i] = (found, False)
    missing = [i for i in range(len(configs)) if i not in results]
    bar = tqdm(total=len(configs), initial=len(results), desc=f"{experiment} runs", disable=not progress)
    with bar:
        if jobs == 1 or len(missing) <= 1:
            for i in missing:
                results[i] = stored_run(experiment, compute, configs[i], root, progress)
                bar.update(1)
        else:
            context = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(min(jobs, len(missing)), mp_context=context, initializer=_worker_init) as pool:
                futures = {pool.submit(stored_run, experiment, compute, configs[i], root): i for i in missing}
                for future in as_completed(futures):
                    results[futures[future]] = future.result()
                    bar.update(1)
    out = pd.concat([results[i][0] for i in range(len(configs))], ignore_index=True)
    out.attrs["computed_runs"] = sum(results[i][1] for i in range(len(configs)))
    return out
