"""uinfo: usable information (Kleinman et al. 2021) and Shannon information of noisy networks (Goldfeld et al. 2019)
in a network's representations over training.

The front door for use on your own network::

    from uinfo import extract, cross_fitted_usable_information, gaussian_mixture_entropy

The names are imported on first use, so ``import uinfo`` (and the command line) stays light."""
from __future__ import annotations

import importlib

_ESTIMATORS = ("UsableInformation", "usable_information", "usable_information_batch",
               "cross_fitted_usable_information", "cross_fitted_usable_information_batch", "entropy_bits",
               "MixtureEntropy", "MixtureIndex", "SPEstimate", "MixtureInformation", "gaussian_entropy",
               "gaussian_mixture_entropy", "mixture_information", "mixture_log_density", "sp_fresh_information",
               "sp_mutual_information", "binned_entropy")
_PUBLIC = {**{name: "uinfo.estimators" for name in _ESTIMATORS}, "extract": "uinfo.engine.probe"}

__all__ = sorted(_PUBLIC)


def __getattr__(name: str):
    if name in _PUBLIC:
        return getattr(importlib.import_module(_PUBLIC[name]), name)
    raise AttributeError(f"module 'uinfo' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_PUBLIC))
