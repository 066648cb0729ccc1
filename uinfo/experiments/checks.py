"""Checks shared by the experiments' config classes."""
from __future__ import annotations


def require_positive(config, *names, integer: bool = True) -> None:
    """Raise ValueError naming the first of the config's fields ``names`` that is not a positive integer (or, with
    ``integer`` False, a positive number)."""
    for name in names:
        v = getattr(config, name)
        if not ((isinstance(v, int) if integer else isinstance(v, (int, float))) and v > 0):
            raise ValueError(f"{name} must be a positive {'integer' if integer else 'number'}, got {v!r}")
