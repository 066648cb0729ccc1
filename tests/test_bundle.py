"""The shipped results bundle: export a store's entries of the current code version, restore them byte-identical
into an empty store, leave out other code versions, refuse a tampered archive, never overwrite."""
import json
from dataclasses import dataclass

import pandas as pd
import pytest

from uinfo.report import bundle
from uinfo.store import Store, run_code_version


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


def CURRENT(experiment):  # the test's runs are computed by this file's code: the store's own version stands in
    return run_code_version(Run())


def test_export_then_restore_gives_the_same_entries(tmp_path):
    store, records = _store(tmp_path)
    index = bundle.export("quick", store.root, tmp_path / "bundle", code=CURRENT)
    assert len(index) == 3 and set(index["experiment"]) == {"checkerboard", "mnist_cnn"}  # not the older entry
    assert pd.read_csv(tmp_path / "bundle" / "quick" / "index.csv")["key"].tolist() == index["key"].tolist()
    fresh = Store(tmp_path / "fresh")
    counts = bundle.restore("quick", fresh.root, tmp_path / "bundle", code=CURRENT)
    assert counts == dict(restored=3, present=0, other_code=0, stale={})
    for config in (Run(0),):
        assert (fresh.path("checkerboard", config) / "records.csv").read_bytes() == \
            (store.path("checkerboard", config) / "records.csv").read_bytes()
    pd.testing.assert_frame_equal(fresh.load("checkerboard", Run(0)), records)
    assert fresh.load_extra("checkerboard", Run(0), "snapshots")["x"].tolist() == [1.5]
    # the MNIST matrices are kept for seed 0 only (the figure's); the other seed's records still restore
    assert fresh.load_extra("mnist_cnn", Run(0), "matrices")["cos"].tolist() == [0.8]
    assert fresh.load_extra("mnist_cnn", Run(1), "matrices") is None and fresh.load("mnist_cnn", Run(1)) is not None
    assert bundle.restore("quick", fresh.root, tmp_path / "bundle", code=CURRENT) == dict(restored=0, present=3, other_code=0, stale={})
    assert "3 run(s) restored" in bundle.describe(counts, "quick")


def test_entries_of_another_code_version_are_left_to_recompute(tmp_path):
    store, _ = _store(tmp_path)
    bundle.export("quick", store.root, tmp_path / "bundle", code=lambda experiment: "older")
    counts = bundle.restore("quick", tmp_path / "fresh", tmp_path / "bundle", code=CURRENT)
    assert counts == dict(restored=0, present=0, other_code=1, stale={"checkerboard": 1})
    assert "another code version (checkerboard 1" in bundle.describe(counts, "quick")
    # the versions are per experiment: entries of an unchanged experiment are restored beside a stale one
    bundle.export("quick", store.root, tmp_path / "bundle", code=CURRENT)
    counts = bundle.restore("quick", tmp_path / "fresh2", tmp_path / "bundle",
                            code=lambda e: CURRENT(e) if e == "mnist_cnn" else "newer")
    assert counts == dict(restored=2, present=0, other_code=1, stale={"checkerboard": 1})


def test_a_tampered_archive_is_refused_and_nothing_is_written(tmp_path):
    store, _ = _store(tmp_path)
    index = bundle.export("quick", store.root, tmp_path / "bundle", code=CURRENT)
    archive = tmp_path / "bundle" / "quick" / index["archive"].iloc[0]
    archive.write_bytes(archive.read_bytes()[:-10])
    with pytest.raises(ValueError, match="does not match its sha256.*git checkout"):
        bundle.restore("quick", tmp_path / "fresh", tmp_path / "bundle", code=CURRENT)
    assert not (tmp_path / "fresh" / index["experiment"].iloc[0] / index["key"].iloc[0]).exists()


def test_no_bundle_is_a_no_op_and_an_empty_store_cannot_be_exported(tmp_path):
    assert bundle.restore("paper", tmp_path / "store", tmp_path / "bundle") == dict(restored=0, present=0,
                                                                                       other_code=0, stale={})
    with pytest.raises(ValueError, match="run ./run_all.sh --profile quick first"):
        bundle.export("quick", tmp_path / "empty", tmp_path / "bundle")


def _claims(folder, name, code, **changes):
    from uinfo.report import stats as S

    row = S.verdict("X rises", "mean x", S.t_interval(pd.Series([0.40, 0.41, 0.39])), 0.05, "bits")
    row.update(changes)
    folder.mkdir(parents=True, exist_ok=True)
    from uinfo.report.table import write_notebook_claims

    write_notebook_claims(folder / f"{name}.json", name, "quick", [row], {"cb": code})


def test_the_check_names_the_notebook_and_the_claim_that_changed(tmp_path):
    from uinfo.check import compare

    _claims(tmp_path / "old", "demo", "abc")
    _claims(tmp_path / "new", "demo", "abc", estimate=0.4002)  # equal to 3 significant digits
    abc = lambda name: {"cb": "abc"}  # noqa: E731
    assert compare(tmp_path / "old", tmp_path / "new", abc) == []
    _claims(tmp_path / "new", "demo", "abc", estimate=0.43, outcome="inconclusive")
    (problem,) = compare(tmp_path / "old", tmp_path / "new", abc)
    assert problem.startswith("demo: claim 'X rises' changed in outcome, estimate")
    stale = compare(tmp_path / "old", tmp_path / "old", lambda name: {"cb": "newer"})
    assert stale == ["demo: the committed claims come from cb code version abc, the code is newer: re-run "
                     "./run_all.sh --only demo"]
    _claims(tmp_path / "new", "other", "abc")
    assert "other: no committed claims file" in compare(tmp_path / "old", tmp_path / "new", abc)[-1]
    assert compare(tmp_path / "old", tmp_path / "new", abc, only=["demo"]) == [problem]
