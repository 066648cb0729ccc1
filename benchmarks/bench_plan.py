"""The plan's estimates against clean timings: one seed of each distinct checkerboard setting of the `quick`
profile, recomputed on this machine as `quick` computes them (two 1-thread worker processes side by side, nothing
else running), each run's wall time against ``uinfo.plan.estimate``. The bundle's own timings were recorded across
sessions and machines, some beside other work; these are not. Bar (issue 18): within a factor of 1.5.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_plan.py [--limit N]
"""
import argparse
import os
import platform
import tempfile
from pathlib import Path

import pandas as pd

from uinfo import plan, registry
from uinfo.engine.runs import stored_runs
from uinfo.store import Store
from uinfo.sweep import describe


def settings(experiment: str = "checkerboard") -> list:
    """One config (the first seed) per distinct setting of the experiment's quick runs, cheapest first."""
    seen, out = set(), []
    for name in registry.notebooks_of(experiment):
        for config in registry.notebook(name).configs("quick"):
            key = plan.setting(config)
            if key not in seen:
                seen.add(key)
                out.append(config)
    return sorted(out, key=plan.estimate)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--limit", type=int, default=None, help="the N cheapest settings only")
    args = ap.parse_args()
    print(f"machine: {plan.cpu_name()}, {os.cpu_count()} cores, python {platform.python_version()}")
    configs = settings()[:args.limit]
    e = registry.experiment("checkerboard")
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp))
        stored_runs(e.name, e.function(), configs, store, progress=False, jobs=2)
        rows = []
        for config in configs:
            meta = store.path(e.name, config) / "meta.json"
            seconds = float(pd.read_json(meta, typ="series")["seconds"])
            rows.append(dict(run=describe(config)[:90], measured=seconds, estimate=plan.estimate(config)))
    table = pd.DataFrame(rows).assign(ratio=lambda t: t.estimate / t.measured)
    print(table.round(2).to_string())
    within = ((table.ratio <= 1.5) & (table.ratio >= 1 / 1.5)).mean()
    print(f"{len(table)} settings: estimate / measured median {table.ratio.median():.2f}, range "
          f"{table.ratio.min():.2f}-{table.ratio.max():.2f}; {within:.0%} within a factor of 1.5")
