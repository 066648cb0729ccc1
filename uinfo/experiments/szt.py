"""Goldfeld et al. (2019), the 12-bit SZT network 12-10-7-5-4-3-2 with noisy hidden layers, trained with Adam:
I(X;T_l) and I(T_l;Y) by sample propagation, binning of the noiseless layers, usable information, the exact
reference of the linear net, and the convergence of the estimates in noise replicas. Results in nats."""
from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from ..engine.phases import epoch_loop
from ..engine.runs import stored_runs
from ..engine.state import load_state, restore_training, save_state, training_state
from ..engine.training import log_epochs
from ..estimators.shannon import (DenseCentres, binned_entropy, gaussian_entropy, mixture_information,
                                  sp_fresh_information, sp_mutual_information)
from ..estimators.usable import cross_fitted_usable_information_batch
from ..models.noisy import NOISY_ACTIVATIONS, NoisyMLPStack
from ..store import Store
from ..tasks.images import DataError, load_images
from .checks import require_positive

SZT_EXPERIMENT, REPLICA_EXPERIMENT = "szt", "szt_replicas"
LN2 = math.log(2)


@dataclass(frozen=True)
class SZTConfig:
    activation: str = "tanh"
    beta: float = 0.005                   # noise std after every hidden activation (0: deterministic twin)
    hidden: tuple = (10, 7, 5, 4, 3)
    lr: float = 4e-4
    batch_size: int = 256
    epochs: int = 10000
    n_checkpoints: int = 100              # log-spaced, rounded, unique (100 -> 84 up to 9999, as the authors)
    orth_alpha: float = 0.0               # Parseval retraction after every step (0: off)
    seeds: tuple = (0, 1, 2)              # members trained side by side (one batched computation)
    replicas: int = 8                     # noise draws per input for the SP samples (authors: 1000)
    own_replicas: int | None = None       # fresh noise draws of each drawn input for its own conditional
    #                                       (sp_fresh_information); None: the plain SP estimate from ``replicas``
    max_draws: int | None = 2048          # Monte Carlo draws from each pooled mixture (None: n_mc_pooled per centre);
    n_mc_pooled: int = 2                  # the same draws give h(T_l), I(X;T_l) and I(T_l;Y) (mixture_information)
    bin_widths: tuple = (0.005, 0.05, 2 / 30)
    snapshot_epochs: tuple = (11, 35, 356, 7389)  # the last hidden layer of member 0 is kept at the nearest epochs
    weight_epochs: tuple = ()             # every member's weights are kept at the nearest checkpoints ("weights")
    usable: bool = True                   # I_u(T_l; Y) with a cross-fitted linear decoder
    data_sha256: str = ""                 # the szt.npz the run reads (part of the store key)

    def __post_init__(self):
        if self.activation not in NOISY_ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(NOISY_ACTIVATIONS)}, got {self.activation!r}")
        if not (isinstance(self.beta, (int, float)) and self.beta >= 0):
            raise ValueError(f"beta must be >= 0, got {self.beta!r}")
        if not self.seeds or any(not isinstance(s, int) or s < 0 for s in self.seeds):
            raise ValueError(f"seeds must be a non-empty tuple of non-negative integers, got {self.seeds!r}")
        require_positive(self, "batch_size", "epochs", "n_checkpoints", "replicas", "n_mc_pooled")
        require_positive(self, "lr", integer=False)
        if self.max_draws is not None and not (isinstance(self.max_draws, int) and self.max_draws >= 2):
            raise ValueError(f"max_draws must be None or an integer >= 2, got {self.max_draws!r}")
        if self.own_replicas is not None:
            require_positive(self, "own_replicas")
            if self.max_draws is None:
                raise ValueError("own_replicas needs max_draws (the number of drawn inputs)")
        if self.orth_alpha < 0 or any(not w > 0 for w in self.bin_widths):
            raise ValueError("orth_alpha must be >= 0 and every bin width > 0")

    def replace(self, **changes) -> "SZTConfig":
        return dataclasses.replace(self, **changes)


def szt_data(config: SZTConfig | None = None, data_dir=None):
    """SZT train/test tensors and the source; the file must be the one the config was made for."""
    data = load_images("szt", data_dir=data_dir, verbose=False)
    if config is not None and config.data_sha256 and data.source["sha256"] != config.data_sha256:
        raise DataError(f"{data.source['path']} has sha256 {data.source['sha256'][:12]}..., not the "
                        f"{config.data_sha256[:12]}... this config was made for; rebuild the configs from the "
                        "current file (the notebooks do) or restore the original file")
    return data


