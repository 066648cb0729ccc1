"""CIFAR-10 / CIFAR-100 trained on coarse labels: usable information of the fine and coarse labels in every probed
layer over training (Kleinman et al. 2021, spec sections 3-5).

One run = one network (ResNet-18 or All-CNN, CIFAR form, with a width multiplier) trained with SGD + momentum,
exponential lr annealing per epoch, random crop + flip, optionally first on the fine labels (``pretrain_epochs``,
then a fresh coarse readout). At every measuring epoch the network is frozen (eval mode) and the global-average-
pooled features of every probed layer are read on the un-augmented test images; decoders for the fine and the
coarse labels are fitted on one half of them and evaluated on the other, swapped and averaged (the headline). With
``train_fitted`` the same decoders are also fitted on un-augmented *training* images and evaluated on the test
images: the diagnostic of spec 3.6, never the headline. With ``collapse`` every measuring epoch also records the
neural-collapse variability ratios of the penultimate layer (``uinfo.estimators.collapse``) on the test and the
training-evaluation images: measured on the features already read, it changes nothing else in the records.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import pandas as pd
import torch

from ..engine.phases import Checkpoint, Phase, phase_seed, run_phases, tidy_records
from ..engine.probe import decoder_fields, extract, logit_fields
from ..engine.runs import stored_runs
from ..engine.training import PRECISIONS, SGDConfig, autocast, steps_per_epoch
from ..estimators.collapse import collapse_fields
from ..estimators.usable import cross_fitted_usable_information_batch, usable_information_batch
from ..models.cifar import CIFAR_MODELS, cifar_model
from ..store import Store
from ..tasks.images import CIFAR10_SPLITS, CLASSES, augment, coarse_labels, load_images

EXPERIMENT = "cifar"
DATASETS = ("cifar10", "cifar100")
# per-channel mean and std of the training images (the usual values), for normalization
NORMALIZATION = {"cifar10": ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)),
                 "cifar100": ((0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2762))}
COARSE_CLASSES = {"cifar10": 2, "cifar100": 20}
# images per forward pass when the probe reads features: the features are the same bits at any batch size on the
# CPU (per-image kernels), and 256 ran 1.1-1.5x faster than 1000 on one thread (benchmarks/bench_cifar.py
# --probe-batches)
PROBE_BATCH = 256
# the seed's hyper-parameters (spec 3.4); ResNet-18's weight decay is not stated: 5e-4, the common CIFAR value
PAPER_OPTIMIZER = {"resnet18": dict(lr=0.1, lr_decay=0.97, momentum=0.9, weight_decay=5e-4, batch_size=128),
                   "allcnn": dict(lr=0.05, lr_decay=0.97, momentum=0.9, weight_decay=1e-3, batch_size=128)}


def measure_schedule(epochs: int, dense: int = 20, every: int = 5) -> tuple:
    """Epoch 0, every epoch up to ``dense``, then every ``every`` epochs, and the last (spec 3.4, paper profile)."""
    out = list(range(0, min(dense, epochs) + 1)) + list(range(dense + every, epochs + 1, every))
    return tuple(sorted(set(out + [epochs])))


@dataclass(frozen=True)
class CIFARConfig:
    """Everything that determines one run. ``n_train`` / ``n_test`` None = the whole split of the data file;
    ``data_sha256`` is the data file's hash (filled in by the config builders: a different file is a different
    result). ``measure_epochs`` () = `measure_schedule(epochs)`; epochs are counted from the start of coarse
    training (pretraining on the fine labels, if any, comes before epoch 0 and is measured at its start)."""

    dataset: str = "cifar10"
    model: str = "resnet18"
    width: float = 1.0
    seed: int = 0
    n_train: int | None = None
    n_test: int | None = None
    cifar10_split: str = "halves"
    lr: float = 0.1
    batch_size: int = 128
    epochs: int = 160
    momentum: float = 0.9
    weight_decay: float = 5e-4
    lr_decay: float = 0.97
    augment: bool = True
    precision: str = "bf16"
    channels_last: bool = True
    measure_epochs: tuple = ()
    pretrain_epochs: int = 0
    train_fitted: bool = False
    n_train_eval: int = 2000
    decoder_l2: float | str = "auto"
    data_sha256: str = ""
    collapse: bool = False

    def __post_init__(self):
        object.__setattr__(self, "measure_epochs", tuple(int(e) for e in self.measure_epochs))
        problems = []
        if self.dataset not in DATASETS:
            problems.append(f"dataset must be one of {DATASETS}, got {self.dataset!r}")
        if self.model not in CIFAR_MODELS:
            problems.append(f"model must be one of {sorted(CIFAR_MODELS)}, got {self.model!r}")
        if not (isinstance(self.width, (int, float)) and self.width > 0):
            problems.append(f"width must be > 0, got {self.width!r}")
        if not (isinstance(self.seed, int) and self.seed >= 0):
            problems.append(f"seed must be a non-negative integer, got {self.seed!r}")
        for name in ("n_train", "n_test"):
            value = getattr(self, name)
            if value is not None and not (isinstance(value, int) and value >= 20):
                problems.append(f"{name} must be None (all) or an integer >= 20, got {value!r}")
        if self.cifar10_split not in CIFAR10_SPLITS:
            problems.append(f"cifar10_split must be one of {sorted(CIFAR10_SPLITS)}, got {self.cifar10_split!r}")
        if self.precision not in PRECISIONS:
            problems.append(f"precision must be one of {PRECISIONS}, got {self.precision!r}")
        if not (isinstance(self.pretrain_epochs, int) and self.pretrain_epochs >= 0):
            problems.append(f"pretrain_epochs must be a non-negative integer, got {self.pretrain_epochs!r}")
        if not (self.decoder_l2 == "auto" or (isinstance(self.decoder_l2, (int, float)) and self.decoder_l2 >= 0)):
            problems.append(f"decoder_l2 must be 'auto' or a penalty >= 0, got {self.decoder_l2!r}")
        if not isinstance(self.collapse, bool):
            problems.append(f"collapse must be True or False, got {self.collapse!r}")
        if not (isinstance(self.n_train_eval, int) and self.n_train_eval >= 20):
            problems.append(f"n_train_eval must be an integer >= 20, got {self.n_train_eval!r}")
        if isinstance(self.epochs, int) and self.measure_epochs and not (
                0 <= min(self.measure_epochs) and max(self.measure_epochs) <= self.epochs):
            problems.append(f"measure_epochs must lie in [0, epochs={self.epochs}], got {self.measure_epochs}")
        try:
            self.sgd()
        except ValueError as err:
            problems.append(str(err))
        if problems:
            raise ValueError("invalid CIFARConfig: " + "; ".join(problems))

    def sgd(self, epochs: int | None = None) -> SGDConfig:
        return SGDConfig(lr=self.lr, batch_size=self.batch_size, epochs=self.epochs if epochs is None else epochs,
                         momentum=self.momentum, weight_decay=self.weight_decay, lr_decay=self.lr_decay)

    def schedule(self) -> tuple:
        return self.measure_epochs or measure_schedule(self.epochs)

    def replace(self, **changes) -> "CIFARConfig":
        return dataclasses.replace(self, **changes)


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


class CIFARData:
    """A run's tensors on its device: uint8 training images (NHWC), normalized un-augmented test images and a
    fixed subset of training images for evaluation, fine and coarse labels; ``normalize`` maps uint8 NHWC
    batches to normalized float NCHW (channels-last when asked)."""

    def __init__(self, config: CIFARConfig, device: torch.device, verbose: bool = False):
        data = load_images(config.dataset, config.n_train, config.n_test, verbose=verbose)
        self.source = data.source
        mean, std = NORMALIZATION[config.dataset]
        self.mean = torch.tensor(mean, device=device).view(1, 3, 1, 1) * 255
        self.std = torch.tensor(std, device=device).view(1, 3, 1, 1) * 255
        self.channels_last = config.channels_last
        split = dict(cifar10_split=config.cifar10_split)
        self.x_train = data.x_train.to(device)
        self.labels_train = {"fine": data.y_train.to(device),
                             "coarse": coarse_labels(data, "train", **split).to(device)}
        self.x_test = self.normalize(data.x_test.to(device))
        self.labels_test = {"fine": data.y_test.to(device), "coarse": coarse_labels(data, "test", **split).to(device)}
        n_eval = min(config.n_train_eval, len(data.y_train))
        self.x_train_eval = self.normalize(self.x_train[:n_eval])
        self.labels_train_eval = {k: v[:n_eval] for k, v in self.labels_train.items()}

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        out = (x.permute(0, 3, 1, 2).float() - self.mean) / self.std
        return out.contiguous(memory_format=torch.channels_last) if self.channels_last else out.contiguous()

    def training_batch(self, augmented: bool):
        def transform(xb: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
            out = self.normalize(xb)
            if augmented:
                out = augment(out, generator)
                if self.channels_last:
                    out = out.contiguous(memory_format=torch.channels_last)
            return out
        return transform


def build_model(config: CIFARConfig, device: torch.device) -> torch.nn.Module:
    torch.manual_seed(config.seed)
    classes = CLASSES[config.dataset] if config.pretrain_epochs else COARSE_CLASSES[config.dataset]
    model = cifar_model(config.model, classes, config.width).to(device)
    return model.to(memory_format=torch.channels_last) if config.channels_last else model


class CIFARProbe:
    """The measuring callback: eval-mode features of every probed layer on the test images (and the training
    evaluation images), cross-fitted fine / coarse decoders on the test features, optionally train-fitted ones,
    and the loss and accuracy of the network on both sets for the current training target."""

    def __init__(self, model, data: CIFARData, config: CIFARConfig):
        self.model, self.data, self.config = model, data, config
        self.layers = list(model.probe_layers)
        self.records: list[dict] = []

    def _features(self, x: torch.Tensor) -> dict:
        with autocast(x.device, self.config.precision):
            return extract(self.model, self.layers, x, batch_size=PROBE_BATCH)

    def __call__(self, point: Checkpoint) -> None:
        step, epoch, phase, target = point.step, point.epoch, point.phase.name, point.phase.target
        data, variables = self.data, ("fine", "coarse")
        test = self._features(data.x_test)
        train = self._features(data.x_train_eval)
        keys = [(layer, var) for layer in self.layers for var in variables]
        held = cross_fitted_usable_information_batch(
            [(test[layer].cpu(), data.labels_test[var].cpu()) for layer, var in keys], split_seed=self.config.seed,
            l2=self.config.decoder_l2)
        fits = [("heldout", held)]
        if self.config.train_fitted:
            fits.append(("train_fitted", usable_information_batch(
                [(train[layer].cpu(), data.labels_train_eval[var].cpu(), test[layer].cpu(),
                  data.labels_test[var].cpu()) for layer, var in keys], l2=self.config.decoder_l2)))
        metrics = {**logit_fields("train", train["logits"], data.labels_train_eval[target]),
                   **logit_fields("test", test["logits"], data.labels_test[target])}
        if self.config.collapse:  # the penultimate layer: the last probed before the logits
            penultimate = self.layers[-2]
            for split, features, labels in (("test", test, data.labels_test), ("train", train, data.labels_train_eval)):
                metrics.update(collapse_fields(split, features[penultimate].cpu().numpy(), labels["fine"].cpu().numpy(),
                                               labels["coarse"].cpu().numpy()))
        for fit, results in fits:
            for (layer, var), res in zip(keys, results):
                self.records.append(dict(step=step, epoch=epoch, phase=phase, target=target, layer=layer,
                                         variable=var, fit=fit, **decoder_fields(res), **metrics))


def run_cifar(config: CIFARConfig, progress: bool = False, state_path=None, device=None) -> pd.DataFrame:
    """Train one network and measure it at every measuring epoch. Returns tidy records: one row per measuring
    epoch x probed layer x variable (fine, coarse) x decoder fit, with the network's loss and accuracy on its
    training-evaluation and test images, and the cumulative training and measuring seconds (``train_seconds``,
    ``measure_seconds``: the measuring-cost benchmark reads them).

    With ``state_path`` the run's state is written there at every measuring epoch and an interrupted run started
    again continues from the last one."""
    device = torch.device(device) if device is not None else default_device()
    data = CIFARData(config, device)
    model = build_model(config, device)
    probe = CIFARProbe(model, data, config)

    def coarse_readout() -> None:  # after pretraining on the fine labels: a fresh coarse readout, seeded
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(config.seed + 7)
            model.replace_head(COARSE_CLASSES[config.dataset])
        if config.channels_last:
            model.to(memory_format=torch.channels_last)

    per_epoch = steps_per_epoch(len(data.labels_train["coarse"]), config.batch_size)
    named = ([("pretrain", "fine", config.sgd(config.pretrain_epochs), [0])] if config.pretrain_epochs else [])
    named.append(("train", "coarse", config.sgd(), list(config.schedule())))
    phases = [Phase(name, target, sgd, [e * per_epoch for e in epochs], phase_seed(config.seed, i, len(named)),
                    coarse_readout if i > 0 else None)
              for i, (name, target, sgd, epochs) in enumerate(named)]
    clock = run_phases(model, phases, data.x_train, data.labels_train, probe, probe.records,
                       first_epoch=-float(config.pretrain_epochs), state_path=state_path, progress=progress,
                       desc=f"{config.model} {config.dataset} seed {config.seed}",
                       transform=data.training_batch(config.augment), precision=config.precision)
    records = tidy_records(probe.records, EXPERIMENT, config)
    records["device"] = device.type
    records["data_source"] = data.source["source"]
    records["available_train"] = data.source["available_train"]
    records["available_test"] = data.source["available_test"]
    records["used_train"] = data.source["used_train"]
    records["used_test"] = data.source["used_test"]
    records["total_train_seconds"] = clock["train"]
    records["total_measure_seconds"] = clock["measure"]
    return records


def _compute(config: CIFARConfig, progress: bool, state_path) -> pd.DataFrame:
    return run_cifar(config, progress, state_path=state_path)


def cifar_runs(configs, store: Store | None = None, progress: bool = True, jobs: int = 1) -> pd.DataFrame:
    """Records of many runs, each read from the store when it is there and computed (then stored) when not."""
    return stored_runs(EXPERIMENT, _compute, configs, store, progress, jobs)


def entropies(dataset: str, n_test: int | None = None, cifar10_split: str = "halves") -> dict:
    """H(fine) and H(coarse) of the test labels, in bits: the reference lines of the figures."""
    data = load_images(dataset, n_test=n_test, n_train=20, verbose=False)
    out = {}
    for name, y in (("fine", data.y_test), ("coarse", coarse_labels(data, "test", cifar10_split))):
        p = torch.bincount(y).double() / len(y)
        p = p[p > 0]
        out[name] = float(-(p * p.log2()).sum())
    return out
