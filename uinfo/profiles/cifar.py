"""The CIFAR notebooks' runs at each profile (smoke, quick, paper) and their relative costs (for scheduling the
longest first). Not part of any run's code version (``uinfo.provenance``): a config carries every setting into its
store key, so a new notebook or profile here recomputes nothing already stored."""
from __future__ import annotations

from ..experiments.cifar import PAPER_OPTIMIZER, CIFARConfig
from ..tasks.images import full_training_set, load_images
from . import profile_spec

# rough per-image cost of a training step relative to All-CNN at width 1 (measured: benchmarks/bench_cifar.py)
MODEL_COST = {"allcnn": 1.0, "resnet18": 2.0}


def relative_cost(config: CIFARConfig) -> float:
    """A rough relative compute cost of a run, for scheduling the longest runs first: images seen x the
    network's cost (quadratic in its width) x 3 for float32 (bf16 is 2.6-5x faster on CPUs that have it)."""
    images = (config.epochs + config.pretrain_epochs) * (config.n_train or 50000)
    return images * MODEL_COST[config.model] * config.width ** 2 * (3.0 if config.precision == "float32" else 1.0)


# ---------------------------------------------------------------------------------------------------------------
# profiles: data, not branches. quick = the 20000-image subsets, narrow nets, fewer epochs; paper = the full sets
# (n_train "full": all 50000 images, checked before any compute, see images.full_training_set) and the seed's
# settings (for a GPU); smoke = seconds, for CI.

PROFILES = {
    "smoke": dict(seeds=(0,), n_train=256, n_test=200, n_train_eval=100, epochs=2, measure_epochs=(0, 1, 2),
                  widths={"resnet18": 0.0625, "allcnn": 0.125}, precision="float32", pretrain_epochs=1,
                  lrs=(0.01,), batch_sizes=(64,), cifar100_models=("allcnn",), decoder_l2=0.01, twin_epochs=1,
                  contrast_regime="terminal"),
    # 2 worker processes of one thread on a 2-core CPU: ~17 s per All-CNN epoch, ~45 s per ResNet-18 epoch; a fixed
    # decoder penalty (the "auto" search costs 2.5x the fit) keeps measuring under 15% of training
    "quick": dict(seeds=(0, 1, 2), n_train=20000, n_test=None, n_train_eval=1000, epochs=16,
                  measure_epochs=(0, 1, 2, 4, 7, 11, 16), widths={"resnet18": 0.25, "allcnn": 0.25},
                  precision="bf16", pretrain_epochs=12, lrs=(0.01, 0.1), batch_sizes=(256,),
                  cifar100_models=("allcnn",), decoder_l2=0.01, twin_epochs=4, contrast_regime="terminal"),
    # the seed's settings on the full sets (for a GPU); lrs / batch sizes around All-CNN's 0.05 / 128 (spec 4)
    "paper": dict(seeds=(0, 1, 2), n_train="full", n_test=None, n_train_eval=10000, epochs=160, measure_epochs=(),
                  widths={"resnet18": 1.0, "allcnn": 1.0}, precision="bf16", pretrain_epochs=40,
                  lrs=(0.005, 0.01, 0.1), batch_sizes=(32, 512, 1024), cifar100_models=("allcnn", "resnet18"),
                  decoder_l2="auto", twin_epochs=20, contrast_regime="coarse"),
}


def _profile(profile: str, seeds) -> tuple[dict, tuple]:
    spec = profile_spec(PROFILES, profile)
    return spec, spec["seeds"] if seeds is None else tuple(seeds)


def base_config(profile: str, dataset: str, model: str, **changes) -> CIFARConfig:
    """The profile's run of ``model`` on ``dataset`` with the seed's optimizer (spec 3.4) and the data file's
    sha256 filled in. The file is read once, here, so a missing file, too few images or a subset where the profile
    asks for the full set stop before any compute."""
    spec, _ = _profile(profile, None)
    n_train = spec["n_train"]
    source = load_images(dataset, None if n_train == "full" else n_train, spec["n_test"], verbose=False).source
    if n_train == "full":
        n_train = full_training_set(source)
    data_sha256 = source["sha256"]
    settings = dict(dataset=dataset, model=model, width=spec["widths"][model], n_train=n_train,
                    n_test=spec["n_test"], n_train_eval=spec["n_train_eval"], epochs=spec["epochs"],
                    measure_epochs=spec["measure_epochs"], precision=spec["precision"], data_sha256=data_sha256,
                    decoder_l2=spec["decoder_l2"],
                    **PAPER_OPTIMIZER[model])
    return CIFARConfig(**{**settings, **changes})