LINEAR_REFERENCE_DRAWS = 2  # per input, stratified: the exact linear reference's Monte Carlo error is then about a third of
# the SP estimate's at quick (s.e. <= 0.015 nats against 0.03-0.06)


def linear_reference(model: NoisyMLPStack, k: int, means: list, labels: np.ndarray, rng) -> list[dict]:
    """The exact I(X;T_l) and I(T_l;Y) of member ``k`` of a linear noisy net, per hidden layer: T_l given X = x is
    Gaussian, N(mu_l(x), C_l) with mu_l the noiseless layer (``means[l]``, inputs x features) and
    C_1 = beta^2 I, C_l = W_l' C_{l-1} W_l + beta^2 I. Whitened by C_l, T_l is a mixture of unit Gaussians, one per
    input, whose divergences are estimated with every log-density exact (``mixture_information``): no noise
    replicas, the only error the Monte Carlo error of LINEAR_REFERENCE_DRAWS draws per input (stratified)."""
    beta = model.beta
    cov, out = None, []
    for layer, w in enumerate(list(model.weights)[:-1]):
        w = w[k].detach().double().numpy()
        d = w.shape[1]
        cov = beta ** 2 * np.eye(d) if cov is None else w.T @ cov @ w + beta ** 2 * np.eye(d)
        white = np.linalg.solve(np.linalg.cholesky(cov), np.asarray(means[layer], dtype=np.float64).T).T
        _, (i_x, i_y) = mixture_information(white, 1.0, [np.arange(len(white)), labels], LINEAR_REFERENCE_DRAWS, rng)
        out.append(dict(mi_exact=i_x.nats, se_exact=i_x.se, mi_y_exact=i_y.nats, se_y_exact=i_y.se))
    return out


def _szt_measure(model: NoisyMLPStack, config: SZTConfig, epoch: int, data: dict) -> list[dict]:
    """Every member x hidden layer at one epoch: noiseless losses, SP I(X;T_l) and I(T_l;Y), binning of the
    noiseless layer, usable information of the noisy layer; for a linear net also the exact I(X;T_l) and
    I(T_l;Y) (``linear_reference``), the check of the SP estimate on the real network."""
    model.eval()
    rows = []
    with torch.no_grad():
        losses = {}
        for split in ("train", "test"):
            logits = model(data[f"x_{split}"])
            y = data[f"y_{split}"].expand(len(config.seeds), -1)
            losses[split] = (F.cross_entropy(logits.transpose(1, 2), y, reduction="none").mean(1),
                             (logits.argmax(-1) == y).double().mean(1))
        clean = model.hidden_states(data["x_all"])[:-1]  # noise off in eval mode: the deterministic S_l chain
    x_all, y_all = data["x_all"], data["y_all"].numpy()
    noisy = config.beta > 0
    est_rng = np.random.default_rng([epoch, 7])
    if noisy:
        gen = torch.Generator().manual_seed(10_000_019 * (epoch + 1))
        samples = model.presamples(x_all, config.replicas, gen)
        if config.own_replicas:  # the drawn inputs (shared by the members) and their fresh samples
            drawn = est_rng.integers(len(x_all), size=config.max_draws)
            own = model.presamples(x_all[np.unique(drawn)], config.own_replicas, gen)
    usable_sets = []
    for k, seed in enumerate(config.seeds):
        exact = (linear_reference(model, k, [c[k].double().numpy() for c in clean], y_all, est_rng)
                 if noisy and config.activation == "linear" else [{}] * len(config.hidden))
        for layer, width in enumerate(config.hidden):
            row = dict(seed=seed, epoch=epoch, layer=layer + 1, width=width,
                       train_loss=float(losses["train"][0][k]), test_loss=float(losses["test"][0][k]),
                       train_acc=float(losses["train"][1][k]), test_acc=float(losses["test"][1][k]),
                       h_z=gaussian_entropy(width, config.beta) if noisy else float("nan"))
            s_clean = clean[layer][k].double().numpy()
            for w in config.bin_widths:
                row[f"bin_{w:.4g}"] = binned_entropy(s_clean, w)
            if noisy:
                if config.own_replicas:
                    sp = sp_fresh_information(samples[k][layer], own[k][layer], drawn, config.beta,
                                              first_layer=layer == 0, labels=y_all, seed=est_rng)
                else:
                    sp = sp_mutual_information(samples[k][layer], config.beta, first_layer=layer == 0,
                                               n_mc=config.n_mc_pooled, seed=est_rng, max_draws=config.max_draws,
                                               labels=y_all)
                row.update(mi=sp.mi, h_t=sp.h_t, h_t_given_x=sp.h_t_given_x, se=sp.se, mi_y=sp.mi_y,
                           h_t_given_y=sp.h_t_given_y, se_y=sp.se_y, **exact[layer])
                t = samples[k][layer][:, 0] + config.beta * est_rng.standard_normal(samples[k][layer][:, 0].shape)
            else:
                t = s_clean
            usable_sets.append((torch.as_tensor(t, dtype=torch.float32), data["y_all"]))
            rows.append(row)
    if config.usable:
        for row, u in zip(rows, cross_fitted_usable_information_batch(usable_sets, "linear")):
            row["iu"] = u.bits * LN2  # nats, like every Shannon quantity here
    model.train()
    return rows


