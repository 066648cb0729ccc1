"""Benchmark: CIFAR training throughput and the cost of measuring information (issue 4).

1. Matrix-product peak of this machine: float32 and bf16 (torch.matmul, 2048 x 2048, best of several).
2. Training throughput of ResNet-18 and All-CNN (the `quick` width and full width) in three numerics: float32
   (NCHW), float32 channels-last, bf16 autocast + channels-last: images/s and achieved GFLOP/s (forward + backward
   FLOPs counted by torch's FlopCounterMode), against the peak of the same dtype.
3. Measuring cost at `quick` (CIFAR-10 All-CNN and ResNet-18, CIFAR-100 All-CNN): the same short run with the
   measuring callback and with a no-op callback; the per-epoch training time and per-checkpoint measuring time, and
   the share of the `quick` schedule (7 checkpoints over 16 epochs) they imply. The real `quick` runs also record
   their own split (train vs measure seconds).
4. The probe's decoders on CIFAR-100 features: as fitted (100-class stacks in float32) against all in float64, in
   the same run, with the largest difference in bits.

Run:  python benchmarks/bench_cifar.py [--steps 15] [--epochs 3] [--skip-full-width] [--measuring-only]
      python benchmarks/bench_cifar.py --candidates   (issue 20: compile, foreach, batch 256, oneDNN bf16 math,
                                                    compile with batch 256, thread layouts)
      python benchmarks/bench_cifar.py --probe-batches   (issue 20: the probe's forward batch; features identical?)
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import time

import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from uinfo.experiments import cifar as cf
from uinfo.profiles import cifar as cfp
from uinfo.engine.training import autocast

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


def throughput(model_name: str, width: float, numerics: str, steps: int, batch: int = 128, compiled: bool = False,
               foreach: bool | None = None, onednn_bf16: bool = False) -> dict:
    """Training images per second, one SGD step at a time (crop + flip included). ``compiled``: the model wrapped in
    ``torch.compile`` (inductor); ``foreach``: the optimizer's multi-tensor update; ``onednn_bf16``: float32 tensors
    with oneDNN allowed to compute convolutions and matrix products in bf16 (``torch.backends.mkldnn``'s
    ``fp32_precision``), no autocast and so no cast kernels."""
    if onednn_bf16:
        with _onednn_fp32_precision("bf16"):
            return throughput(model_name, width, numerics, steps, batch, compiled, foreach)
    precision, channels_last = NUMERICS[numerics]
    config = cf.CIFARConfig(model=model_name, width=width, n_train=2048, n_test=100, precision=precision,
                            channels_last=channels_last, n_train_eval=20)
    device = torch.device("cpu")
    data = cf.CIFARData(config, device)
    model = cf.build_model(config, device)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, foreach=foreach)
    gen = torch.Generator().manual_seed(0)
    transform = data.training_batch(True)
    y_all = data.labels_train["coarse"]
    flops = training_flops(model, transform(data.x_train[:batch], gen), y_all[:batch]) / batch
    forward = torch.compile(model) if compiled else model

    def step():
        idx = torch.randint(0, len(y_all), (batch,), generator=gen)
        xb = transform(data.x_train[idx], gen)
        with autocast(device, precision):
            loss = F.cross_entropy(forward(xb), y_all[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    t0 = time.perf_counter()
    for _ in range(3):  # warm-up (the first steps allocate and pick kernels; and compile)
        step()
    warm_up = time.perf_counter() - t0
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    seconds = (time.perf_counter() - t0) / steps
    return dict(model=model_name, width=width, numerics=numerics, images_per_s=batch / seconds,
                gflop_per_image=flops / 1e9, achieved_gflops=flops * batch / seconds / 1e9, warm_up_seconds=warm_up)


@contextlib.contextmanager
def _onednn_fp32_precision(precision: str):
    """oneDNN's float32 math precision for convolutions and matrix products set to ``precision``, restored after."""
    backends = (torch.backends.mkldnn.conv, torch.backends.mkldnn.matmul)
    saved = [b.fp32_precision for b in backends]
    for b in backends:
        b.fp32_precision = precision
    try:
        yield
    finally:
        for b, value in zip(backends, saved):
            b.fp32_precision = value


