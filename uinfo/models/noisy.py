"""Noisy fully connected networks (Goldfeld et al. 2019): T_l = S_l + Z_l, S_l = f_l(T_{l-1}), Z_l ~ N(0, beta^2 I)
added after every hidden activation. As in the authors' code the noise is on in training mode and off in eval
mode unless ``noise_at_eval``; the readout is linear and noiseless."""
from __future__ import annotations

import torch
from torch import nn

NOISY_ACTIVATIONS = {"tanh": torch.tanh, "relu": torch.relu, "linear": lambda x: x}


def _check_arguments(activation: str, beta: float, hidden) -> None:
    if activation not in NOISY_ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(NOISY_ACTIVATIONS)}, got {activation!r}")
    if not beta >= 0:
        raise ValueError(f"beta (noise standard deviation) must be >= 0, got {beta}")
    if not hidden or min(hidden) < 1:
        raise ValueError(f"hidden must list positive widths, got {hidden}")


class NoisyMLP(nn.Module):
    def __init__(self, in_features: int, hidden: tuple[int, ...], out_features: int, activation: str = "tanh",
                 beta: float = 0.005, noise_at_eval: bool = False):
        super().__init__()
        _check_arguments(activation, beta, hidden)
        widths = (in_features, *hidden)
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:]))
        self.readout = nn.Linear(widths[-1], out_features)
        self.activation, self.beta, self.noise_at_eval = activation, float(beta), noise_at_eval

    def _noisy(self) -> bool:
        return self.beta > 0 and (self.training or self.noise_at_eval)

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        act = NOISY_ACTIVATIONS[self.activation]
        for layer in self.layers:
            x = act(layer(x))
            if self._noisy():
                x = x + self.beta * torch.randn(x.shape, generator=generator, dtype=x.dtype)
        return self.readout(x)

    @torch.no_grad()
    def presamples(self, x: torch.Tensor, replicas: int, generator: torch.Generator | None = None) -> list:
        """For every hidden layer l, S_l = f_l(T_{l-1}) of each input under ``replicas`` independent noise draws in
        the layers before it: a list of (m, replicas, d_l) arrays (noise always on here, as the SP estimator needs)."""
        if not (isinstance(replicas, int) and replicas >= 1):
            raise ValueError(f"replicas must be a positive integer, got {replicas!r}")
        act = NOISY_ACTIVATIONS[self.activation]
        t = x.repeat_interleave(replicas, dim=0)
        out = []
        for layer in self.layers:
            s = act(layer(t))
            out.append(s.reshape(x.shape[0], replicas, -1).double().numpy())
            t = s + self.beta * torch.randn(s.shape, generator=generator, dtype=s.dtype)
        return out