def run_szt(config: SZTConfig, progress: bool = False, state_path=None):
    """Train the members side by side with Adam (noise on in training), measuring at log-spaced epochs. Returns
    (records, {"snapshots": last hidden layer of member 0 for all 4096 inputs at the snapshot epochs}). With
    ``state_path`` the run saves its state at every checkpoint and continues from it when started again."""
    data_set = szt_data(config)
    to_x = lambda a: a.float()  # noqa: E731  (0/1 patterns fed as floats, as the authors)
    data = dict(x_train=to_x(data_set.x_train), y_train=data_set.y_train, x_test=to_x(data_set.x_test),
                y_test=data_set.y_test)
    data["x_all"] = torch.cat([data["x_train"], data["x_test"]])
    data["y_all"] = torch.cat([data["y_train"], data["y_test"]])
    k, n = len(config.seeds), len(data["y_train"])
    model = NoisyMLPStack(config.seeds, 12, config.hidden, 2, config.activation, config.beta)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    gen = torch.Generator().manual_seed(int(sum(s * 7919 ** i for i, s in enumerate(config.seeds))) % 2 ** 62)
    checkpoints = log_epochs(config.epochs, config.n_checkpoints)
    snap_at = {min(checkpoints, key=lambda c: abs(c - e)) for e in config.snapshot_epochs}
    weights_at = {min(checkpoints, key=lambda c: abs(c - e)) for e in config.weight_epochs}
    rows, snaps, weights, start = [], [], [], 0
    state = load_state(state_path)
    if state is not None:
        restore_training(state, model, optimizer, gen)
        rows, snaps, weights, start = state["rows"], state["snaps"], state.get("weights", []), state["epoch"]

    def measure(epoch: int) -> None:
        rows.extend(_szt_measure(model, config, epoch, data))
        if epoch in snap_at:
            with torch.no_grad():
                model.eval()
                last = model.hidden_states(data["x_all"])[-2][0].numpy()
                model.train()
            snaps.append(pd.DataFrame({"epoch": epoch, "input": np.arange(len(last)), "label": data["y_all"].numpy(),
                                       **{f"t{j + 1}": last[:, j] for j in range(last.shape[1])}}))
        if epoch in weights_at:
            weights.append(_weights_table(model, epoch))

    def save(epoch: int) -> None:
        save_state(state_path, training_state(model, optimizer, gen, rows=rows, snaps=snaps, weights=weights,
                                              epoch=epoch))

    def train_epoch(epoch: int) -> None:
        perm = torch.argsort(torch.rand(k, n, generator=gen), dim=1)
        for i in range(0, n, config.batch_size):
            idx = perm[:, i:i + config.batch_size]
            logits = model(data["x_train"][idx], gen)
            # the members' mean losses summed: separate gradients, Adam is elementwise
            loss = F.cross_entropy(logits.transpose(1, 2), data["y_train"][idx]) * k
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if config.orth_alpha:
                model.orthonormal_step(config.orth_alpha)

    epoch_loop(config.epochs, checkpoints, train_epoch, measure, None if state_path is None else save, start,
               resumed=state is not None, progress=progress, desc=f"SZT {config.activation} beta={config.beta}",
               mininterval=2)
    records = pd.DataFrame(rows)
    records.insert(0, "activation", config.activation)
    records.insert(1, "beta", config.beta)
    records.insert(2, "orth_alpha", config.orth_alpha)
    return records, {"snapshots": pd.concat(snaps, ignore_index=True) if snaps else pd.DataFrame(),
                     "weights": pd.concat(weights, ignore_index=True) if weights else pd.DataFrame()}


def _weights_table(model: NoisyMLPStack, epoch: int) -> pd.DataFrame:
    """Every member's parameters at ``epoch``, one row per value (float32 printed exactly: ``szt_model`` reads
    them back bit for bit)."""
    parts = []
    for name, tensor in model.state_dict().items():
        for k, seed in enumerate(model.seeds):
            values = tensor[k].reshape(-1).numpy()
            parts.append(pd.DataFrame({"epoch": epoch, "seed": seed, "parameter": name,
                                       "index": np.arange(len(values)), "value": values.astype(np.float64)}))
    return pd.concat(parts, ignore_index=True)