def onednn_bf16_effect() -> float:
    """Largest difference a float32 convolution's output shows when oneDNN is allowed bf16 math: 0 means the
    setting does nothing on this CPU."""
    conv = torch.nn.Conv2d(16, 16, 3, padding=1).to(memory_format=torch.channels_last)
    x = torch.randn(64, 16, 32, 32, generator=torch.Generator().manual_seed(0)).contiguous(
        memory_format=torch.channels_last)
    with torch.no_grad():
        exact = conv(x)
        with _onednn_fp32_precision("bf16"):
            allowed = conv(x)
    return float((allowed - exact).abs().max())


CANDIDATES = {  # issue 20's candidates against the quick setting (bf16 autocast + channels-last, batch 128)
    "baseline": {}, "torch.compile (inductor)": dict(compiled=True), "foreach SGD": dict(foreach=True),
    "batch 256": dict(batch=256),
    "float32 + oneDNN bf16 math, no autocast": dict(numerics="float32 channels-last", onednn_bf16=True),
    # the two that gained on their own, together: the best the candidates reach (the layout is measured apart)
    "torch.compile + batch 256": dict(compiled=True, batch=256)}


def _one_thread_throughput(args) -> float:
    torch.set_num_threads(1)
    return throughput(*args)["images_per_s"]


def candidates(steps: int) -> list[dict]:
    """The candidates side by side on one thread (the quick workers' setting), then the two thread layouts of the
    2 cores: one process with 2 threads, against two 1-thread processes training at the same time (summed)."""
    import multiprocessing

    rows = []
    for model_name in ("resnet18", "allcnn"):
        torch.set_num_threads(1)
        for name, options in CANDIDATES.items():
            options = dict(options)
            row = throughput(model_name, 0.25, options.pop("numerics", "bf16 channels-last"), steps, **options)
            rows.append(dict(model=model_name, candidate=name, threads="1 process x 1 thread",
                             images_per_s=row["images_per_s"], warm_up_seconds=row["warm_up_seconds"]))
        torch.set_num_threads(2)
        rows.append(dict(model=model_name, candidate="baseline", threads="1 process x 2 threads",
                         images_per_s=throughput(model_name, 0.25, "bf16 channels-last", steps)["images_per_s"]))
        with multiprocessing.get_context("spawn").Pool(2) as pool:
            both = pool.map(_one_thread_throughput, [(model_name, 0.25, "bf16 channels-last", steps)] * 2)
        rows.append(dict(model=model_name, candidate="baseline", threads="2 processes x 1 thread (sum)",
                         images_per_s=sum(both)))
        for row in rows[-(len(CANDIDATES) + 2):]:
            print(f"{row['model']} x0.25 {row['candidate']}, {row['threads']}: {row['images_per_s']:.0f} images/s",
                  flush=True)
    return rows


def measuring_cost(model_name: str, epochs: int, dataset: str = "cifar10", batches=(1000, cf.PROBE_BATCH)) -> dict:
    """The same short `quick` run with the measuring callback (the probe's forward batch at each of ``batches``:
    the old 1000 beside today's) and with a no-op callback; per-checkpoint measuring seconds and the share of
    training they imply on the `quick` schedule."""
    base = cfp.base_config("quick", dataset, model_name, epochs=epochs, measure_epochs=tuple(range(epochs + 1)))
    real_call, real_batch = cf.CIFARProbe.__call__, cf.PROBE_BATCH
    cf.CIFARProbe.__call__ = lambda self, *args: None
    try:
        t0 = time.perf_counter()
        cf.run_cifar(base, device="cpu")
        without = time.perf_counter() - t0
    finally:
        cf.CIFARProbe.__call__ = real_call
    quick = cfp.PROFILES["quick"]
    out = dict(dataset=dataset, model=model_name, width=base.width, epochs=epochs, checkpoints=epochs + 1,
               seconds_without=without)
    for batch in batches:
        cf.PROBE_BATCH = batch
        try:
            t0 = time.perf_counter()
            records = cf.run_cifar(base, device="cpu")
            with_probe = time.perf_counter() - t0
        finally:
            cf.PROBE_BATCH = real_batch
        per_checkpoint = (with_probe - without) / (epochs + 1)
        per_epoch = records["total_train_seconds"].iloc[0] / epochs
        out[f"batch {batch}"] = dict(
            seconds_with=with_probe, seconds_per_epoch=per_epoch, seconds_per_checkpoint=per_checkpoint,
            measured_share=float(records["total_measure_seconds"].iloc[0] / records["total_train_seconds"].iloc[0]),
            quick_schedule_share=len(quick["measure_epochs"]) * per_checkpoint / (quick["epochs"] * per_epoch))
    return out