class NoisyMLPStack(nn.Module):
    """``len(seeds)`` independent noisy MLPs trained side by side as one batched computation (for the SZT
    network, whose steps are bound by per-operation overhead: 5 seeds cost about what 1 does). Member k is
    initialised from ``seeds[k]`` as ``nn.Linear`` would be (uniform in +-1/sqrt(fan_in)); inputs are (k, batch,
    features) or (batch, features) shared by all members. Summing the members' losses keeps their gradients
    separate, and Adam is elementwise, so each member trains exactly as alone would (given its minibatches and
    noise)."""

    def __init__(self, seeds, in_features: int, hidden: tuple[int, ...], out_features: int,
                 activation: str = "tanh", beta: float = 0.005, noise_at_eval: bool = False):
        super().__init__()
        _check_arguments(activation, beta, hidden)
        self.seeds = tuple(int(s) for s in seeds)
        if not self.seeds:
            raise ValueError("seeds must name at least one member")
        widths = (in_features, *hidden, out_features)
        weights, biases = [[] for _ in widths[1:]], [[] for _ in widths[1:]]
        for seed in self.seeds:
            g = torch.Generator().manual_seed(seed)
            for i, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
                bound = a ** -0.5
                weights[i].append((torch.rand(a, b, generator=g) * 2 - 1) * bound)
                biases[i].append((torch.rand(1, b, generator=g) * 2 - 1) * bound)
        self.weights = nn.ParameterList(nn.Parameter(torch.stack(w)) for w in weights)
        self.biases = nn.ParameterList(nn.Parameter(torch.stack(b)) for b in biases)
        self.activation, self.beta, self.noise_at_eval = activation, float(beta), noise_at_eval

    def _noisy(self) -> bool:
        return self.beta > 0 and (self.training or self.noise_at_eval)

    def _expand(self, x: torch.Tensor) -> torch.Tensor:
        return x.expand(len(self.seeds), *x.shape) if x.dim() == 2 else x

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        return self.hidden_states(x, generator)[-1]

    def hidden_states(self, x: torch.Tensor, generator: torch.Generator | None = None) -> list[torch.Tensor]:
        """[T_1, ..., T_L, logits], each (k, batch, width): noisy in training mode (or with noise_at_eval)."""
        act = NOISY_ACTIVATIONS[self.activation]
        t, out = self._expand(x), []
        *hidden, (w_out, b_out) = zip(self.weights, self.biases)  # (slicing a ParameterList costs 50 us)
        for w, b in hidden:
            t = act(torch.baddbmm(b, t, w))
            if self._noisy():
                t = t + self.beta * torch.randn(t.shape, generator=generator, dtype=t.dtype)
            out.append(t)
        out.append(torch.baddbmm(b_out, t, w_out))
        return out

    @torch.no_grad()
    def presamples(self, x: torch.Tensor, replicas: int, generator: torch.Generator | None = None) -> list:
        """Per member, per hidden layer, S_l = f_l(T_{l-1}) under ``replicas`` independent noise draws upstream:
        ``out[k][l]`` is an (m, replicas, d_l) float64 array (as ``NoisyMLP.presamples``)."""
        if not (isinstance(replicas, int) and replicas >= 1):
            raise ValueError(f"replicas must be a positive integer, got {replicas!r}")
        act = NOISY_ACTIVATIONS[self.activation]
        m, k = x.shape[0], len(self.seeds)
        t = self._expand(x.repeat_interleave(replicas, dim=0))
        out = [[] for _ in range(k)]
        for w, b in list(zip(self.weights, self.biases))[:-1]:
            s = act(torch.baddbmm(b, t, w))
            for j in range(k):
                out[j].append(s[j].reshape(m, replicas, -1).double().numpy())
            t = s + self.beta * torch.randn(s.shape, generator=generator, dtype=s.dtype)
        return out

    @torch.no_grad()
    def orthonormal_step(self, alpha: float) -> None:
        """Parseval retraction of every hidden weight matrix (authors' --orth_udpate_alpha): W <- W - a(W W'W - W)."""
        for w in list(self.weights)[:-1]:
            w.sub_(alpha * (w @ w.transpose(1, 2) @ w - w))

    def member(self, k: int) -> NoisyMLP:
        """Member k as a stand-alone ``NoisyMLP`` (same weights)."""
        widths = [w.shape[2] for w in self.weights]
        net = NoisyMLP(self.weights[0].shape[1], tuple(widths[:-1]), widths[-1], self.activation, self.beta,
                       self.noise_at_eval)
        with torch.no_grad():
            for layer, w, b in zip([*net.layers, net.readout], self.weights, self.biases):
                layer.weight.copy_(w[k].T)
                layer.bias.copy_(b[k, 0])
        return net


class NoisyCNN(nn.Module):
    """The four-layer MNIST CNN (spec 6, our choice [PROP]): conv 5x5 (1->32), ReLU, max-pool 2; conv 5x5
    (32->64), ReLU, max-pool 2; fully connected 1024->128, ReLU; readout 128->10. Gaussian noise of std ``beta``
    after every hidden activation (training mode only, as the SZT nets) and dropout ``dropout`` on the fully
    connected hidden layer; beta = dropout = 0 is the deterministic net."""

    def __init__(self, beta: float = 0.0, dropout: float = 0.0):
        super().__init__()
        if not (beta >= 0 and 0 <= dropout < 1):
            raise ValueError(f"beta must be >= 0 and dropout in [0, 1), got {beta}, {dropout}")
        self.conv1, self.conv2 = nn.Conv2d(1, 32, 5), nn.Conv2d(32, 64, 5)
        self.fc, self.readout = nn.Linear(1024, 128), nn.Linear(128, 10)
        self.beta, self.dropout = float(beta), float(dropout)

    def _noise(self, t: torch.Tensor, generator) -> torch.Tensor:
        if self.beta > 0 and self.training:
            t = t + self.beta * torch.randn(t.shape, generator=generator, dtype=t.dtype)
        return t

    def _hidden(self, x: torch.Tensor, generator=None) -> dict:
        h1 = torch.max_pool2d(self._noise(torch.relu(self.conv1(x)), generator), 2)
        h2 = torch.max_pool2d(self._noise(torch.relu(self.conv2(h1)), generator), 2)
        h3 = self._noise(torch.relu(self.fc(h2.flatten(1))), generator)
        return {"conv1": h1, "conv2": h2, "fc": h3}

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        h = self._hidden(x, generator)["fc"]
        return self.readout(nn.functional.dropout(h, self.dropout, self.training))

    def representations(self, x: torch.Tensor) -> dict:
        """Each hidden layer's representation (after pooling for the convolutions), as the net is now."""
        return self._hidden(x)