def szt_model(config: SZTConfig, weights: pd.DataFrame, epoch: int, seed: int) -> NoisyMLPStack:
    """Member ``seed`` of a stored SZT run as a one-member net with its weights at ``epoch`` (one of the run's
    ``weight_epochs`` checkpoints, in its "weights" table), in eval mode."""
    table = weights[(weights.epoch == epoch) & (weights.seed == seed)]
    if table.empty:
        raise ValueError(f"no stored weights of seed {seed} at epoch {epoch}; stored: "
                         f"{sorted(set(zip(weights.epoch, weights.seed)))}")
    model = NoisyMLPStack((seed,), 12, config.hidden, 2, config.activation, config.beta)
    state = model.state_dict()
    for name, tensor in state.items():
        values = table[table.parameter == name].sort_values("index")["value"].to_numpy(np.float32)
        state[name] = torch.from_numpy(values).reshape(tensor.shape)
    model.load_state_dict(state)
    return model.eval()


def szt_runs(configs, store: Store | None = None, progress: bool = True, jobs: int = 1) -> pd.DataFrame:
    return stored_runs(SZT_EXPERIMENT, run_szt, configs, store, progress, jobs)


# ---------------------------------------------------------------------------------------------------------------
# convergence in noise replicas: one trained SZT member re-estimated with ever more replicas (issue 15)

REPLICA_EXPERIMENT = "szt_replicas"


@dataclass(frozen=True)
class ReplicaPanelConfig:
    """One member of an SZT run (``szt``, its first seed; trained here as the run trains) re-estimated from its
    weights at the checkpoints nearest ``epochs``: the plain SP estimate with each
    count of ``plain`` replicas per input, and ``sp_fresh_information`` with ``own_replicas`` fresh replicas of
    each drawn input and each count of ``pools`` for the rest, ``draws`` draws each; for a linear net also the
    exact value (``linear_reference``). Then on common draws: ``batches`` batches of ``batch_draws`` draws, each
    batch's inputs, own samples and noise shared by every pool and, in the first ``reference_batches``, by the
    reference pool of ``max(plain)`` replicas, so that each batch gives one paired difference per pool, in the
    hidden layers ``paired_layers`` (1-based: those the convergence claims read)."""
    szt: SZTConfig = SZTConfig()
    epochs: tuple = (30, 886, 10000)
    plain: tuple = (8, 32, 128, 1000)
    pools: tuple = (8, 16, 32)
    own_replicas: int = 1000
    draws: int = 512
    batches: int = 64
    batch_draws: int = 64
    reference_batches: int = 16
    paired_layers: tuple = (3, 4, 5)

    def __post_init__(self):
        if self.szt.beta <= 0:
            raise ValueError("the replica panel needs a noisy net (beta > 0)")
        if not self.epochs or not self.plain or any(not (isinstance(r, int) and r >= 1)
                                                    for r in (*self.plain, *self.pools)):
            raise ValueError(f"epochs and plain need at least one entry, every replica count a positive integer; got "
                             f"epochs={self.epochs!r}, plain={self.plain!r}, pools={self.pools!r}")
        require_positive(self, "own_replicas", "draws", "batches", "batch_draws", "reference_batches")
        if self.reference_batches > self.batches or self.batch_draws < 2:
            raise ValueError(f"reference_batches must be at most batches ({self.batches}) and batch_draws at least 2, "
                             f"got {self.reference_batches} and {self.batch_draws}")
        if not self.paired_layers or not set(self.paired_layers) <= set(range(1, len(self.szt.hidden) + 1)):
            raise ValueError(f"paired_layers must name hidden layers 1..{len(self.szt.hidden)}, got "
                             f"{self.paired_layers!r}")


