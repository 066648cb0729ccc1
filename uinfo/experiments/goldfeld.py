"""Goldfeld et al. (2019), "Estimating Information Flow in Deep Neural Networks": the single tanh neuron, the
12-bit SZT network (I(X;T_l) by sample propagation, binning, usable information) and MNIST CNNs (clustering by
cosine similarity). Results in nats."""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from ..estimators.shannon import (binned_entropy, gaussian_entropy, mixture_information, sp_fresh_information,
                                  sp_mutual_information)
from ..estimators.usable import cross_fitted_usable_information_batch
from ..models.noisy import NOISY_ACTIVATIONS, NoisyCNN, NoisyMLPStack
from ..store import Store
from ..tasks.images import DataError, load_images
from .runs import load_state, restore_training, save_state, stored_runs, training_state

NEURON_EXPERIMENT, SZT_EXPERIMENT, MNIST_EXPERIMENT = "single_neuron", "szt", "mnist_cnn"
LN2 = math.log(2)


def log_epochs(epochs: int, n: int) -> list[int]:
    """Epoch 0 and the unique rounded values of n log-spaced epochs from 1 to ``epochs`` (the authors' schedule:
    n = 100 up to 9999 gives 84 epochs)."""
    return [0] + sorted({int(round(e)) for e in np.logspace(0, math.log10(epochs), n)})


def _positive(config, *names, integer: bool = True) -> None:
    for name in names:
        v = getattr(config, name)
        if not ((isinstance(v, int) if integer else isinstance(v, (int, float))) and v > 0):
            raise ValueError(f"{name} must be a positive {'integer' if integer else 'number'}, got {v!r}")


# ---------------------------------------------------------------------------------------------------------------
# the single tanh neuron: T = tanh(w X + b) + Z

@dataclass(frozen=True)
class NeuronConfig:
    inputs: tuple = (-3.0, -1.0, 1.0)
    labels: tuple = (-1, -1, 1)           # {-3, -1} -> -1, {1} -> +1 (spec 3, [MEM low]: a notebook parameter)
    beta: float = 0.005
    loss: str = "squared"                 # squared error on +-1 targets, or "cross_entropy" on p = (1 + T) / 2
    lr: float = 0.1
    epochs: int = 100000                  # full-batch gradient steps
    n_checkpoints: int = 80
    w0: float = 0.001
    b0: float = 0.0
    seed: int = 0
    n_mc: int = 2000                      # Monte Carlo draws per centre for the SP estimate (3 centres)
    bin_width: float = 0.05               # binning of the deterministic neuron tanh(wX + b), B = 10 beta

    def __post_init__(self):
        if len(self.inputs) != len(self.labels) or len(self.inputs) < 2:
            raise ValueError(f"inputs and labels must have the same length >= 2, got {self.inputs} / {self.labels}")
        if any(y not in (-1, 1) for y in self.labels):
            raise ValueError(f"labels must be -1 or +1, got {self.labels}")
        if self.loss not in ("squared", "cross_entropy"):
            raise ValueError(f"loss must be 'squared' or 'cross_entropy', got {self.loss!r}")
        _positive(self, "epochs", "n_checkpoints", "n_mc")
        _positive(self, "beta", "lr", "bin_width", integer=False)


def constellation_mi(points, beta: float, grid: int = 40001) -> float:
    """I(X;T) in nats for X uniform over the constellation ``points`` (1-D) and T = X' + N(0, beta^2): the
    entropy of the 1-D Gaussian mixture by quadrature (trapezoid rule on +-10 beta around the points; exact to
    ~1e-6 here) minus h(Z)."""
    c = np.sort(np.asarray(points, dtype=np.float64))
    # integrate bump by bump: merged points share one window, distant ones get their own
    windows, lo, hi = [], c[0] - 10 * beta, c[0] + 10 * beta
    for x in c[1:]:
        if x - 10 * beta <= hi:
            hi = x + 10 * beta
        else:
            windows.append((lo, hi))
            lo, hi = x - 10 * beta, x + 10 * beta
    windows.append((lo, hi))
    h = 0.0
    for lo, hi in windows:
        t = np.linspace(lo, hi, grid)
        g = np.exp(-(t[:, None] - c[None, :]) ** 2 / (2 * beta ** 2)).mean(1) / (beta * math.sqrt(2 * math.pi))
        f = -g * np.log(np.maximum(g, 1e-300))
        h += float(np.sum((f[1:] + f[:-1]) / 2) * (t[1] - t[0]))
    return h - gaussian_entropy(1, beta)


