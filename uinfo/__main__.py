"""Command line: ``python -m uinfo run|list|prepare`` (what ./run_all.sh and the tests call)."""
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
    sub.add_parser("list", help="list the notebooks")
    p = sub.add_parser("prepare", help="write parameterized, unexecuted notebooks (for nbval)")
    p.add_argument("--profile", default="smoke", choices=PROFILES)
    p.add_argument("--output", required=True, type=Path)
    p.add_argument("--store-dir", type=Path)
    p.add_argument("--figures-dir", type=Path)
    args = ap.parse_args(argv)
    if args.command == "list":
        print("\n".join(runner.available()))
        return 0
    if args.command == "prepare":
        extra = {k: str(v) for k, v in (("store_dir", args.store_dir), ("figures_dir", args.figures_dir)) if v}
        for path in runner.prepare(runner.available(), args.profile, args.output, extra):
            print(path)
        return 0
    extra = {"store_dir": str(args.store_dir)} if args.store_dir else None
    return 1 if runner.run(runner.select(args.only), args.profile, extra, jobs=args.jobs) else 0


if __name__ == "__main__":
    sys.exit(main())