def run_replica_panel(config: ReplicaPanelConfig, progress: bool = False, state_path=None):
    """Records: one row per (epoch, layer, estimator, replicas) with I(X;T_l), I(T_l;Y), their standard errors
    and the seconds the estimate took, and per batch of the common draws (estimator "paired", its ``batch``);
    extras: the member's weights at the panel's checkpoints."""
    seed = config.szt.seeds[0]
    # trained as the run trains; measured cheaply on the way (the panel re-estimates from the kept weights)
    szt = config.szt.replace(seeds=(seed,), weight_epochs=tuple(config.epochs), usable=False, replicas=1,
                             own_replicas=None, max_draws=64)
    _, extras = run_szt(szt, progress, state_path)
    data = szt_data(szt)
    x_all = torch.cat([data.x_train, data.x_test]).float()
    y_all = torch.cat([data.y_train, data.y_test]).numpy()
    rows = []
    for epoch in sorted(extras["weights"].epoch.unique()):
        model = szt_model(szt, extras["weights"], int(epoch), seed)
        rng = np.random.default_rng([int(epoch), 11])
        gen = torch.Generator().manual_seed(int(epoch) + 1)

        def add(estimator, replicas, layer, est, seconds, batch=-1):
            rows.append(dict(seed=seed, epoch=int(epoch), layer=layer + 1, estimator=estimator, replicas=replicas,
                             own_replicas=config.own_replicas if estimator in ("fresh", "paired") else replicas,
                             batch=batch, mi=est["mi"], se=est["se"], mi_y=est["mi_y"], se_y=est["se_y"],
                             seconds=seconds))

        if szt.activation == "linear":
            with torch.no_grad():
                clean = model.hidden_states(x_all)[:-1]
            for layer, e in enumerate(linear_reference(model, 0, [c[0].double().numpy() for c in clean], y_all, rng)):
                add("exact", 0, layer, dict(mi=e["mi_exact"], se=e["se_exact"], mi_y=e["mi_y_exact"],
                                            se_y=e["se_y_exact"]), float("nan"))
        for r in config.plain:
            samples = model.presamples(x_all, r, gen)[0]
            for layer, s in enumerate(samples):
                start = time.perf_counter()
                sp = sp_mutual_information(s, szt.beta, first_layer=layer == 0, n_mc=2, seed=rng,
                                           max_draws=config.draws, labels=y_all)
                add("plain", r, layer, vars(sp), time.perf_counter() - start)
        drawn = rng.integers(len(x_all), size=config.draws)
        own = model.presamples(x_all[np.unique(drawn)], config.own_replicas, gen)[0]
        for r in config.pools:
            samples = model.presamples(x_all, r, gen)[0]
            for layer, (s, o) in enumerate(zip(samples, own)):
                start = time.perf_counter()
                sp = sp_fresh_information(s, o, drawn, szt.beta, first_layer=layer == 0, labels=y_all, seed=rng)
                add("fresh", r, layer, vars(sp), time.perf_counter() - start)
        _paired_batches(config, model, x_all, y_all, szt.beta, rng, gen, int(epoch), add)
    records = pd.DataFrame(rows)
    records.insert(0, "activation", szt.activation)
    records.insert(1, "beta", szt.beta)
    return records, {"weights": extras["weights"]}


def _paired_batches(config: ReplicaPanelConfig, model, x_all, y_all, beta: float, rng, gen, epoch: int, add) -> None:
    """The panel's common draws at one checkpoint: per batch, drawn inputs and their own fresh samples, and one
    seed for the noise, shared by the fresh estimate with every pool (and, in the first ``reference_batches``,
    with the reference pool of ``max(plain)`` replicas per input). The pools differ only in the other inputs'
    share of the mixture, so a batch's difference between two pools carries little of the draws' own spread."""
    reference, layers = max(config.plain), sorted(layer - 1 for layer in config.paired_layers)
    pools = {r: model.presamples(x_all, r, gen)[0] for r in sorted({*config.pools, reference})}
    pools = {r: [samples[layer] for layer in layers] for r, samples in pools.items()}
    # each pool's centres prepared once for all its batches (DenseCentres: the same sums, streamed)
    prepared = {r: [DenseCentres(s.reshape(-1, s.shape[-1])) for s in samples] for r, samples in pools.items()}
    for b in range(config.batches):
        inputs = rng.integers(len(x_all), size=config.batch_draws)
        own = model.presamples(x_all[np.unique(inputs)], config.own_replicas, gen)[0]
        own = [own[layer] for layer in layers]
        if b == config.reference_batches and reference not in config.pools:
            del pools[reference], prepared[reference]  # the reference's batches are done: free its centres
        for r, samples in pools.items():
            for layer, s, o, centres in zip(layers, samples, own, prepared[r]):
                start = time.perf_counter()
                sp = sp_fresh_information(s, o, inputs, beta, first_layer=layer == 0, labels=y_all,
                                          seed=[epoch, 13, b], prepared=centres)
                add("paired", r, layer, vars(sp), time.perf_counter() - start, batch=b)


def replica_panels(configs, store: Store | None = None, progress: bool = True, jobs: int = 1) -> pd.DataFrame:
    return stored_runs(REPLICA_EXPERIMENT, run_replica_panel, configs, store, progress, jobs)