def run_single_neuron(config: NeuronConfig, progress: bool = False, state_path=None) -> pd.DataFrame:
    """Full-batch gradient descent on the noisy neuron (noise on while training, as in the authors' code); at
    log-spaced epochs: w, b, the noiseless loss, I(X;T) exactly (quadrature), by the SP estimator, and the
    binned entropy of the deterministic neuron."""
    x, y = np.asarray(config.inputs, float), np.asarray(config.labels, float)
    rng = np.random.default_rng(config.seed)
    w, b = config.w0, config.b0
    checkpoints = set(log_epochs(config.epochs, config.n_checkpoints))
    rows = []
    for epoch in tqdm(range(config.epochs + 1), desc="single neuron", disable=not progress, mininterval=1):
        if epoch in checkpoints:
            s = np.tanh(w * x + b)
            sp = sp_mutual_information(s[:, None, None], config.beta, first_layer=True, n_mc=config.n_mc,
                                       seed=[config.seed, epoch])
            rows.append(dict(seed=config.seed, epoch=epoch, w=w, b=b, loss=float(np.mean((s - y) ** 2)),
                             mi_exact=constellation_mi(s, config.beta), mi_sp=sp.mi, se_sp=sp.se,
                             binned=binned_entropy(s, config.bin_width),
                             **{f"t{i}": v for i, v in enumerate(s)}))
        if epoch == config.epochs:
            break
        u = w * x + b
        th = np.tanh(u)
        t = th + config.beta * rng.standard_normal(len(x))
        if config.loss == "squared":
            dt = 2 * (t - y) / len(x)
        else:
            p, target = np.clip((1 + t) / 2, 1e-6, 1 - 1e-6), (1 + y) / 2
            dt = (-(target / p) + (1 - target) / (1 - p)) / 2 / len(x)
        du = dt * (1 - th ** 2)
        w, b = w - config.lr * float((du * x).sum()), b - config.lr * float(du.sum())
    return pd.DataFrame(rows)


def single_neuron_runs(configs, store: Store | None = None, progress: bool = True) -> pd.DataFrame:
    return stored_runs(NEURON_EXPERIMENT, run_single_neuron, configs, store, progress)


