"""Benchmark: CIFAR training throughput and the cost of measuring information (issue 4).

1. Matrix-product peak of this machine: float32 and bf16 (torch.matmul, 2048 x 2048, best of several).
2. Training throughput of ResNet-18 and All-CNN (the `quick` width and full width) in three numerics: float32
   (NCHW), float32 channels-last, bf16 autocast + channels-last: images/s and achieved GFLOP/s (forward + backward
   FLOPs counted by torch's FlopCounterMode), against the peak of the same dtype.
3. Measuring cost at `quick`: the same short run with the measuring callback and with a no-op callback; the per-epoch
   training time and per-checkpoint measuring time, and the share of the `quick` schedule (8 checkpoints over 20
   epochs) they imply. The real `quick` runs also record their own split (train vs measure seconds).

Run:  python benchmarks/bench_cifar.py [--steps 15] [--epochs 3] [--skip-full-width]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time

import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from uinfo.experiments import cifar as cf
from uinfo.training import autocast

NUMERICS = {"float32": ("float32", False), "float32 channels-last": ("float32", True),
            "bf16 channels-last": ("bf16", True)}


def matmul_peak(dtype: torch.dtype, n: int = 2048, repeats: int = 5) -> float:
    a, b = torch.randn(n, n).to(dtype), torch.randn(n, n).to(dtype)
    a @ b
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t0)
    return 2 * n ** 3 / best / 1e9


def training_flops(model, x, y) -> float:
    """Forward + backward FLOPs of one training step on the batch (torch's FlopCounterMode)."""
    with FlopCounterMode(display=False) as counter:
        F.cross_entropy(model(x), y).backward()
    model.zero_grad(set_to_none=True)
    return counter.get_total_flops()


def throughput(model_name: str, width: float, numerics: str, steps: int, batch: int = 128) -> dict:
    precision, channels_last = NUMERICS[numerics]
    config = cf.CIFARConfig(model=model_name, width=width, n_train=2048, n_test=100, precision=precision,
                            channels_last=channels_last, n_train_eval=20)
    device = torch.device("cpu")
    data = cf.CIFARData(config, device)
    model = cf.build_model(config, device)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    gen = torch.Generator().manual_seed(0)
    transform = data.training_batch(True)
    y_all = data.labels_train["coarse"]
    flops = training_flops(model, transform(data.x_train[:batch], gen), y_all[:batch]) / batch

    def step():
        idx = torch.randint(0, len(y_all), (batch,), generator=gen)
        xb = transform(data.x_train[idx], gen)
        with autocast(device, precision):
            loss = F.cross_entropy(model(xb), y_all[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    for _ in range(3):  # warm-up (the first steps allocate and pick kernels)
        step()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    seconds = (time.perf_counter() - t0) / steps
    return dict(model=model_name, width=width, numerics=numerics, images_per_s=batch / seconds,
                gflop_per_image=flops / 1e9, achieved_gflops=flops * batch / seconds / 1e9)


def measuring_cost(model_name: str, epochs: int) -> dict:
    """The same short `quick` run with the measuring callback and with a no-op callback."""
    base = cf.base_config("quick", "cifar10", model_name, epochs=epochs, measure_epochs=tuple(range(epochs + 1)))
    t0 = time.perf_counter()
    records = cf.run_cifar(base, device="cpu")
    with_probe = time.perf_counter() - t0
    real = cf.CIFARProbe.__call__
    cf.CIFARProbe.__call__ = lambda self, *args: None
    try:
        t0 = time.perf_counter()
        cf.run_cifar(base, device="cpu")
        without = time.perf_counter() - t0
    finally:
        cf.CIFARProbe.__call__ = real
    per_checkpoint = (with_probe - without) / (epochs + 1)
    per_epoch = records["total_train_seconds"].iloc[0] / epochs
    quick = cf.PROFILES["quick"]
    share = len(quick["measure_epochs"]) * per_checkpoint / (quick["epochs"] * per_epoch)
    return dict(model=model_name, width=base.width, epochs=epochs, checkpoints=epochs + 1,
                seconds_with=with_probe, seconds_without=without, seconds_per_epoch=per_epoch,
                seconds_per_checkpoint=per_checkpoint, quick_schedule_share=share)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=15)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--skip-full-width", action="store_true")
    args = parser.parse_args()
    peaks = {"float32": matmul_peak(torch.float32), "bf16": matmul_peak(torch.bfloat16)}
    print(f"matmul peak: float32 {peaks['float32']:.0f} GFLOP/s, bf16 {peaks['bf16']:.0f} GFLOP/s", flush=True)
    rows = []
    widths = [0.25] + ([] if args.skip_full_width else [1.0])
    for model_name in ("resnet18", "allcnn"):
        for width in widths:
            for numerics in NUMERICS:
                row = throughput(model_name, width, numerics, args.steps if width < 1 else max(3, args.steps // 3))
                row["of_peak"] = row["achieved_gflops"] / peaks[NUMERICS[numerics][0]]
                rows.append(row)
                print(f"{model_name} x{width} {numerics}: {row['images_per_s']:.0f} images/s, "
                      f"{row['achieved_gflops']:.0f} GFLOP/s ({row['of_peak']:.0%} of the {NUMERICS[numerics][0]} "
                      f"peak; {row['gflop_per_image']:.3f} GFLOP per image)", flush=True)
    costs = []
    for model_name in ("allcnn", "resnet18"):
        c = measuring_cost(model_name, args.epochs)
        costs.append(c)
        print(f"measuring, {model_name} x{c['width']} quick: {c['seconds_per_epoch']:.1f} s per training epoch, "
              f"{c['seconds_per_checkpoint']:.1f} s per checkpoint (with {c['seconds_with']:.0f} s, without "
              f"{c['seconds_without']:.0f} s over {c['epochs']} epochs) -> {c['quick_schedule_share']:.1%} of "
              "training on the quick schedule", flush=True)
    result = dict(machine=dict(platform=platform.platform(), processor=platform.processor(), cpus=os.cpu_count(),
                               torch=torch.__version__, torch_threads=torch.get_num_threads()),
                  args=vars(args), matmul_peak_gflops=peaks, throughput=rows, measuring=costs)
    print(json.dumps(result, indent=1, default=float))


if __name__ == "__main__":
    main()
