"""The shipped results bundle: export a store's entries of the current code version, restore them byte-identical
into an empty store, leave out other code versions, refuse a tampered archive, never overwrite."""
import json
from dataclasses import dataclass

import pandas as pd
import pytest

from uinfo.report import bundle
from uinfo.store import Store


@dataclass(frozen=True)
class Run:
    seed: int = 0
    width: int = 5


def _store(tmp_path):
    store = Store(tmp_path / "store")
    records = pd.DataFrame({"epoch": [0, 1, 2], "bits": [0.1, 0.2, 0.30000000000000004]})
    store.save("checkerboard", Run(0), records, extras={"snapshots": pd.DataFrame({"x": [1.5]})})
    store.save("mnist_cnn", Run(1), records, extras={"matrices": pd.DataFrame({"cos": [0.9]})})
    store.save("mnist_cnn", Run(0), records, extras={"matrices": pd.DataFrame({"cos": [0.8]})})
    old = store.save("checkerboard", Run(2), records)
    meta = json.loads((old / "meta.json").read_text())
    (old / "meta.json").write_text(json.dumps(dict(meta, code_version="older")))
    return store, records


def test_export_then_restore_gives_the_same_entries(tmp_path):
    store, records = _store(tmp_path)
    index = bundle.export("quick", store.root, tmp_path / "bundle")
    assert len(index) == 3 and set(index["experiment"]) == {"checkerboard", "mnist_cnn"}  # not the older entry
    assert pd.read_csv(tmp_path / "bundle" / "quick" / "index.csv")["key"].tolist() == index["key"].tolist()
    fresh = Store(tmp_path / "fresh")
    counts = bundle.restore("quick", fresh.root, tmp_path / "bundle")
    assert counts == dict(restored=3, present=0, other_code=0)
    for config in (Run(0),):
        assert (fresh.path("checkerboard", config) / "records.csv").read_bytes() == \
            (store.path("checkerboard", config) / "records.csv").read_bytes()
    pd.testing.assert_frame_equal(fresh.load("checkerboard", Run(0)), records)
    assert fresh.load_extra("checkerboard", Run(0), "snapshots")["x"].tolist() == [1.5]
    # the MNIST matrices are kept for seed 0 only (the figure's); the other seed's records still restore
    assert fresh.load_extra("mnist_cnn", Run(0), "matrices")["cos"].tolist() == [0.8]
    assert fresh.load_extra("mnist_cnn", Run(1), "matrices") is None and fresh.load("mnist_cnn", Run(1)) is not None
    assert bundle.restore("quick", fresh.root, tmp_path / "bundle") == dict(restored=0, present=3, other_code=0)
    assert "3 run(s) restored" in bundle.describe(counts, "quick")


def test_entries_of_another_code_version_are_left_to_recompute(tmp_path):
    store, _ = _store(tmp_path)
    bundle.export("quick", store.root, tmp_path / "bundle", code="older")
    counts = bundle.restore("quick", tmp_path / "fresh", tmp_path / "bundle")
    assert counts == dict(restored=0, present=0, other_code=1)
    assert "another code version" in bundle.describe(counts, "quick")


def test_a_tampered_archive_is_refused_and_nothing_is_written(tmp_path):
    store, _ = _store(tmp_path)
    index = bundle.export("quick", store.root, tmp_path / "bundle")
    archive = tmp_path / "bundle" / "quick" / index["archive"].iloc[0]
    archive.write_bytes(archive.read_bytes()[:-10])
    with pytest.raises(ValueError, match="does not match its sha256.*git checkout"):
        bundle.restore("quick", tmp_path / "fresh", tmp_path / "bundle")
    assert not (tmp_path / "fresh" / index["experiment"].iloc[0] / index["key"].iloc[0]).exists()


def test_no_bundle_is_a_no_op_and_an_empty_store_cannot_be_exported(tmp_path):
    assert bundle.restore("paper", tmp_path / "store", tmp_path / "bundle") == dict(restored=0, present=0,
                                                                                       other_code=0)
    with pytest.raises(ValueError, match="run ./run_all.sh --profile quick first"):
        bundle.export("quick", tmp_path / "empty", tmp_path / "bundle")
