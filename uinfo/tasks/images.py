"""CIFAR-10, CIFAR-100 and MNIST as tensors, from a data folder of arrays files or from torchvision.

Sources, in order:
  (b) ``<data_dir>/<name>.npz``: an arrays file (keys ``x_train``, ``y_train``, ``x_test``, ``y_test``, uint8
      images, int64 labels; CIFAR-100 also ``y_train_coarse``, ``y_test_coarse``; the README's "Data files"), as on
      clusters without internet and in CI;
  (a) downloaded when the internet is there, then written to ``<data_dir>/<name>.npz`` so later runs read (b):
      CIFAR and MNIST through torchvision (md5-verified by torchvision, into ``<data_dir>/torchvision``); the SZT
      set from the authors' repository at a pinned commit, checked against the sha256 of its arrays.
The data folder is ``data_dir`` if given, else ``$UINFO_DATA``, else ``<repo>/data`` (``uinfo.paths``). Every
problem is a `DataError` that names the file and says what to do.
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

from ..paths import DATA_FORMAT_DOC, data_folder, file_sha256

DATASETS = ("cifar10", "cifar100", "mnist", "szt")
SHAPES = {"cifar10": (32, 32, 3), "cifar100": (32, 32, 3), "mnist": (28, 28), "szt": (12,)}
CLASSES = {"cifar10": 10, "cifar100": 100, "mnist": 10, "szt": 2}
# The 12-bit Shwartz-Ziv & Tishby set (all 4096 patterns, the 3277 / 819 split of Goldfeld et al.'s code) is not in
# torchvision: it is the authors' datasets/IB_data.npz (keys X_train, y_train, X_test, y_test), fetched at a pinned
# commit and checked by SZT_ARRAYS_SHA256, the sha256 of its four arrays as converted (arrays_sha256), so the check
# does not depend on how the .npz was zipped. ``$UINFO_SZT_URL`` names a mirror (any URL urllib opens, file:// too).
SZT_URL = ("https://raw.githubusercontent.com/kgreenewald/smoothMI/186bbee0ec89e5a99dee0334881b0cecd05e1a82/"
           "datasets/IB_data.npz")
SZT_ARRAYS_SHA256 = "8410aa15dd89ee25e5b38611fb8f21eeaeb84b678d1ab3faabb03eedf4f75361"
# CIFAR-10 coarse splits: the default {0-4} vs {5-9}, or vehicles (airplane, automobile, ship, truck) vs animals
CIFAR10_SPLITS = {"halves": (0, 1, 2, 3, 4), "vehicles": (0, 1, 8, 9)}


# the official training-set sizes: what a profile that asks for "the full set" (paper) must get
FULL_TRAIN = {"cifar10": 50000, "cifar100": 50000, "mnist": 60000}
SUBSET_ENV = "UINFO_ALLOW_SUBSET"


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




def arrays_sha256(arrays: dict) -> str:
    """A checksum of the train/test arrays' names, dtypes, shapes and bytes (not of the file's zip container)."""
    h = hashlib.sha256()
    for key in ("x_train", "y_train", "x_test", "y_test"):
        a = np.ascontiguousarray(arrays[key])
        h.update(f"{key}:{a.dtype.str}:{a.shape}".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def _write_arrays(folder: Path, name: str, arrays: dict) -> Path:
    out = folder / f"{name}.npz"
    tmp = folder / f".{name}.npz.tmp.npz"
    np.savez(tmp, **arrays)
    os.replace(tmp, out)
    return out


def _download_szt(folder: Path) -> Path:
    """Fetch the authors' SZT file, convert it to an arrays file, check its arrays' sha256, write szt.npz."""
    import io
    import urllib.request

    url = os.environ.get("UINFO_SZT_URL") or SZT_URL
    target = folder / "szt.npz"
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            payload = response.read()
        with np.load(io.BytesIO(payload), allow_pickle=False) as f:
            raw = {k: f[k] for k in f.files}
        arrays = {"x_train": raw["X_train"], "y_train": raw["y_train"], "x_test": raw["X_test"], "y_test": raw["y_test"]}
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as err:  # URLError is an OSError
        raise DataError(f"no arrays file {target}, and downloading the SZT set from {url} failed ({type(err).__name__}: "
                        f"{err}). Without internet, put szt.npz there (format: {DATA_FORMAT_DOC}), or point the data "
                        "folder at one: data_dir=... or UINFO_DATA=...") from err
    for key in ("x_train", "x_test"):
        if not np.isin(arrays[key], (0, 1)).all():
            raise DataError(f"the SZT file from {url} holds {key} values other than 0/1: not the authors' data set")
    arrays = {k: np.asarray(v, np.uint8 if k.startswith("x") else np.int64) for k, v in arrays.items()}
    if arrays_sha256(arrays) != SZT_ARRAYS_SHA256:
        raise DataError(f"the SZT file from {url} does not match the sha256 of the authors' arrays "
                        f"({arrays_sha256(arrays)}, expected {SZT_ARRAYS_SHA256}); nothing was written to {target}. "
                        "Check the URL (UINFO_SZT_URL), or put the authors' szt.npz there by hand")
    arrays["class_names"] = np.asarray(["0", "1"])
    arrays["description"] = np.asarray(f"Shwartz-Ziv & Tishby 12-bit set, downloaded from {url} (arrays sha256 "
                                       f"{SZT_ARRAYS_SHA256})")
    return _write_arrays(folder, "szt", arrays)


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
    """Download (torchvision, md5-checked; the SZT set from its authors, sha256-checked) and write
    ``<folder>/<name>.npz``; returns its path."""
    if name == "szt":
        return _download_szt(folder)
    from torchvision import datasets

    root = folder / "torchvision"
    cls = {"cifar10": datasets.CIFAR10, "cifar100": datasets.CIFAR100, "mnist": datasets.MNIST}[name]
    try:
        train, test = cls(str(root), train=True, download=True), cls(str(root), train=False, download=True)
    except (OSError, RuntimeError, tarfile.TarError) as err:  # URLError is an OSError
        raise DataError(
            f"no arrays file {folder / (name + '.npz')}, and downloading {name} through torchvision failed "
            f"({type(err).__name__}: {err}). Without internet, put {name}.npz there (format: {DATA_FORMAT_DOC}), "
            f"or point the data folder at one: data_dir=... or UINFO_DATA=...") from err
    arrays = {"x_train": np.asarray(train.data, dtype=np.uint8), "y_train": np.asarray(train.targets, np.int64),
              "x_test": np.asarray(test.data, dtype=np.uint8), "y_test": np.asarray(test.targets, np.int64)}
    if name == "cifar100":  # torchvision keeps only the fine labels; the official files hold both
        base = root / "cifar-100-python"
        for split, file in (("train", "train"), ("test", "test")):
            with open(base / file, "rb") as fh:  # the official (md5-verified) python pickle
                entry = pickle.load(fh, encoding="latin1")
            arrays[f"y_{split}_coarse"] = np.asarray(entry["coarse_labels"], np.int64)
    arrays["description"] = np.asarray(f"{name} downloaded by torchvision (full official sets)")
    return _write_arrays(folder, name, arrays)


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
            raise DataError(f"no arrays file {path}, and download=False; put {name}.npz there (format: "
                            f"{DATA_FORMAT_DOC}) or allow the download")
        folder.mkdir(parents=True, exist_ok=True)
        path, how = _download(name, folder), "authors' download" if name == "szt" else "torchvision download"
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


def full_training_set(source: dict) -> int:
    """How many training images a run that asks for the full set (the ``paper`` profile) uses, from the
    ``source`` of the loaded file: the official count, or an error before any compute when the file holds fewer.
    Setting ``$UINFO_ALLOW_SUBSET=1`` runs on a smaller file on purpose: its count is returned, so it becomes the
    config's ``n_train`` (part of the store key) and every record says it."""
    name, available, path = source["dataset"], source["available_train"], source["path"]
    full = FULL_TRAIN[name]
    if available >= full:
        return full
    if os.environ.get(SUBSET_ENV) == "1":
        print(f"{name}: {SUBSET_ENV}=1, so this run uses the {available} training images of {path} instead of the "
              f"full {full}; its config and records say n_train={available}")
        return available
    raise DataError(f"this profile trains on the full {name} training set ({full} images), but {path} holds "
                    f"{available}. Get the full set: move that file away and let the package download the official "
                    f"one (torchvision, where the internet is there), or point UINFO_DATA at a folder with the full "
                    f"{name}.npz; or run the quick profile, which is sized for the subset; or, to run these settings "
                    f"on the subset on purpose, set {SUBSET_ENV}=1 (the runs then record n_train={available})")


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
