"""Helpers for the figure notebooks: check papermill parameters, resolve folders, record claims."""
from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

from .paths import default_figures, default_store

PROFILES = ("smoke", "quick", "paper")


def snapshot(namespace: dict) -> set:
    """The public names defined before the parameters cell (call it in the notebook's first code cell)."""
    return {name for name in namespace if not name.startswith("_")}


def check_parameters(namespace: dict, baseline: set, declared) -> SimpleNamespace:
    """Validate the notebook's parameters after papermill has injected its own.

    namespace: the notebook's ``globals()``; baseline: ``snapshot(globals())`` taken before the parameters cell;
    declared: the names the parameters cell defines. A name that papermill injected but the notebook does not
    declare is a typo and stops the notebook here, before any compute.
    """
    new = snapshot(namespace) - baseline
    unknown = sorted(new - set(declared))
    if unknown:
        raise ValueError(f"unknown notebook parameter(s) {unknown}; this notebook takes {sorted(declared)}")
    missing = sorted(set(declared) - set(namespace))
    if missing:
        raise ValueError(f"the parameters cell does not define {missing}")
    values = {name: namespace[name] for name in declared}
    problems = []
    if values.get("profile") not in PROFILES:
        problems.append(f"profile must be one of {PROFILES}, got {values.get('profile')!r}")
    seeds = values.get("seeds")
    if seeds is not None:
        count = isinstance(seeds, int) and not isinstance(seeds, bool)
        if count and seeds >= 1:
            values["seeds"] = list(range(seeds))
        elif count or not (isinstance(seeds, (list, tuple)) and seeds and all(
                isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in seeds)):
            problems.append("seeds must be a positive count (seeds=3 means seeds 0, 1, 2) or a non-empty list of "
                            f"non-negative integers (seeds=[0, 4]), got {seeds!r}")
    if "jobs" in values:
        if values["jobs"] is None:
            values["jobs"] = os.cpu_count() or 1
        elif not (isinstance(values["jobs"], int) and not isinstance(values["jobs"], bool) and values["jobs"] >= 1):
            problems.append(f"jobs must be None (one per core) or a positive integer, got {values['jobs']!r}")
    if problems:
        raise ValueError("invalid notebook parameter(s): " + "; ".join(problems))
    profile = values["profile"]
    values["store_dir"] = Path(values.get("store_dir") or default_store())
    values["figures_dir"] = Path(values.get("figures_dir") or default_figures(profile))
    values["figures_dir"].mkdir(parents=True, exist_ok=True)
    return SimpleNamespace(**values)


def record_claims(notebook: str, profile: str, claims: list[dict], figures_dir) -> Path:
    """Holm-correct this notebook's claim rows (``uinfo.report.stats.verdict``) together, write them to
    ``<figures_dir>/claims/<notebook>.json`` (collected into CLAIMS.md) with the code version of the runs, and
    print one line per claim: estimate, 95% interval, seeds, the prediction against its SESOI, and the outcome."""
    from . import registry
    from .report import stats, table

    rows = stats.holm(claims)
    out = Path(figures_dir) / "claims" / f"{notebook}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    table.write_notebook_claims(out, notebook, profile, rows, registry.code_versions(notebook))
    for row in rows:
        print(table.line(row))
    return out


def run_jobs(jobs):
    """Worker processes for a notebook's missing runs: one on a GPU (one run per GPU), else ``jobs`` (None: one
    per CPU core)."""
    import torch

    return 1 if torch.cuda.is_available() else jobs