def decoder_cost(dataset: str = "cifar100", model_name: str = "allcnn", repeats: int = 2) -> dict:
    """The probe's decoders on the features of a `quick` network after one epoch: as fitted (float32 where
    stacked entries x classes > 1e7, i.e. the 100-class problems) against every stack in float64 (the naive
    choice), in the same run; seconds (best of ``repeats``) and the largest difference in bits."""
    from uinfo.estimators import cross_fitted_usable_information_batch
    from uinfo.estimators import usable

    config = cfp.base_config("quick", dataset, model_name, epochs=1, measure_epochs=(0, 1))
    data = cf.CIFARData(config, torch.device("cpu"))
    model = cf.build_model(config, torch.device("cpu"))
    cf.train_sgd(model, data.x_train, data.labels_train["coarse"], config.sgd(), 0, [], lambda *a: None, None,
                 transform=data.training_batch(True), precision=config.precision)
    feats = cf.CIFARProbe(model, data, config)._features(data.x_test)
    problems = [(feats[layer], data.labels_test[v]) for layer in model.probe_layers for v in ("fine", "coarse")]

    def fit():
        best, out = float("inf"), None
        for _ in range(repeats):
            t0 = time.perf_counter()
            out = cross_fitted_usable_information_batch(problems, split_seed=0, l2=config.decoder_l2)
            best = min(best, time.perf_counter() - t0)
        return best, [r.bits for r in out]
    ours, bits = fit()
    limit = usable.FLOAT64_MAX_WORK
    usable.FLOAT64_MAX_WORK = float("inf")
    try:
        naive, bits64 = fit()
    finally:
        usable.FLOAT64_MAX_WORK = limit
    return dict(dataset=dataset, model=model_name, problems=len(problems), seconds=ours, seconds_float64=naive,
                speedup=naive / ours, max_abs_bits_difference=max(abs(a - b) for a, b in zip(bits, bits64)))


