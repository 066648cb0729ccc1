"""Networks whose hidden layers are probed: fully connected nets for the checkerboard task."""
from .mlp import MLP

__all__ = ["MLP"]
