"""Execute the figure notebooks headlessly with papermill and collect their claims into CLAIMS.md."""
from __future__ import annotations

import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .notebook import PROFILES
from .paths import REPO_ROOT, default_figures, default_store

NOTEBOOK_DIR = REPO_ROOT / "notebooks"
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")


def available() -> list[str]:
    return sorted(p.stem for p in NOTEBOOK_DIR.glob("*.ipynb"))


def select(only: list[str] | None) -> list[str]:
    names = available()
    if not only:
        return names
    unknown = [n for n in only if n not in names]
    if unknown:
        raise SystemExit(f"error: unknown notebook(s) {unknown}; available: {names}")
    return list(only)


def prepare(names: list[str], profile: str, out_dir: Path, extra: dict | None = None) -> list[Path]:
    """Write parameterized, unexecuted copies (what nbval executes in the tests)."""
    import papermill as pm

    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in names:
        out = out_dir / f"{name}.ipynb"
        source = NOTEBOOK_DIR / f"{name}.ipynb"
        pm.execute_notebook(str(source), str(out), parameters={"profile": profile, **_accepted(source, extra)},
                            prepare_only=True, progress_bar=False)
        paths.append(out)
    return paths


def declared_parameters(path: Path) -> set[str]:
    """The names a notebook's parameters cell defines."""
    import papermill as pm

    return set(pm.inspect_notebook(str(path)))


RUNNER_OPTIONS = {"store_dir", "figures_dir"}  # what run_all passes to every notebook


def _accepted(path: Path, extra: dict | None) -> dict:
    """``extra`` without the runner's own options that this notebook does not take (one that keeps nothing in
    the store declares no ``store_dir``); any other name is passed on, so a misspelt parameter still stops the
    notebook."""
    declared = declared_parameters(path)
    return {k: v for k, v in (extra or {}).items() if k in declared or k not in RUNNER_OPTIONS}


def restore_bundle(profile: str, store_root: Path) -> dict:
    """Copy the shipped results of this profile (``bundle/<profile>``) into the store where they are missing, so
    the notebooks re-plot them instead of training; says how many."""
    from .report import bundle

    counts = bundle.restore(profile, store_root)
    if any(counts.values()):
        print(bundle.describe(counts, profile), flush=True)
    return counts


def prefetch(names: list[str], profile: str, store_dir: Path | None = None, workers: int | None = None) -> int:
    """Compute the missing stored runs of the selected notebooks (any family, through ``uinfo.registry``) in one
    pool of ``workers`` processes for all of them (default: one per core; one process on a GPU), longest first by
    the plan's estimated seconds (``uinfo.plan.estimate``; without its unit costs, by ``registry.cost`` within
    each experiment), before any notebook starts. Notebook by notebook, or experiment by experiment, a core idles
    whenever the last run trains alone; in one pool the cores stay busy until the last few runs (the Goldfeld
    family: the last SZT run used to train alone for about 150 s). The notebooks then read every run from the
    store. Returns the number of runs computed; a failure is reported and left to the notebook that needs the run
    (it computes it again and stops there)."""
    import torch

    from . import registry
    from .store import Store, config_key

    store = Store(store_dir or default_store())
    wanted: dict[tuple, tuple] = {}  # (experiment, key) -> (experiment, config)
    for name in names:
        entry = registry.NOTEBOOKS.get(name)
        if entry is None or entry.experiment is None:  # stores nothing (or not a registered notebook)
            continue
        try:
            configs = entry.configs(profile)
        except (ValueError, OSError, RuntimeError) as err:  # e.g. no data: the notebook says so (with the fix)
            print(f"[prefetch] {name} skipped: {err}", file=sys.stderr, flush=True)
            continue
        for config in configs:
            wanted.setdefault((entry.experiment, config_key(entry.experiment, config)), (entry.experiment, config))
    missing = [(e, c) for e, c in wanted.values() if store.load(e, c) is None]
    if not missing:
        return 0
    if workers is None:
        workers = 1 if torch.cuda.is_available() else (os.cpu_count() or 1)
    missing.sort(key=_longest_first(missing), reverse=True)
    counts = ", ".join(f"{sum(e == x for e, _ in missing)} {x}" for x in dict.fromkeys(e for e, _ in missing))
    print(f"[prefetch] {len(missing)} runs of the selected notebooks are not in the store ({counts}): computing "
          f"them with {workers} worker(s), longest first ...", flush=True)
    t0 = time.perf_counter()
    computed = _compute(missing, store, workers)
    print(f"[prefetch] {computed} runs in {time.perf_counter() - t0:.0f} s", flush=True)
    return computed


