"""Networks whose hidden layers are probed: fully connected and recurrent nets for the checkerboard task."""
from .mlp import MLP
from .rnn import RecurrentClassifier

__all__ = ["MLP", "RecurrentClassifier"]
