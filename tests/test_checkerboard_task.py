"""The checkerboard generator: label logic, encoding, splits, seeding and its Bayes ceiling."""
import math

import numpy as np
import pytest
import torch

from uinfo.tasks.checkerboard import (COHERENCES, checkerboard, checkerboard_splits, direction_bayes_ceiling)


def test_labels_follow_the_task_logic():
    d = checkerboard(5000, sigma=0.0, seed=0)
    lab = d.labels
    assert torch.equal(lab["direction"], lab["colour"] ^ lab["configuration"])
    assert torch.equal(d.x[:, 0], -d.x[:, 1])
    assert torch.equal(d.x[:, 2], -d.x[:, 3])  # noise-free: green coherence = -red coherence
    assert torch.equal(lab["configuration"], (d.x[:, 0] > 0).long())  # 1 = left target green
    assert torch.equal(lab["colour"], (d.coherence < 0).long())  # 1 = green dominant
    # left (0) exactly when the dominant colour is the left target's colour
    left_red_and_red = (d.x[:, 0] < 0) & (d.coherence > 0)
    left_green_and_green = (d.x[:, 0] > 0) & (d.coherence < 0)
    assert torch.equal(lab["direction"] == 0, left_red_and_red | left_green_and_green)
    assert set(np.round(d.coherence.numpy(), 5)) <= set(np.round(np.float32(COHERENCES), 5))
    for v in lab.values():
        assert 0.45 < v.float().mean() < 0.55


def test_noise_only_on_coherence_channels_and_seeded():
    a, b = checkerboard(2000, 0.1, seed=3), checkerboard(2000, 0.1, seed=3)
    assert torch.equal(a.x, b.x)
    assert not torch.equal(a.x, checkerboard(2000, 0.1, seed=4).x)
    resid = a.x[:, 2] - a.coherence
    assert resid.std().item() == pytest.approx(0.1, rel=0.05)
    assert set(a.x[:, 0].unique().tolist()) == {-1.0, 1.0}


def test_splits_are_90_10_with_a_fresh_analysis_set():
    s = checkerboard_splits(10000, 0.9, 4000, 0.1, seed=0)
    assert (len(s["train"]), len(s["val"]), len(s["analysis"])) == (9000, 1000, 4000)
    assert not torch.equal(s["analysis"].x[:100], s["train"].x[:100])
    with pytest.raises(ValueError):
        checkerboard_splits(10, 0.01, 10, 0.1, 0)


def test_bayes_ceiling_matches_monte_carlo():
    # the Bayes rule is "red dominant iff x2 - x3 > 0" (the coherence set is symmetric); its accuracy on many
    # draws checks the quadrature independently
    d = checkerboard(400000, 0.1, seed=9)
    decided_red = (d.x[:, 2] - d.x[:, 3]) > 0
    acc = (decided_red == (d.labels["colour"] == 0)).float().mean().item()
    ceiling = direction_bayes_ceiling(0.1)
    assert ceiling["accuracy"] == pytest.approx(acc, abs=0.002)
    assert ceiling["accuracy"] == pytest.approx(0.948, abs=0.001)  # spec section 2.3
    # information: H(direction) - E[h_b(posterior)] with the posterior evaluated on the draws
    s = ((d.x[:, 2] - d.x[:, 3]) / 2).double().numpy()
    c = np.asarray(COHERENCES)
    tau = 0.1 / math.sqrt(2)
    like = np.exp(-0.5 * ((s[:, None] - c[None]) / tau) ** 2)
    p = np.clip(like[:, c > 0].sum(1) / like.sum(1), 1e-15, 1 - 1e-15)
    mc_bits = 1 + np.mean(p * np.log2(p) + (1 - p) * np.log2(1 - p))
    assert ceiling["bits"] == pytest.approx(mc_bits, abs=0.005)
    assert direction_bayes_ceiling(0.0)["bits"] == 1.0
    assert direction_bayes_ceiling(0.05)["bits"] > ceiling["bits"] > direction_bayes_ceiling(0.2)["bits"]