def coarse_configs(profile: str, dataset: str, model: str, seeds=None, **changes) -> list[CIFARConfig]:
    """One network per seed trained on the coarse labels (the headline runs of the three coarse notebooks)."""
    _, seeds = _profile(profile, seeds)
    base = base_config(profile, dataset, model, **changes)
    return [base.replace(seed=s) for s in seeds]


def _contrast_base(profile: str, spec: dict, dataset: str, model: str) -> CIFARConfig:
    """The baseline run of the lr / batch and initialization contrasts: the profile's coarse run, or, where the
    profile's ``contrast_regime`` (in ``spec``, its entry of ``PROFILES``) is "terminal", the terminal-phase headline
    run (the contrasts' claims are about the phase after the fit, which quick's 16 epochs on 20000 augmented images
    never reach)."""
    if spec["contrast_regime"] == "terminal":
        return terminal_base(profile, model, dataset)
    return base_config(profile, dataset, model)


def lr_batch_configs(profile: str, model: str = "allcnn", dataset: str = "cifar10",
                     seeds=None) -> list[CIFARConfig]:
    """The baseline (the seed's lr and batch 128) and, one change at a time, each of the profile's other initial
    learning rates (batch 128) and batch sizes (baseline lr), every seed."""
    spec, seeds = _profile(profile, seeds)
    base = _contrast_base(profile, spec, dataset, model)
    arm = _arm_of(base)
    settings = ([dict()] + [dict(lr=lr, **arm) for lr in spec["lrs"]]
                + [dict(batch_size=b, **arm) for b in spec["batch_sizes"]])
    return [base.replace(seed=s, **change) for change in settings for s in seeds]


def initialization_configs(profile: str, model: str = "allcnn", dataset: str = "cifar10",
                           seeds=None) -> list[CIFARConfig]:
    """From scratch on the coarse labels (the baseline) and the same net first trained ``pretrain_epochs`` on the
    fine labels, then given a fresh coarse readout and trained exactly like the baseline."""
    spec, seeds = _profile(profile, seeds)
    base = _contrast_base(profile, spec, dataset, model)
    arm = dict(pretrain_epochs=spec["pretrain_epochs"], **_arm_of(base))
    return [base.replace(seed=s) for s in seeds] + [base.replace(seed=s, **arm) for s in seeds]


def _arm_of(base: CIFARConfig) -> dict:
    """What a contrast's arms change beside their setting: they do not record the collapse ratios that their
    terminal-phase baseline records for ``cifar_terminal_phase`` (the contrasts do not read them; the ratios are
    computed from features already read, so every other record is the same with and without them)."""
    return dict(collapse=False) if base.collapse else {}



# cifar_terminal_phase (the regimes issue): the coarse task trained past 99% training accuracy and on, so that what
# happens after the fit (the paper's K6: fine information falls back toward H(coarse)) can be measured on a CPU.
# Fewer training images than quick's other notebooks (10000: a ResNet-18 x0.25 fits them in ~25 epochs, a
# pilot), no augmentation for the headline (it fits the training set, not augmented copies), dense measuring on
# 5000 test images (half the probe's cost; the claims' intervals carry the extra noise through the seeds); beside
# it an augmented arm and fewer training images. On 2 cores (quick) the side arms are one net each: the augmented
# arm is All-CNN (2x cheaper than ResNet-18), the sizes ResNet-18. Every run of the regime records the penultimate
# layer's neural-collapse ratios (``collapse``).
TERMINAL_PROFILES = {
    "smoke": dict(seeds=(0,), models=("allcnn",), n_train=None, n_test=None, sizes=(128,), size_model="allcnn",
                  augmented="allcnn", epochs=3, measure_epochs=(0, 1, 2, 3)),
    "quick": dict(seeds=(0, 1, 2), models=("resnet18", "allcnn"), n_train=10000, n_test=5000, sizes=(2000,),
                  size_model="resnet18", augmented="allcnn", epochs=40,
                  measure_epochs=(0, 1, 2, 4, 6, 8, 10, 12, 14, 16, 20, 25, 30, 35, 40)),
    # the full training set and the seed's 160 epochs (for a GPU)
    "paper": dict(seeds=(0, 1, 2), models=("resnet18", "allcnn"), n_train=None, n_test=None, sizes=(10000, 25000),
                  size_model="resnet18", augmented="resnet18", epochs=160, measure_epochs=()),
}


