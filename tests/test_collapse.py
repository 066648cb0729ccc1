"""The neural-collapse ratios (uinfo.estimators.collapse): hand-computed values, their limits, bad input, and a
CIFAR run that records them beside records equal to a run without them."""
import numpy as np
import pandas as pd
import pytest

from uinfo.estimators.collapse import collapse_fields, variability_ratio
from uinfo.experiments import cifar as cf
from uinfo.profiles import cifar as cfp
from uinfo.report import cifar as cfig


def test_ratios_by_hand():
    # two classes on a line: points 0, 2 (class 0, mean 1) and 4, 6 (class 1, mean 5); global mean 3
    h = np.array([[0.0], [2.0], [4.0], [6.0]])
    assert variability_ratio(h, [0, 0, 1, 1]) == pytest.approx(1.0 / 4.0)  # within 1, between 4
    # fine classes {0}, {2} inside coarse 0 and {4}, {6} inside coarse 1: no within-fine spread
    assert variability_ratio(h, [0, 1, 2, 3], groups=[0, 0, 1, 1]) == 0.0
    # and with a second dimension of within-fine noise: within 1, between fine means and coarse mean 1
    h2 = np.array([[0, 1], [0, -1], [2, 1], [2, -1]], dtype=float)
    assert variability_ratio(h2, [0, 0, 1, 1], groups=[0, 0, 0, 0]) == pytest.approx(1.0)


def test_ratios_are_invariant_to_scale_and_shift_and_infinite_when_classes_merge():
    rng = np.random.default_rng(0)
    fine = np.repeat(np.arange(6), 50)
    coarse = fine // 3
    h = rng.normal(size=(300, 8)) + np.eye(8)[fine] * 3
    base = collapse_fields("test", h, fine, coarse)
    moved = collapse_fields("test", 7 * h - 2, fine, coarse)
    assert base == pytest.approx(moved)
    assert set(base) == {"collapse_coarse_test", "collapse_fine_test"}
    # the fine classes of each coarse class merged at the coarse mean (noise only): far larger than apart
    merged = np.eye(8)[coarse] * 3 + rng.normal(size=h.shape) * 0.1
    assert variability_ratio(merged, fine, groups=coarse) > 10 * base["collapse_fine_test"]
    assert variability_ratio(np.ones((4, 2)), [0, 0, 1, 1]) == float("inf")


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="constant within each class"):
        variability_ratio(np.zeros((4, 2)), [0, 0, 1, 1], groups=[0, 1, 1, 1])
    with pytest.raises(ValueError, match="features must be"):
        variability_ratio(np.zeros(4), [0, 0, 1, 1])
    with pytest.raises(ValueError, match="collapse must be"):
        cf.CIFARConfig(collapse="yes")


def test_a_run_records_the_ratios_and_nothing_else_changes():
    config = cfp.base_config("smoke", "cifar10", "allcnn", train_fitted=True)
    without = cf.run_cifar(config, device="cpu")
    with_ = cf.run_cifar(config.replace(collapse=True), device="cpu")
    ratios = list(cfig.COLLAPSE)
    assert set(ratios) <= set(with_.columns) and not set(ratios) & set(without.columns)
    assert (with_[ratios] > 0).all().all() and np.isfinite(with_[ratios].to_numpy()).all()
    # one value per checkpoint, the same on each of its rows
    assert (with_.groupby("epoch")[ratios].nunique() == 1).all().all()
    same = [c for c in without.columns if c not in ("run", "collapse", "total_train_seconds", "total_measure_seconds")]
    pd.testing.assert_frame_equal(with_[same], without[same], check_exact=True)
    table = cfig.collapse_table(with_)
    assert len(table) == len(ratios) and (table["seeds"] == 1).all()
