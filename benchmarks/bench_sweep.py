"""Sweep throughput: 8 small checkerboard runs computed sequentially in one process (the naive way) against the
same 8 through `uinfo.sweep` with submitit's local executor and 2 workers (one thread each), then a second sweep
invocation that must compute nothing. Bar (issue 6): parallel < 65% of sequential on a 2-core machine.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_sweep.py
"""
import os
import platform
import tempfile
import time
from pathlib import Path

from uinfo.experiments.checkerboard import checkerboard_runs
from uinfo.profiles.checkerboard import dynamics_configs
from uinfo.store import Store
from uinfo.sweep import run_sweep

# the first 8 runs of a real sweep: checkerboard_dynamics at quick (FC Small widths 3 and 5, 60 epochs, 30 checkpoints)
CONFIGS = dynamics_configs("quick")[:8]

if __name__ == "__main__":
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"python {platform.python_version()}")
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        checkerboard_runs(CONFIGS, Store(Path(tmp) / "sequential"), progress=False, jobs=1)
        sequential = time.perf_counter() - t0
        print(f"sequential (one process, torch default threads): {sequential:.1f} s")
        t0 = time.perf_counter()
        report = run_sweep(CONFIGS, "bench", "local", workers=2, store_dir=Path(tmp) / "sweep",
                           folder=Path(tmp) / "jobs")
        parallel = time.perf_counter() - t0
        print(f"sweep, submitit local executor, 2 workers: {parallel:.1f} s = {parallel / sequential:.0%} of "
              f"sequential ({report.computed} computed, {len(report.failed)} failed)")
        t0 = time.perf_counter()
        again = run_sweep(CONFIGS, "bench", "local", workers=2, store_dir=Path(tmp) / "sweep",
                          folder=Path(tmp) / "jobs")
        print(f"second invocation: {again.computed} computed, {again.already} already stored, "
              f"{time.perf_counter() - t0:.2f} s")