# ---------------------------------------------------------------------------------------------------------------
# the 12-bit SZT network: 12-10-7-5-4-3-2, noisy hidden layers, Adam

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
        _positive(self, "batch_size", "epochs", "n_checkpoints", "replicas", "n_mc_pooled")
        _positive(self, "lr", integer=False)
        if self.max_draws is not None and not (isinstance(self.max_draws, int) and self.max_draws >= 2):
            raise ValueError(f"max_draws must be None or an integer >= 2, got {self.max_draws!r}")
        if self.own_replicas is not None:
            _positive(self, "own_replicas")
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
    bar = tqdm(total=config.epochs, initial=start, desc=f"SZT {config.activation} beta={config.beta}",
               disable=not progress, mininterval=2)
    for epoch in range(start, config.epochs + 1):
        if epoch in checkpoints and not (state is not None and epoch == start):
            rows += _szt_measure(model, config, epoch, data)
            if epoch in snap_at:
                with torch.no_grad():
                    model.eval()
                    last = model.hidden_states(data["x_all"])[-2][0].numpy()
                    model.train()
                snaps.append(pd.DataFrame({"epoch": epoch, "input": np.arange(len(last)),
                                           "label": data["y_all"].numpy(),
                                           **{f"t{j + 1}": last[:, j] for j in range(last.shape[1])}}))
            if epoch in weights_at:
                weights.append(_weights_table(model, epoch))
            if state_path is not None and epoch < config.epochs:
                save_state(state_path, training_state(model, optimizer, gen, rows=rows, snaps=snaps, weights=weights,
                                                      epoch=epoch))
        if epoch == config.epochs:
            break
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
        bar.update(1)
    bar.close()
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
    exact value (``linear_reference``)."""
    szt: SZTConfig = SZTConfig()
    epochs: tuple = (30, 886, 10000)
    plain: tuple = (8, 32, 128, 1000)
    pools: tuple = (8, 16, 32)
    own_replicas: int = 1000
    draws: int = 512

    def __post_init__(self):
        if self.szt.beta <= 0:
            raise ValueError("the replica panel needs a noisy net (beta > 0)")
        if not self.epochs or not self.plain or any(not (isinstance(r, int) and r >= 1)
                                                    for r in (*self.plain, *self.pools)):
            raise ValueError(f"epochs and plain need at least one entry, every replica count a positive integer; got "
                             f"epochs={self.epochs!r}, plain={self.plain!r}, pools={self.pools!r}")
        _positive(self, "own_replicas", "draws")


def run_replica_panel(config: ReplicaPanelConfig, progress: bool = False, state_path=None):
    """Records: one row per (epoch, layer, estimator, replicas) with I(X;T_l), I(T_l;Y), their standard errors
    and the seconds the estimate took; extras: the member's weights at the panel's checkpoints."""
    import time

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

        def add(estimator, replicas, layer, est, seconds):
            rows.append(dict(seed=seed, epoch=int(epoch), layer=layer + 1, estimator=estimator, replicas=replicas,
                             own_replicas=config.own_replicas if estimator == "fresh" else replicas,
                             mi=est["mi"], se=est["se"], mi_y=est["mi_y"], se_y=est["se_y"], seconds=seconds))

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
    records = pd.DataFrame(rows)
    records.insert(0, "activation", szt.activation)
    records.insert(1, "beta", szt.beta)
    return records, {"weights": extras["weights"]}


def replica_panels(configs, store: Store | None = None, progress: bool = True, jobs: int = 1) -> pd.DataFrame:
    return stored_runs(REPLICA_EXPERIMENT, run_replica_panel, configs, store, progress, jobs)


# ---------------------------------------------------------------------------------------------------------------
# MNIST CNNs: deterministic, noisy and dropout; clustering by cosine similarity

MNIST_VARIANTS = ("deterministic", "noisy", "dropout")


@dataclass(frozen=True)
class MNISTConfig:
    variant: str = "deterministic"
    beta: float = 0.1                     # noise std of the noisy variant
    dropout: float = 0.5                  # dropout of the dropout variant (on the fully connected hidden layer)
    n_train: int = 55000
    n_val: int = 5000                     # validation = the last n_val of the 60000 training images
    epochs: int = 50
    lr: float = 1e-3
    batch_size: int = 128
    seed: int = 0
    per_class: int = 50                   # validation images per class for the similarity statistics
    matrix_per_class: int = 10            # of which the first ones are kept as full similarity matrices
    matrix_epochs: tuple = (0, 1, 5, 50)
    data_sha256: str = ""

    def __post_init__(self):
        if self.variant not in MNIST_VARIANTS:
            raise ValueError(f"variant must be one of {MNIST_VARIANTS}, got {self.variant!r}")
        _positive(self, "n_train", "n_val", "epochs", "batch_size", "per_class", "matrix_per_class")
        _positive(self, "lr", integer=False)
        if self.n_train + self.n_val > 60000:
            raise ValueError(f"n_train + n_val must be at most MNIST's 60000 training images, got "
                             f"{self.n_train} + {self.n_val}")
        if not (0 <= self.dropout < 1 and self.beta >= 0) or self.matrix_per_class > self.per_class:
            raise ValueError("dropout must be in [0, 1), beta >= 0, matrix_per_class <= per_class")


def _cosine(z: torch.Tensor) -> torch.Tensor:
    z = z.flatten(1).double()
    z = z / z.norm(dim=1, keepdim=True).clamp_min(1e-12)
    return z @ z.T


def run_mnist(config: MNISTConfig, progress: bool = False, state_path=None):
    """Adam on the CNN; after every epoch: validation error, and the mean within- and between-class cosine
    similarity of every hidden layer's (eval-mode) representation on a class-balanced validation subset.
    Returns (records, {"matrices": similarity matrices at ``matrix_epochs``, images sorted by class})."""
    data = load_images("mnist", n_train=60000, verbose=False)
    if config.data_sha256 and data.source["sha256"] != config.data_sha256:
        raise DataError(f"{data.source['path']} is not the file this config was made for (sha256 differs)")
    x = data.x_train.float().div(255).sub(0.1307).div(0.3081).unsqueeze(1)
    y = data.y_train
    x_tr, y_tr = x[:config.n_train], y[:config.n_train]
    x_val, y_val = x[-config.n_val:], y[-config.n_val:]
    probe = torch.cat([torch.nonzero(y_val == c)[:config.per_class, 0] for c in range(10)])
    if len(probe) < 10 * config.per_class:
        raise ValueError(f"the validation split holds fewer than {config.per_class} images of some class")
    torch.manual_seed(config.seed)
    model = NoisyCNN(beta=config.beta if config.variant == "noisy" else 0.0,
                     dropout=config.dropout if config.variant == "dropout" else 0.0)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    gen = torch.Generator().manual_seed(config.seed)
    in_matrix = torch.cat([torch.arange(c * config.per_class, c * config.per_class + config.matrix_per_class)
                           for c in range(10)])
    matrix_epochs = set(config.matrix_epochs) | ({config.epochs} if config.epochs < max(config.matrix_epochs) else set())
    same = (y_val[probe][:, None] == y_val[probe][None, :])
    off = ~torch.eye(len(probe), dtype=torch.bool)
    rows, mats, start = [], [], 0
    state = load_state(state_path)
    if state is not None:
        restore_training(state, model, optimizer, gen)
        torch.set_rng_state(state["torch_rng"])
        rows, mats, start = state["rows"], state["mats"], state["epoch"] + 1

    def measure(epoch: int, train_loss: float) -> None:
        model.eval()
        with torch.no_grad():
            logits = torch.cat([model(x_val[i:i + 1000]) for i in range(0, len(x_val), 1000)])
            reps = model.representations(x_val[probe])
        val_error = float((logits.argmax(1) != y_val).double().mean())
        for name, z in reps.items():
            cos = _cosine(z)
            rows.append(dict(variant=config.variant, seed=config.seed, epoch=epoch, layer=name,
                             train_loss=train_loss, val_error=val_error,
                             within=float(cos[same & off].mean()), between=float(cos[~same].mean())))
            if epoch in matrix_epochs:
                m = cos[in_matrix][:, in_matrix].numpy()
                i, j = np.triu_indices(len(in_matrix))
                mats.append(pd.DataFrame(dict(epoch=epoch, layer=name, i=i, j=j, cos=m[i, j])))
        model.train()

    if start == 0:
        measure(0, float("nan"))
    for epoch in tqdm(range(max(start, 1), config.epochs + 1), desc=f"MNIST {config.variant}", disable=not progress):
        perm = torch.randperm(len(y_tr), generator=gen)
        total = 0.0
        for i in range(0, len(perm), config.batch_size):
            idx = perm[i:i + config.batch_size]
            loss = F.cross_entropy(model(x_tr[idx], gen), y_tr[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(idx)
        measure(epoch, total / len(perm))
        if state_path is not None and epoch < config.epochs:
            save_state(state_path, training_state(model, optimizer, gen, torch_rng=torch.get_rng_state(), rows=rows,
                                                  mats=mats, epoch=epoch))
    return pd.DataFrame(rows), {"matrices": pd.concat(mats, ignore_index=True)}


def mnist_runs(configs, store: Store | None = None, progress: bool = True, jobs: int = 1) -> pd.DataFrame:
    return stored_runs(MNIST_EXPERIMENT, run_mnist, configs, store, progress, jobs)


# ---------------------------------------------------------------------------------------------------------------
# profiles

def _check_profile(profile: str, profiles: dict) -> None:
    if profile not in profiles:
        raise ValueError(f"profile must be one of {sorted(profiles)}, got {profile!r}")


# ---------------------------------------------------------------------------------------------------------------
# estimator validation: mixtures whose entropy is known

VALIDATION_PROFILES = {
    # mc_repeats: independent Monte Carlo repeats on one sample set, enough for their spread to check the reported
    # s.e. (with 16 repeats an sd is known to about 18%)
    "smoke": dict(dims=(2,), ns=(10, 100, 1000), repeats=3, n_mcs=(2, 8, 32), n_for_mc=200, mc_repeats=4),
    "quick": dict(dims=(2, 5), ns=(10, 100, 1000, 10000, 30000), repeats=4, n_mcs=(2, 8, 32, 128), n_for_mc=500,
                  mc_repeats=16),
    "paper": dict(dims=(2, 5, 10), ns=(10, 100, 1000, 10000, 100000), repeats=5, n_mcs=(2, 8, 32, 128, 512),
                  n_for_mc=10000, mc_repeats=20),
}


def corner_mixture_truth(d: int, spread: float, beta: float) -> float:
    """h(P * N(0, beta^2 I)) in nats for P = the equal mixture of N(c, spread^2 I) over the 2^d corners of
    [-1, 1]^d: itself a Gaussian mixture with std sqrt(spread^2 + beta^2), whose entropy is computed with many
    draws (its error is returned negligible: well separated corners make the averaged term almost constant)."""
    corners = np.array(np.meshgrid(*[[-1.0, 1.0]] * d)).reshape(d, -1).T
    from ..estimators.shannon import gaussian_mixture_entropy

    return gaussian_mixture_entropy(corners, math.hypot(spread, beta), n_mc=2000, seed=123).nats


def estimator_validation(profile: str, spread: float = 0.1, beta: float = 0.1, progress: bool = True) -> pd.DataFrame:
    """The SP estimate h(P_n * phi_beta) from n samples of P (the corner mixture) against the truth, for several
    n (bias from below: E h_SP <= h) and, at one n, several Monte Carlo draws per centre (its standard error
    against the spread of repeated estimates). Seconds to a minute; not stored."""
    from ..estimators.shannon import gaussian_mixture_entropy

    _check_profile(profile, VALIDATION_PROFILES)
    p = VALIDATION_PROFILES[profile]
    rows = []
    jobs = [(d, n, 8, rep, "n") for d in p["dims"] for n in p["ns"] for rep in range(p["repeats"])]
    jobs += [(d, p["n_for_mc"], k, rep, "n_mc") for d in p["dims"] for k in p["n_mcs"] for rep in range(p["mc_repeats"])]
    truth = {d: corner_mixture_truth(d, spread, beta) for d in p["dims"]}
    for d, n, n_mc, rep, sweep in tqdm(jobs, desc="SP estimator validation", disable=not progress):
        # the n sweep draws new samples every repeat (estimation + Monte Carlo error); the n_mc sweep keeps one
        # sample set and repeats only the Monte Carlo draws (the spread the standard error must predict)
        rng = np.random.default_rng([d, n] + ([n_mc, rep] if sweep == "n" else []))
        corners = rng.choice([-1.0, 1.0], size=(n, d))
        samples = corners + spread * rng.standard_normal((n, d))
        capped = sweep == "n" and n * n_mc > 20000
        est = gaussian_mixture_entropy(samples, beta, n_mc=n_mc, seed=[d, n, n_mc, rep, 1],
                                       max_draws=20000 if capped else None)
        rows.append(dict(sweep=sweep, d=d, n=n, n_mc=n_mc, repeat=rep, truth=truth[d], estimate=est.nats, se=est.se,
                         draws=est.n_draws, error=est.nats - truth[d]))
    return pd.DataFrame(rows)