def terminal_base(profile: str, model: str, dataset: str = "cifar10", **more) -> CIFARConfig:
    """The terminal-phase headline run of ``model`` (seed 0): un-augmented, trained past the fit, densely measured,
    with the train-fitted diagnostic; ``more`` changes it (an arm)."""
    spec = profile_spec(TERMINAL_PROFILES, profile)
    changes = dict(augment=False, epochs=spec["epochs"], measure_epochs=spec["measure_epochs"], train_fitted=True,
                   collapse=True)
    config = base_config(profile, dataset, model, **changes)
    sizes = dict(n_train=spec["n_train"] or config.n_train, n_test=spec["n_test"] or config.n_test)
    return config.replace(**{**sizes, **more})


def terminal_configs(profile: str, seeds=None) -> list[CIFARConfig]:
    """Per seed: the headline runs (each of the profile's nets, un-augmented, with the train-fitted diagnostic),
    then the augmented arm (if the profile has one), then the training-set sizes of the sensitivity panel."""
    spec = profile_spec(TERMINAL_PROFILES, profile)
    seeds = spec["seeds"] if seeds is None else tuple(seeds)
    # one base per net: building it reads and hashes the data file
    bases = {m: terminal_base(profile, m) for m in {*spec["models"], spec["size_model"], spec["augmented"]} if m}
    headline = [bases[model].replace(seed=s) for model in spec["models"] for s in seeds]
    augmented = [bases[spec["augmented"]].replace(seed=s, augment=True, train_fitted=False)
                 for s in seeds] if spec["augmented"] else []
    sizes = [bases[spec["size_model"]].replace(seed=s, n_train=n, train_fitted=False) for n in spec["sizes"]
             for s in seeds]
    return headline + augmented + sizes


def notebook_configs(notebook: str, profile: str, seeds=None) -> list[CIFARConfig]:
    """Every run a CIFAR notebook needs (shared runs are equal configs, so the store computes them once)."""
    if notebook == "cifar10_resnet18_coarse":  # the headline net also carries the train-fitted diagnostic
        return coarse_configs(profile, "cifar10", "resnet18", seeds, train_fitted=True)
    if notebook == "cifar10_allcnn_coarse":
        # + every seed's first epochs in float32 without channels-last (the lr schedule does not depend on the
        # total epochs, so each twin is the same run up to there): does bf16 keep the result? One twin per seed, so
        # the check is a paired interval over seeds, not a single difference. A twin is measured only at its last
        # epoch, the one the check reads: a float32 checkpoint costs 4x a bf16 one, and measuring all of a twin's
        # first epochs put this notebook's measuring at 15% of its training (issue 20's bar: 10%)
        configs = coarse_configs(profile, "cifar10", "allcnn", seeds)
        spec, _ = _profile(profile, seeds)
        twin = spec["twin_epochs"]
        return configs + [c.replace(precision="float32", channels_last=False, epochs=twin, measure_epochs=(twin,))
                          for c in configs]
    if notebook == "cifar100_coarse":
        spec, _ = _profile(profile, seeds)
        return [c for model in spec["cifar100_models"] for c in coarse_configs(profile, "cifar100", model, seeds)]
    if notebook == "cifar_lr_batch":
        return lr_batch_configs(profile, seeds=seeds)
    if notebook == "cifar_initialization":
        return initialization_configs(profile, seeds=seeds)
    if notebook == "cifar_terminal_phase":
        return terminal_configs(profile, seeds=seeds)
    raise ValueError(f"unknown CIFAR notebook {notebook!r}; one of {NOTEBOOKS}")


NOTEBOOKS = ("cifar10_resnet18_coarse", "cifar10_allcnn_coarse", "cifar100_coarse", "cifar_lr_batch",
             "cifar_initialization", "cifar_terminal_phase")
