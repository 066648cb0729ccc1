"""Networks whose hidden layers are probed: fully connected and recurrent nets for the checkerboard task, noisy
fully connected nets for Shannon information (CIFAR nets: ``uinfo.models.cifar``)."""
from .mlp import MLP
from .noisy import NoisyCNN, NoisyMLP, NoisyMLPStack
from .rnn import RecurrentClassifier

__all__ = ["MLP", "NoisyCNN", "NoisyMLP", "NoisyMLPStack", "RecurrentClassifier"]
