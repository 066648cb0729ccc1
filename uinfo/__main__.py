"""Command line: ``python -m uinfo run|list|sweep|plan|results|check|prepare`` (what ./run_all.sh and the tests
call)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import runner
from .notebook import PROFILES


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m uinfo", description="Regenerate the figures of uinfo.")
    sub = ap.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="execute notebooks with papermill, write figures and CLAIMS.md")
    r.add_argument("--profile", default="quick", choices=PROFILES)
    r.add_argument("--only", nargs="+", metavar="NAME", help="run only these notebooks")
    r.add_argument("--jobs", type=int, default=1, metavar="N",
                   help="run N notebooks at a time (each gets cores / N worker processes); default 1")
    r.add_argument("--store-dir", type=Path, help="results store (default <repo>/results)")
    r.add_argument("--no-bundle", action="store_true",
                   help="do not restore the shipped runs of bundle/<profile>: compute whatever the store lacks")
    sub.add_parser("list", help="list the notebooks")
    w = sub.add_parser("sweep", help="compute a figure's training runs into the store (local processes or Slurm)")
    w.add_argument("name", help="the figure's notebook name, e.g. checkerboard_lr_batch")
    w.add_argument("--profile", default="quick", choices=PROFILES)
    w.add_argument("--executor", default="local", help="local (processes on this machine) or slurm")
    w.add_argument("--workers", type=int, default=None,
                   help="local: parallel jobs (default: one per core); slurm: array tasks running at once")
    w.add_argument("--timeout-min", type=int, default=60, help="per job (slurm: per run)")
    w.add_argument("--mem-gb", type=float, default=4.0)
    w.add_argument("--cpus-per-task", type=int, default=1, help="threads per run")
    w.add_argument("--gpus-per-node", type=int, default=0, help="GPUs per job (slurm: per run; the CIFAR runs use one)")
    w.add_argument("--partition", default=None, help="Slurm partition")
    w.add_argument("--store-dir", type=Path, help="results store (default <repo>/results)")
    w.add_argument("--no-wait", action="store_true", help="submit and return (the notebooks read the store later)")
    pl = sub.add_parser("plan", help="the runs a profile needs, which are stored, and what the rest would cost")
    pl.add_argument("names", nargs="*", metavar="NAME", help="notebooks (default: every notebook that stores runs)")
    pl.add_argument("--profile", default="paper", choices=PROFILES)
    pl.add_argument("--store-dir", type=Path, help="results store (default <repo>/results)")
    pl.add_argument("--check", action="store_true",
                    help="compare the estimates with the measured timings of bundle/<profile> instead")
    pl.add_argument("--calibrate", action="store_true", help="refit the unit costs from bundle/quick first")
    b = sub.add_parser("results", help="the shipped results bundle (bundle/<profile>): export the store into it")
    b.add_argument("action", choices=["export"])
    b.add_argument("--profile", default="quick", choices=PROFILES)
    b.add_argument("--store-dir", type=Path, help="results store (default <repo>/results)")
    c = sub.add_parser("check", help="re-plot every notebook from the bundle (no training) and compare its claims "
                                     "with the committed ones (what CI runs)")
    c.add_argument("--profile", default="quick", choices=PROFILES)
    c.add_argument("--jobs", type=int, default=2, metavar="N", help="notebooks at a time (default 2)")
    p = sub.add_parser("prepare", help="write parameterized, unexecuted notebooks (for nbval)")
    p.add_argument("--profile", default="smoke", choices=PROFILES)
    p.add_argument("--output", required=True, type=Path)
    p.add_argument("--store-dir", type=Path)
    p.add_argument("--figures-dir", type=Path)
    args = ap.parse_args(argv)
    if args.command == "list":
        print("\n".join(runner.available()))
        return 0
    if args.command == "sweep":
        from . import sweep

        try:
            report = sweep.sweep(args.name, args.profile, args.executor, args.workers or sweep.default_workers(),
                                 args.store_dir, timeout_min=args.timeout_min, mem_gb=args.mem_gb,
                                 cpus_per_task=args.cpus_per_task, partition=args.partition, wait=not args.no_wait,
                                 gpus_per_node=args.gpus_per_node)
        except ValueError as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
        print(report)
        if args.no_wait and report.jobs:
            print("submitted jobs: " + " ".join(report.jobs))
        return 1 if report.failed else 0
    if args.command == "plan":
        return _plan(args)
    if args.command == "results":
        from .paths import default_store
        from .report import bundle

        try:
            index = bundle.export(args.profile, args.store_dir or default_store())
        except ValueError as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
        size = index["bytes"].sum() / 1e6
        versions = index.groupby("experiment")["code_version"].agg(lambda v: "/".join(sorted(set(v))))
        counts = index["experiment"].value_counts()
        print(f"bundle/{args.profile}: {len(index)} runs, {size:.1f} MB ("
              + ", ".join(f"{e} {counts[e]} at code version {versions[e]}" for e in sorted(counts.index)) + ")")
        return 0
    if args.command == "check":
        from . import check

        return 1 if check.check(args.profile, args.jobs) else 0
    if args.command == "prepare":
        extra = {k: str(v) for k, v in (("store_dir", args.store_dir), ("figures_dir", args.figures_dir)) if v}
        for path in runner.prepare(runner.available(), args.profile, args.output, extra):
            print(path)
        return 0
    extra = {"store_dir": str(args.store_dir)} if args.store_dir else None
    return 1 if runner.run(runner.select(args.only), args.profile, extra, jobs=args.jobs,
                           bundle=not args.no_bundle) else 0


def _plan(args) -> int:
    from . import plan, sweep

    if args.calibrate:
        table = plan.write_costs()
        print(f"unit costs refitted from bundle/quick ({table['machine']}) into {plan.COSTS_FILE}")
    try:
        if args.check:
            out = plan.check(args.profile)
            within = ((out.ratio <= 1.5) & (out.ratio >= 1 / 1.5)).mean()
            print(f"{len(out)} runs of bundle/{args.profile}: estimate / measured seconds, median "
                  f"{out.ratio.median():.2f}, range {out.ratio.min():.2f}-{out.ratio.max():.2f}; "
                  f"{within:.0%} within a factor of 1.5")
            print(out.groupby("experiment").ratio.describe()[["count", "min", "50%", "max"]].round(2).to_string())
            return 0
        names = args.names or sweep.sweepable()
        unknown = [n for n in names if n not in sweep.sweepable()]
        if unknown:
            raise ValueError(f"unknown notebook(s) {unknown} (one that stores runs): {sweep.sweepable()}")
        print(plan.report(plan.plan(names, args.profile, args.store_dir), args.profile))
    except (ValueError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