def _longest_first(tasks: list[tuple]):
    """A sort key of (experiment, config): the plan's estimated seconds where its unit costs cover every task's
    experiment, else (experiment order kept) ``registry.cost``."""
    from . import plan, registry

    try:
        costs = plan.load_costs()
        seconds = {id(c): plan.estimate(c, costs) for _, c in tasks}
    except (FileNotFoundError, ValueError, KeyError):
        seconds = {}
    if seconds and all(v == v for v in seconds.values()):  # no NaN: every experiment calibrated
        return lambda task: seconds[id(task[1])]
    order = {e: -i for i, e in enumerate(dict.fromkeys(e for e, _ in tasks))}
    return lambda task: (order[task[0]], registry.cost(*task))


def _compute(tasks: list[tuple], store, workers: int) -> int:
    """Run ``tasks`` ((experiment, config), in order) through the store in ``workers`` spawned processes of one
    thread each (as ``uinfo.engine.runs.stored_runs`` does for one experiment); returns how many finished."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    from tqdm.auto import tqdm

    from . import registry
    from .engine.runs import _worker_init, stored_run

    done = 0
    with tqdm(total=len(tasks), desc="prefetch runs") as bar:
        def finished(experiment, config, outcome):
            nonlocal done
            if isinstance(outcome, Exception):  # the notebook that needs the run computes it again, visibly
                print(f"[prefetch] a {experiment} run stopped: {type(outcome).__name__}: {outcome}",
                      file=sys.stderr, flush=True)
            else:
                done += 1
            bar.update(1)

        if workers == 1 or len(tasks) == 1:
            for experiment, config in tasks:
                try:
                    outcome = stored_run(experiment, registry.experiment(experiment).function(), config, store.root)
                except Exception as err:  # noqa: BLE001 - reported, left to the notebook
                    outcome = err
                finished(experiment, config, outcome)
            return done
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(min(workers, len(tasks)), mp_context=context, initializer=_worker_init) as pool:
            futures = {pool.submit(stored_run, e, registry.experiment(e).function(), c, store.root): (e, c)
                       for e, c in tasks}
            for future in as_completed(futures):
                finished(*futures[future], future.exception() or future.result())
    return done


def stamp_provenance(path: Path, name: str, profile: str) -> None:
    """Record in an executed notebook's metadata (``uinfo``) the profile and the code version of each experiment
    behind its results, so a reader of ``executed/`` can tell which code computed what it shows."""
    import nbformat

    from . import registry

    nb = nbformat.read(str(path), as_version=4)
    nb.metadata["uinfo"] = {"profile": profile, "code_versions": registry.code_versions(name)}
    nbformat.write(nb, str(path))


def run(names: list[str], profile: str, extra: dict | None = None, notebook_dir: Path = NOTEBOOK_DIR,
        out_dir: Path | None = None, figures_dir: Path | None = None, jobs: int = 1, bundle: bool = True) -> int:
    """Execute each notebook (``jobs`` at a time, each given an equal share of the CPU cores through its ``jobs``
    parameter where it has one); print a line per notebook; return the number that failed (naming each)."""
    if profile not in PROFILES:
        raise SystemExit(f"error: profile must be one of {PROFILES}, got {profile!r}")
    if not (isinstance(jobs, int) and jobs >= 1):
        raise SystemExit(f"error: --jobs must be a positive integer, got {jobs!r}")
    out_dir = out_dir or REPO_ROOT / "executed" / profile
    figures_dir = figures_dir or default_figures(profile)
    out_dir.mkdir(parents=True, exist_ok=True)
    cores = max(1, (os.cpu_count() or 1) // jobs)
    failed, timings = [], {}
    store_dir = (extra or {}).get("store_dir")
    if bundle:
        restore_bundle(profile, Path(store_dir) if store_dir else default_store())
    # a notebook given a parameter it does not declare stops at its parameter check: compute nothing for it first
    valid = [n for n in names
             if not set(extra or {}) - declared_parameters(notebook_dir / f"{n}.ipynb") - RUNNER_OPTIONS]
    prefetch(valid, profile, Path(store_dir) if store_dir else None)

    def one(i: int, name: str) -> None:
        import papermill as pm

        print(f"[{i}/{len(names)}] {name} ({profile}) ...", flush=True)
        source = notebook_dir / f"{name}.ipynb"
        parameters = {"profile": profile, **_accepted(source, extra)}
        if "jobs" in declared_parameters(source):
            parameters.setdefault("jobs", cores)
        t0 = time.perf_counter()
        try:
            pm.execute_notebook(str(source), str(out_dir / f"{name}.ipynb"), parameters=parameters,
                                cwd=str(notebook_dir), kernel_name="python3", progress_bar=False)
            stamp_provenance(out_dir / f"{name}.ipynb", name, profile)
            status = "ok"
        except Exception as err:  # papermill raises PapermillExecutionError; anything else is a failure too
            failed.append(name)
            first = str(err).strip().splitlines()
            status = "FAILED: " + (first[-1] if first else type(err).__name__)
        timings[name] = time.perf_counter() - t0
        print(f"[{i}/{len(names)}] {name}: {status} in {timings[name]:.0f} s", flush=True)

    # Each kernel's own threads get its share of the cores too: a notebook that computes in-process (jobs=1)
    # would otherwise run torch at one thread per core, and two such kernels side by side oversubscribe the CPU
    # (spinning threads, several times slower). The kernels inherit this process's environment.
    pinned = {k: os.environ.get(k) for k in THREAD_VARIABLES}
    if jobs > 1:
        for k in THREAD_VARIABLES:
            os.environ.setdefault(k, str(cores))
    try:
        with ThreadPoolExecutor(jobs) as pool:  # each notebook runs in its own kernel process
            list(pool.map(one, range(1, len(names) + 1), names))
    finally:
        for k, v in pinned.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    # the README's results table is the quick profile's, from the default figures folder
    write_claims(figures_dir, REPO_ROOT / "README.md" if figures_dir == default_figures("quick") and profile == "quick"
                 else None)
    failed.sort(key=names.index)
    if failed:
        print(f"{len(failed)} notebook(s) failed: {', '.join(failed)} (see {out_dir})", file=sys.stderr)
    else:
        print(f"all {len(names)} notebook(s) ran; figures in {figures_dir}")
    return len(failed)


def write_claims(figures_dir: Path, readme: Path | None = None) -> Path | None:
    """Collect ``claims/*.json`` under ``figures_dir`` into ``CLAIMS.md``: a summary per paper and outcome, then
    one row per claim. With ``readme``, its results table (between the claims markers) is rewritten from the
    same rows."""
    from .report import table

    files = sorted((figures_dir / "claims").glob("*.json"))
    if not files:
        return None
    pairs, stale = table.read_all(files)
    out = figures_dir / "CLAIMS.md"
    out.write_text(table.claims_markdown(pairs, stale))
    if stale:
        print(f"CLAIMS.md leaves out {len(stale)} notebook(s) whose claims file is old or unreadable: "
              f"{', '.join(stale)} (re-run them)", file=sys.stderr)
    if readme is not None and not stale:
        table.update_readme(readme, pairs)
    return out
