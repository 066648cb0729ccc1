"""Goldfeld et al. (2019), MNIST CNNs (deterministic, noisy and dropout) trained with Adam: clustering of every hidden
layer's representation, measured by the mean within- and between-class cosine similarity."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from ..engine.phases import epoch_loop
from ..engine.runs import stored_runs
from ..engine.state import load_state, restore_training, save_state, training_state
from ..models.noisy import NoisyCNN
from ..store import Store
from ..tasks.images import DataError, load_images
from .checks import require_positive

MNIST_EXPERIMENT = "mnist_cnn"

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
        require_positive(self, "n_train", "n_val", "epochs", "batch_size", "per_class", "matrix_per_class")
        require_positive(self, "lr", integer=False)
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
        rows, mats, start = state["rows"], state["mats"], state["epoch"]
    train_loss = {0: float("nan")}  # the mean minibatch loss of each epoch, by the epoch it ends at

    def measure(epoch: int) -> None:
        model.eval()
        with torch.no_grad():
            logits = torch.cat([model(x_val[i:i + 1000]) for i in range(0, len(x_val), 1000)])
            reps = model.representations(x_val[probe])
        val_error = float((logits.argmax(1) != y_val).double().mean())
        for name, z in reps.items():
            cos = _cosine(z)
            rows.append(dict(variant=config.variant, seed=config.seed, epoch=epoch, layer=name,
                             train_loss=train_loss[epoch], val_error=val_error,
                             within=float(cos[same & off].mean()), between=float(cos[~same].mean())))
            if epoch in matrix_epochs:
                m = cos[in_matrix][:, in_matrix].numpy()
                i, j = np.triu_indices(len(in_matrix))
                mats.append(pd.DataFrame(dict(epoch=epoch, layer=name, i=i, j=j, cos=m[i, j])))
        model.train()

    def train_epoch(epoch: int) -> None:
        perm = torch.randperm(len(y_tr), generator=gen)
        total = 0.0
        for i in range(0, len(perm), config.batch_size):
            idx = perm[i:i + config.batch_size]
            loss = F.cross_entropy(model(x_tr[idx], gen), y_tr[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(idx)
        train_loss[epoch + 1] = total / len(perm)

    def save(epoch: int) -> None:
        if epoch > 0:  # epoch 0 is measured again rather than saved
            save_state(state_path, training_state(model, optimizer, gen, torch_rng=torch.get_rng_state(), rows=rows,
                                                  mats=mats, epoch=epoch))

    epoch_loop(config.epochs, range(config.epochs + 1), train_epoch, measure, None if state_path is None else save,
               start, resumed=state is not None, progress=progress, desc=f"MNIST {config.variant}")
    return pd.DataFrame(rows), {"matrices": pd.concat(mats, ignore_index=True)}


def mnist_runs(configs, store: Store | None = None, progress: bool = True, jobs: int = 1) -> pd.DataFrame:
    return stored_runs(MNIST_EXPERIMENT, run_mnist, configs, store, progress, jobs)