def probe_batches(batches=(1000, 512, 256, 128), repeats: int = 3) -> list[dict]:
    """The probe's feature extraction (bf16, eval mode, every probed layer) of the `quick` test images at several
    forward batch sizes, one thread, best of ``repeats``; whether each gives the same bits as the first."""
    from uinfo.engine.probe import extract

    torch.set_num_threads(1)
    rows = []
    for model_name, dataset in (("resnet18", "cifar10"), ("allcnn", "cifar10")):
        config = cfp.base_config("quick", dataset, model_name)
        data = cf.CIFARData(config, torch.device("cpu"))
        model = cf.build_model(config, torch.device("cpu"))
        layers, reference = list(model.probe_layers), None
        for batch in batches:
            best = float("inf")
            for _ in range(repeats):
                start = time.perf_counter()
                with autocast("cpu", config.precision):
                    feats = extract(model, layers, data.x_test, batch_size=batch)
                best = min(best, time.perf_counter() - start)
            reference = reference or feats
            rows.append(dict(model=model_name, images=len(data.x_test), batch=batch, seconds=round(best, 3),
                             images_per_s=round(len(data.x_test) / best), probe_batch=batch == cf.PROBE_BATCH,
                             identical=all(torch.equal(reference[k], feats[k]) for k in layers)))
            print(json.dumps(rows[-1]), flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=15)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--skip-full-width", action="store_true")
    parser.add_argument("--measuring-only", action="store_true", help="skip the peaks and throughput")
    parser.add_argument("--probe-batches", action="store_true",
                        help="only the probe's feature extraction at several forward batch sizes")
    parser.add_argument("--candidates", action="store_true",
                        help="only issue 20's speed-up candidates for the quick nets, side by side")
    args = parser.parse_args()
    if args.probe_batches:
        rows = probe_batches()
        print(json.dumps(dict(machine=dict(platform=platform.platform(), cpus=os.cpu_count(),
                                           torch=torch.__version__), probe_batches=rows), indent=1))
        return
    if args.candidates:
        effect = onednn_bf16_effect()
        print(f"oneDNN bf16 math on float32 tensors changes a convolution's output by {effect:.2g} "
              f"({'in effect' if effect else 'no effect on this CPU'})", flush=True)
        rows = candidates(args.steps)
        print(json.dumps(dict(machine=dict(platform=platform.platform(), cpus=os.cpu_count(),
                                           torch=torch.__version__), onednn_bf16_effect=effect, candidates=rows),
                         indent=1, default=float))
        return
    peaks = {"float32": matmul_peak(torch.float32), "bf16": matmul_peak(torch.bfloat16)}
    print(f"matmul peak: float32 {peaks['float32']:.0f} GFLOP/s, bf16 {peaks['bf16']:.0f} GFLOP/s", flush=True)
    rows = []
    widths = [0.25] + ([] if args.skip_full_width else [1.0])
    for model_name in () if args.measuring_only else ("resnet18", "allcnn"):
        for width in widths:
            for numerics in NUMERICS:
                row = throughput(model_name, width, numerics, args.steps if width < 1 else max(3, args.steps // 3))
                row["of_peak"] = row["achieved_gflops"] / peaks[NUMERICS[numerics][0]]
                rows.append(row)
                print(f"{model_name} x{width} {numerics}: {row['images_per_s']:.0f} images/s, "
                      f"{row['achieved_gflops']:.0f} GFLOP/s ({row['of_peak']:.0%} of the {NUMERICS[numerics][0]} "
                      f"peak; {row['gflop_per_image']:.3f} GFLOP per image)", flush=True)
    costs = []
    for dataset, model_name in (("cifar10", "allcnn"), ("cifar10", "resnet18"), ("cifar100", "allcnn")):
        c = measuring_cost(model_name, args.epochs, dataset)
        costs.append(c)
        for batch in (k for k in c if k.startswith("batch ")):
            b = c[batch]
            print(f"measuring, {dataset} {model_name} x{c['width']} quick, probe {batch}: {b['seconds_per_epoch']:.1f} s "
                  f"per training epoch, {b['seconds_per_checkpoint']:.1f} s per checkpoint (with {b['seconds_with']:.0f} "
                  f"s, without {c['seconds_without']:.0f} s over {c['epochs']} epochs) -> "
                  f"{b['quick_schedule_share']:.1%} of training on the quick schedule", flush=True)
    decoders = decoder_cost()
    print(f"decoders, {decoders['dataset']} {decoders['model']} ({decoders['problems']} problems, cross-fitted): "
          f"{decoders['seconds']:.2f} s as fitted vs {decoders['seconds_float64']:.2f} s all in float64 "
          f"({decoders['speedup']:.2f}x), largest difference {decoders['max_abs_bits_difference']:.1e} bits",
          flush=True)
    result = dict(machine=dict(platform=platform.platform(), processor=platform.processor(), cpus=os.cpu_count(),
                               torch=torch.__version__, torch_threads=torch.get_num_threads()),
                  args=vars(args), matmul_peak_gflops=peaks, throughput=rows, measuring=costs,
                  decoders=decoders)
    print(json.dumps(result, indent=1, default=float))


if __name__ == "__main__":
    main()
