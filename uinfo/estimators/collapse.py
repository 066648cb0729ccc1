"""Neural collapse of a representation, as variability ratios (Papyan, Han & Donoho 2020, NC1, in its trace form).

For features h with class labels, the within-class variability is the mean squared distance of h to its class
mean, and the between-class variability the mean squared distance of the class means to the mean they are grouped
around (both weighted by samples, so they add up to the total variability):

- *coarse*: within the coarse classes, over the coarse class means around the global mean. Falls towards 0 as the
  coarse classes collapse to their means.
- *fine inside coarse*: within the fine classes, over the fine class means around their own coarse class's mean.
  Grows as the fine classes inside a coarse class merge (the fine distinction is discarded), and is small while
  they stay apart.

The trace form (tr S_W / tr S_B) is used instead of tr(S_W S_B^+) / C: with 2 coarse classes S_B has rank 1 and the
pseudo-inverse form reads one direction only; the trace form weighs every feature direction by its variance.

Not part of the package's import of ``uinfo.estimators`` (its ``__init__``), so only the experiments that use it
have it in their code version.
"""
from __future__ import annotations

import numpy as np


def _group_means(features: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Each sample's group mean (n, d)."""
    groups, index = np.unique(labels, return_inverse=True)
    sums = np.zeros((len(groups), features.shape[1]))
    np.add.at(sums, index, features)
    means = sums / np.bincount(index)[:, None]
    return means[index]


def variability_ratio(features, labels, groups=None) -> float:
    """tr S_W / tr S_B of ``features`` (n, d) with class ``labels`` (n,): the mean squared distance of each sample to
    its class mean over the mean squared distance of its class mean to the mean of its group (``groups``, one label
    per sample, constant within a class; None: one group, the global mean). Computed in float64. Infinite where the
    class means coincide with their group means."""
    h = np.asarray(features, dtype=np.float64)
    labels = np.asarray(labels)
    if h.ndim != 2 or labels.shape != (h.shape[0],):
        raise ValueError(f"features must be (n, d) and labels (n,), got {h.shape} and {labels.shape}")
    class_means = _group_means(h, labels)
    centres = (np.broadcast_to(h.mean(0), h.shape) if groups is None
               else _group_means(h, np.asarray(groups)))
    if groups is not None and np.unique(np.stack([labels, np.asarray(groups)]), axis=1).shape[1] != len(
            np.unique(labels)):
        raise ValueError("groups must be constant within each class")
    within = float(((h - class_means) ** 2).sum(1).mean())
    between = float(((class_means - centres) ** 2).sum(1).mean())
    return within / between if between > 0 else float("inf")


def collapse_fields(split: str, features, fine, coarse) -> dict:
    """Record fields ``collapse_coarse_<split>`` and ``collapse_fine_<split>`` (fine classes inside coarse)."""
    return {f"collapse_coarse_{split}": variability_ratio(features, coarse),
            f"collapse_fine_{split}": variability_ratio(features, fine, groups=coarse)}
