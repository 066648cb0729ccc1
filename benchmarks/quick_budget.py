"""The `quick` run_all's time from its runs' recorded seconds (issue 16's 3.5 h bar): per notebook in run_all's
order, the runs it is the first to need, their worker-seconds as recorded in bundle/quick (each run's own wall time
on one thread), and the wall time of two 1-thread workers if they were kept busy (worker-seconds / 2, a lower
bound: the last runs of a pool may leave one worker idle). The runs' seconds are real timings, but recorded over
several sessions, not in one piece; a run computed beside other work records more than it needs.

    PYTHONPATH=. .venv/bin/python benchmarks/quick_budget.py [--workers 2]
"""
import argparse

import pandas as pd

from uinfo import plan, registry
from uinfo.store import config_key


def budget(profile: str = "quick", workers: int = 2) -> pd.DataFrame:
    timings = plan.bundle_timings(profile)
    seconds = {(e, k): s for e, k, s in timings[["experiment", "key", "seconds"]].itertuples(index=False)}
    seen, rows = set(), []
    for name, notebook in registry.NOTEBOOKS.items():  # run_all's order
        if notebook.experiment is None:
            rows.append(dict(notebook=name, runs=0, missing=0, worker_seconds=0.0))
            continue
        keys = [(notebook.experiment, config_key(notebook.experiment, c)) for c in notebook.configs(profile)]
        new = [k for k in dict.fromkeys(keys) if k not in seen]
        seen.update(new)
        rows.append(dict(notebook=name, runs=len(new), missing=sum(k not in seconds for k in new),
                         worker_seconds=sum(seconds.get(k, 0.0) for k in new)))
    table = pd.DataFrame(rows)
    table["wall_minutes"] = table["worker_seconds"] / workers / 60
    return table


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--profile", default="quick")
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    table = budget(args.profile, args.workers)
    print(f"machine of the timings: {plan.load_costs().get('machine', '?')}")
    print(table.round(1).to_string(index=False))
    total = table["worker_seconds"].sum()
    print(f"total: {table['runs'].sum()} runs ({table['missing'].sum()} without a timing), {total:.0f} worker-seconds "
          f"= {total / args.workers / 3600:.2f} h on {args.workers} workers kept busy, before the notebooks' own "
          "execution (read from the store: about 20 s each)")
