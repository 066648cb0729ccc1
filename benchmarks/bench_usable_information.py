"""Benchmark: batched, standardized L-BFGS decoders against the naive per-representation decoder.

8 representations of 10000 x 512 float32 features, 10 classes (fit on 10000, evaluate on 10000 others).
Naive = what the paper's first author's code does: one linear decoder per representation, trained by
full-batch SGD at lr 0.05 for 3000 iterations. Target: our `usable_information_batch` at least 20x faster for
all 8, with held-out cross-entropy no worse by more than 0.01 bits.

Run:  python benchmarks/bench_usable_information.py [--reps 8] [--iters 3000]
"""
from __future__ import annotations

import argparse
import json
import math
import platform
import time

import torch
import torch.nn.functional as F

from uinfo.estimators import usable_information_batch


def synthetic_features(n_reps: int, n: int, d: int = 512, k: int = 10, seed: int = 0):
    """Features shaped like a network's penultimate layer: ReLU of a random projection of class means plus
    noise, with a different separability per representation. Returns [(z_train, y_train, z_test, y_test)]."""
    g = torch.Generator().manual_seed(seed)
    problems = []
    for r in range(n_reps):
        proj = torch.randn(64, d, generator=g) / 8
        means = torch.randn(k, 64, generator=g) * (0.15 + 0.065 * r)

        def draw():
            y = torch.randint(0, k, (n,), generator=g)
            z = torch.relu((means[y] + torch.randn(n, 64, generator=g)) @ proj + 0.1 * torch.randn(n, d, generator=g))
            return z.float(), y

        problems.append((*draw(), *draw()))
    return problems


def naive_decoder(z_train, y_train, z_test, y_test, k, iters, lr=0.05):
    """One linear decoder, full-batch SGD at lr 0.05, no preprocessing; returns held-out CE in bits."""
    torch.manual_seed(0)
    dec = torch.nn.Linear(z_train.shape[1], k)
    opt = torch.optim.SGD(dec.parameters(), lr=lr)
    for _ in range(iters):
        opt.zero_grad()
        F.cross_entropy(dec(z_train), y_train).backward()
        opt.step()
    with torch.no_grad():
        return F.cross_entropy(dec(z_test), y_test).item() / math.log(2)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=8)
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--iters", type=int, default=3000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--lambda-sweep", type=int, metavar="REP",
                    help="also print the held-out CE of representation REP at fixed L2 penalties (the best in hindsight)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    problems = synthetic_features(args.reps, args.n)
    if args.lambda_sweep is not None:
        sweep = {l2: round(usable_information_batch([problems[args.lambda_sweep]], l2=l2)[0].cross_entropy_bits, 4)
                 for l2 in (0.03, 0.02, 0.01, 0.007, 0.005, 0.003, 0.002, 0.001)}
        print(json.dumps({"rep": args.lambda_sweep, "held_out_ce_bits_by_l2": sweep}))

    timed = {}
    for l2 in ("auto", 0.01):
        t0 = time.perf_counter()
        timed[l2] = (usable_information_batch(problems, "linear", l2=l2), time.perf_counter() - t0)

    t0 = time.perf_counter()
    naive = [naive_decoder(*p, k=10, iters=args.iters) for p in problems]
    t_naive = time.perf_counter() - t0

    summary = dict(machine=f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads, "
                           f"torch {torch.__version__}", reps=args.reps, n=args.n, naive_iters=args.iters,
                   time_naive_s=round(t_naive, 2), naive_ce_bits=[round(c, 4) for c in naive])
    for l2, (ours, t_ours) in timed.items():
        excess = [o.cross_entropy_bits - c for o, c in zip(ours, naive)]
        summary[f"l2={l2}"] = dict(time_s=round(t_ours, 2), speedup=round(t_naive / t_ours, 1),
                                   ce_bits=[round(o.cross_entropy_bits, 4) for o in ours],
                                   worst_ce_excess_bits=round(max(excess), 4),
                                   target_met=bool(t_naive / t_ours >= 20 and max(excess) <= 0.01))
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
