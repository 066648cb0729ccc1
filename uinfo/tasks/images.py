"""CIFAR-10, CIFAR-100 and MNIST as tensors, from a data folder of arrays files or from torchvision.

Sources, in order:
  (b) ``<data_dir>/<name>.npz``: an arrays file in the format of ``../shared/data`` (keys ``x_train``, ``y_train``,
      ``x_test``, ``y_test``, uint8 images, int64 labels; CIFAR-100 also ``y_train_coarse``, ``y_test_coarse``), as
      on clusters without internet and in CI;
  (a) torchvision's data sets, downloaded (and md5-verified by torchvision) into ``<data_dir>/torchvision`` when
      the internet is there, then written to ``<data_dir>/<name>.npz`` so later runs read (b).
The data folder is ``data_dir`` if given, else ``$UINFO_DATA``, else ``<repo>/data``, else ``<repo>/../shared/data``
when that exists. Every problem is a `DataError` that names the file and says what to do.
"""
from __future__ import annotations

import hashlib
import os
import pickle
import tarfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..notebook import REPO_ROOT

DATASETS = ("cifar10", "cifar100", "mnist", "szt")
SHAPES = {"cifar10": (32, 32, 3), "cifar100": (32, 32, 3), "mnist": (28, 28), "szt": (12,)}
CLASSES = {"cifar10": 10, "cifar100": 100, "mnist": 10, "szt": 2}
# the 12-bit Shwartz-Ziv & Tishby set (all 4096 patterns, the authors' 80/20 split) is not in torchvision
SZT_SOURCE = ("the authors' datasets/IB_data.npz of github.com/kgreenewald/smoothMI, renamed szt.npz (keys x_train, "
              "y_train, x_test, y_test: uint8 0/1 patterns and int64 labels)")
# CIFAR-10 coarse splits: the default {0-4} vs {5-9}, or vehicles (airplane, automobile, ship, truck) vs animals
CIFAR10_SPLITS = {"halves": (0, 1, 2, 3, 4), "vehicles": (0, 1, 8, 9)}


class DataError(RuntimeError):
    """A data set cannot be provided as asked; the message names the file and the fix."""


@dataclass
class ImageData:
    """Train and test images (uint8, N x H x W [x C] as stored) and labels, with where they came from."""

    name: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    coarse_train: torch.Tensor | None = None
    coarse_test: torch.Tensor | None = None
    source: dict = field(default_factory=dict)


def data_folder(data_dir=None) -> Path:
    if data_dir is not None:
        return Path(data_dir)
    if os.environ.get("UINFO_DATA"):
        return Path(os.environ["UINFO_DATA"])
    local, shared = REPO_ROOT / "data", REPO_ROOT.parent / "shared" / "data"
    return shared if not local.exists() and shared.exists() else local


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 22), b""):
            h.update(block)
    return h.hexdigest()


def _read_arrays(path: Path, name: str) -> dict:
    fix = (f"delete or replace {path} (copy it again, or remove it so the data set is downloaded again where "
           "the internet is available)")
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
    except (zipfile.BadZipFile, EOFError, ValueError, OSError, KeyError) as err:
        raise DataError(f"{path} is corrupt or truncated ({type(err).__name__}: {err}); {fix}") from err
    need = ["x_train", "y_train", "x_test", "y_test"] + (["y_train_coarse", "y_test_coarse"] if name == "cifar100" else [])
    missing = [k for k in need if k not in arrays]
    if missing:
        raise DataError(f"{path} lacks the arrays {missing} (has {sorted(arrays)}); {fix}")
    for split in ("train", "test"):
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if x.dtype != np.uint8 or x.shape[1:] != SHAPES[name] or len(x) != len(y):
            raise DataError(f"{path}: x_{split} must be uint8 of shape (N, {', '.join(map(str, SHAPES[name]))}) "
                            f"with one label each; found {x.dtype} {x.shape} and {len(y)} labels; {fix}")
        if len(y) and (y.min() < 0 or y.max() >= CLASSES[name]):
            raise DataError(f"{path}: y_{split} must hold class indices 0..{CLASSES[name] - 1}; {fix}")
    return arrays


def _download(name: str, folder: Path) -> Path:
    """Download through torchvision (md5-checked) and write ``<folder>/<name>.npz``; returns its path."""
    from torchvision import datasets

    if name == "szt":
        raise DataError(f"no arrays file {folder / 'szt.npz'}; it cannot be downloaded through torchvision: put "
                        f"{SZT_SOURCE} there, or point the data folder at one (data_dir=... or UINFO_DATA=...)")
    root = folder / "torchvision"
    cls = {"cifar10": datasets.CIFAR10, "cifar100": datasets.CIFAR100, "mnist": datasets.MNIST}[name]
    try:
        train, test = cls(str(root), train=True, download=True), cls(str(root), train=False, download=True)
    except (OSError, RuntimeError, tarfile.TarError) as err:  # URLError is an OSError
        raise DataError(
            f"no arrays file {folder / (name + '.npz')} and downloading {name} through torchvision failed "
            f"({type(err).__name__}: {err}). Without internet, put an arrays file there (the format of "
            f"../shared/data, see its README), or point the data folder at one: data_dir=... or UINFO_DATA=...") from err
    arrays = {"x_train": np.asarray(train.data, dtype=np.uint8), "y_train": np.asarray(train.targets, np.int64),
              "x_test": np.asarray(test.data, dtype=np.uint8), "y_test": np.asarray(test.targets, np.int64)}
    if name == "cifar100":  # torchvision keeps only the fine labels; the official files hold both
        base = root / "cifar-100-python"
        for split, file in (("train", "train"), ("test", "test")):
            with open(base / file, "rb") as fh:  # the official (md5-verified) python pickle
                entry = pickle.load(fh, encoding="latin1")
            arrays[f"y_{split}_coarse"] = np.asarray(entry["coarse_labels"], np.int64)
    arrays["description"] = np.asarray(f"{name} downloaded by torchvision (full official sets)")
    out = folder / f"{name}.npz"
    tmp = folder / f".{name}.npz.tmp.npz"
    np.savez(tmp, **arrays)
    os.replace(tmp, out)
    return out


