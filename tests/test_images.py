"""Image data: the arrays-file source, the torchvision fallback, and clear errors for missing, corrupt and
over-asked data."""
import urllib.error

import numpy as np
import pytest
import torch

from uinfo.tasks import images
from uinfo.paths import data_folder
from uinfo.tasks.images import DataError, augment, coarse_labels, load_images



def _fake(path, name="cifar10", n_train=20, n_test=10):
    rng = np.random.default_rng(0)
    shape = images.SHAPES[name]
    arrays = dict(x_train=rng.integers(0, 256, (n_train, *shape), dtype=np.uint8),
                  y_train=rng.integers(0, images.CLASSES[name], n_train).astype(np.int64),
                  x_test=rng.integers(0, 256, (n_test, *shape), dtype=np.uint8),
                  y_test=rng.integers(0, images.CLASSES[name], n_test).astype(np.int64),
                  description=np.asarray(f"fake {name}"))
    if name == "cifar100":
        arrays.update(y_train_coarse=arrays["y_train"] // 5, y_test_coarse=arrays["y_test"] // 5)
    np.savez(path / f"{name}.npz", **arrays)


def test_arrays_file_is_read_and_its_source_recorded(tmp_path, capsys):
    _fake(tmp_path)
    data = load_images("cifar10", n_train=12, data_dir=tmp_path)
    assert data.x_train.shape == (12, 32, 32, 3) and data.x_train.dtype == torch.uint8 and len(data.y_test) == 10
    assert data.source["used_train"] == 12 and data.source["available_train"] == 20
    assert len(data.source["sha256"]) == 64 and data.source["source"] == "arrays file"
    assert "12 of 20 training" in capsys.readouterr().out


def test_wrong_contents_are_refused(tmp_path):
    np.savez(tmp_path / "mnist.npz", x_train=np.zeros((3, 32, 32), np.uint8), y_train=np.zeros(3, np.int64),
             x_test=np.zeros((1, 28, 28), np.uint8), y_test=np.zeros(1, np.int64))
    with pytest.raises(DataError, match="x_train must be uint8 of shape"):
        load_images("mnist", data_dir=tmp_path)


def test_no_data_and_no_internet_says_what_to_do(tmp_path, monkeypatch):
    from torchvision import datasets

    def offline(*args, **kwargs):
        raise urllib.error.URLError("no route to host")

    monkeypatch.setattr(datasets, "CIFAR10", offline)
    with pytest.raises(DataError, match=r"no arrays file .*cifar10.npz, and downloading cifar10 through torchvision "
                                        r"failed .*UINFO_DATA"):
        load_images("cifar10", data_dir=tmp_path / "empty")
    with pytest.raises(DataError, match="download=False"):
        load_images("cifar10", data_dir=tmp_path / "empty", download=False)


def test_torchvision_download_is_converted_to_an_arrays_file(tmp_path, monkeypatch):
    from torchvision import datasets

    class FakeCIFAR10:  # what torchvision's class exposes after a verified download
        def __init__(self, root, train, download):
            n = 6 if train else 4
            self.data = np.full((n, 32, 32, 3), 7, np.uint8)
            self.targets = list(range(n))

    monkeypatch.setattr(datasets, "CIFAR10", FakeCIFAR10)
    data = load_images("cifar10", data_dir=tmp_path)
    assert data.source["source"] == "torchvision download" and (tmp_path / "cifar10.npz").exists()
    assert load_images("cifar10", data_dir=tmp_path).source["source"] == "arrays file"


def _upstream_szt(folder, arrays, flip_label=False):
    """The SZT set as its authors distribute it (datasets/IB_data.npz: capitalised X keys, float patterns)."""
    y_train = arrays["y_train"].copy()
    if flip_label:
        y_train[0] = 1 - y_train[0]
    path = folder / "IB_data.npz"
    np.savez(path, X_train=arrays["x_train"].astype(np.float32), y_train=y_train,
             X_test=arrays["x_test"].astype(np.float32), y_test=arrays["y_test"])
    return path


@pytest.mark.skipif(not (data_folder() / "szt.npz").exists(), reason="no SZT arrays file to serve as the download")
def test_szt_is_downloaded_from_its_authors_and_checked(tmp_path, monkeypatch):
    """A machine with internet and no SZT file: the set is fetched (here from a local file URL standing for the
    authors' repository), converted, checked against its arrays' sha256 and written to the data folder."""
    with np.load(data_folder() / "szt.npz", allow_pickle=False) as f:
        real = {k: f[k] for k in ("x_train", "y_train", "x_test", "y_test")}
    served = tmp_path / "served"
    served.mkdir()
    monkeypatch.setenv("UINFO_SZT_URL", _upstream_szt(served, real, flip_label=True).as_uri())
    with pytest.raises(DataError, match="does not match the sha256"):
        load_images("szt", data_dir=tmp_path / "data")
    assert not (tmp_path / "data" / "szt.npz").exists()  # nothing unverified is kept
    monkeypatch.setenv("UINFO_SZT_URL", _upstream_szt(served, real).as_uri())
    data = load_images("szt", data_dir=tmp_path / "data", verbose=False)
    assert data.source["source"] == "authors' download"
    assert (data.source["used_train"], data.source["used_test"]) == (3277, 819)
    assert torch.equal(data.y_train, torch.from_numpy(real["y_train"]))
    (served / "IB_data.npz").unlink()  # later runs read the arrays file that the download wrote
    assert load_images("szt", data_dir=tmp_path / "data", verbose=False).source["source"] == "arrays file"


def test_unknown_data_set_and_bad_counts_fail_before_reading(tmp_path):
    with pytest.raises(ValueError, match="data set must be one of"):
        load_images("imagenet", data_dir=tmp_path)
    with pytest.raises(ValueError, match="n_train"):
        load_images("cifar10", n_train=0, data_dir=tmp_path)


def test_coarse_labels(tmp_path):
    _fake(tmp_path, "cifar10")
    data = load_images("cifar10", data_dir=tmp_path, verbose=False)
    halves = coarse_labels(data)
    assert torch.equal(halves, (data.y_train >= 5).long())
    vehicles = coarse_labels(data, "test", "vehicles")
    assert torch.equal(vehicles, (~torch.isin(data.y_test, torch.tensor([0, 1, 8, 9]))).long())
    _fake(tmp_path, "cifar100")
    data = load_images("cifar100", data_dir=tmp_path, verbose=False)
    assert torch.equal(coarse_labels(data), data.y_train // 5)
    with pytest.raises(ValueError, match="cifar10_split"):
        coarse_labels(load_images("cifar10", data_dir=tmp_path, verbose=False), cifar10_split="odd")


def test_augment_crops_and_flips_each_image():
    gen = torch.Generator().manual_seed(0)
    x = torch.arange(2 * 3 * 8 * 8, dtype=torch.float32).reshape(2, 3, 8, 8)
    out = augment(x, gen, pad=2)
    assert out.shape == x.shape
    # every output image is a shifted (possibly flipped) window of the zero-padded input
    padded = torch.nn.functional.pad(x, (2, 2, 2, 2))
    for i in range(2):
        windows = [padded[i, :, a:a + 8, b:b + 8] for a in range(5) for b in range(5)]
        assert any(torch.equal(out[i], w) or torch.equal(out[i], w.flip(-1)) for w in windows)


@pytest.mark.skipif(not (data_folder() / "cifar100.npz").exists(), reason="no cifar100.npz in the data folder")
def test_the_shared_cifar100_file_loads_with_its_superclasses():
    data = load_images("cifar100", n_train=100, n_test=50, verbose=False)
    assert data.source["available_train"] == 20000 and data.source["available_test"] == 10000
    assert int(data.coarse_train.max()) == 19 and data.x_test.shape == (50, 32, 32, 3)