def load_images(name: str, n_train: int | None = None, n_test: int | None = None, data_dir=None,
                download: bool = True, verbose: bool = True) -> ImageData:
    """The first ``n_train`` training and ``n_test`` test images of a data set (all when None), as uint8 tensors.

    Asking for more images than the source holds is an error, never a silent shortfall. ``source`` records the
    file, its sha256 (part of the results store key), the numbers available and used."""
    if name not in DATASETS:
        raise ValueError(f"data set must be one of {DATASETS}, got {name!r}")
    for label, n in (("n_train", n_train), ("n_test", n_test)):
        if n is not None and not (isinstance(n, int) and n >= 1):
            raise ValueError(f"{label} must be a positive integer or None, got {n!r}")
    folder = data_folder(data_dir)
    path = folder / f"{name}.npz"
    how = "arrays file"
    if not path.exists():
        if not download:
            raise DataError(f"no arrays file {path}, and download=False; put {name}.npz there (the format of "
                            "../shared/data) or allow the download")
        folder.mkdir(parents=True, exist_ok=True)
        path, how = _download(name, folder), "torchvision download"
    arrays = _read_arrays(path, name)
    available = {"train": len(arrays["y_train"]), "test": len(arrays["y_test"])}
    for split, n in (("train", n_train), ("test", n_test)):
        if n is not None and n > available[split]:
            raise DataError(f"asked for {n} {split} images of {name} but {path} holds {available[split]} "
                            f"({str(arrays.get('description', '')).strip() or 'no description'}); ask for at most "
                            f"{available[split]}, or provide a larger arrays file")
    n_train, n_test = n_train or available["train"], n_test or available["test"]
    source = dict(dataset=name, source=how, path=str(path), sha256=file_sha256(path),
                  available_train=available["train"], available_test=available["test"],
                  used_train=n_train, used_test=n_test)
    if verbose:
        print(f"{name}: {n_train} of {available['train']} training and {n_test} of {available['test']} test images "
              f"from {path} ({how})")
    t = lambda a, n: torch.from_numpy(np.ascontiguousarray(a[:n]))  # noqa: E731
    coarse = name == "cifar100"
    return ImageData(name, t(arrays["x_train"], n_train), t(arrays["y_train"], n_train), t(arrays["x_test"], n_test),
                     t(arrays["y_test"], n_test), t(arrays["y_train_coarse"], n_train) if coarse else None,
                     t(arrays["y_test_coarse"], n_test) if coarse else None, source)


def coarse_labels(data: ImageData, split: str = "train", cifar10_split: str = "halves") -> torch.Tensor:
    """CIFAR-100: the official 20 superclasses. CIFAR-10: two classes, 0 for the classes in
    ``CIFAR10_SPLITS[cifar10_split]`` ({0-4} by default; "vehicles" for vehicles vs animals), else 1."""
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    if data.name == "cifar100":
        return data.coarse_train if split == "train" else data.coarse_test
    if data.name != "cifar10":
        raise ValueError(f"coarse labels exist for cifar10 and cifar100, not {data.name!r}")
    if cifar10_split not in CIFAR10_SPLITS:
        raise ValueError(f"cifar10_split must be one of {sorted(CIFAR10_SPLITS)}, got {cifar10_split!r}")
    fine = data.y_train if split == "train" else data.y_test
    first = torch.tensor(CIFAR10_SPLITS[cifar10_split])
    return (~torch.isin(fine, first)).long()


def augment(x: torch.Tensor, generator: torch.Generator, pad: int = 4) -> torch.Tensor:
    """Random crop with ``pad``-pixel zero padding and a random horizontal flip, per image, on a batch
    (N, C, H, W) of float tensors, in a few vectorized operations."""
    if x.dim() != 4:
        raise ValueError(f"augment expects a batch (N, C, H, W), got shape {tuple(x.shape)}")
    n, _, h, w = x.shape
    padded = torch.nn.functional.pad(x, (pad, pad, pad, pad))
    dy = torch.randint(0, 2 * pad + 1, (n,), generator=generator).to(x.device)
    dx = torch.randint(0, 2 * pad + 1, (n,), generator=generator).to(x.device)
    out = _crop(padded, dy, dx, h, w)
    flip = (torch.rand(n, generator=generator) < 0.5).to(x.device)
    out[flip] = out[flip].flip(-1)
    return out


def _crop(padded: torch.Tensor, dy: torch.Tensor, dx: torch.Tensor, h: int, w: int) -> torch.Tensor:
    """Per-image crops of size (h, w) at offsets (dy, dx), by two gathers."""
    n, c, hp, wp = padded.shape
    rows = (dy[:, None] + torch.arange(h, device=dy.device)[None, :])  # (n, h)
    cols = (dx[:, None] + torch.arange(w, device=dx.device)[None, :])  # (n, w)
    out = padded.gather(2, rows[:, None, :, None].expand(n, c, h, wp))
    return out.gather(3, cols[:, None, None, :].expand(n, c, h, w))
