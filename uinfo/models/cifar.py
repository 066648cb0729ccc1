"""CIFAR networks with a width multiplier (spec 3.3): ResNet-18 in its CIFAR form (3x3 stem, no max-pool,
pre-activation basic blocks [2, 2, 2, 2]) and All-CNN-C with batch norm after every convolution.

Probed representations are modules whose output is already global-average-pooled (N, C): ResNet-18 ``stage1`` ..
``stage4`` (``stage4`` = the 512·w-d penultimate feature) and All-CNN ``block1`` .. ``block3`` (``block3`` = the
192·w-d penultimate feature); ``logits`` is the readout. Inputs are (N, 3, 32, 32) float images.
"""
from __future__ import annotations

import torch
from torch import nn


def _width(base: int, multiplier: float) -> int:
    return max(1, int(round(base * multiplier)))


class GlobalPool(nn.Module):
    """Global average pooling to (N, C): the probed output of a stage or block."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=(2, 3))


class PreActBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.bn1, self.conv1 = nn.BatchNorm2d(cin), nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn2, self.conv2 = nn.BatchNorm2d(cout), nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.shortcut = (nn.Conv2d(cin, cout, 1, stride, bias=False) if stride != 1 or cin != cout else None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(x))
        skip = self.shortcut(out) if self.shortcut is not None else x
        out = self.conv1(out)
        out = self.conv2(torch.relu(self.bn2(out)))
        return out + skip


class ResNet18(nn.Module):
    """Pre-activation ResNet-18 for 32x32 inputs; ``width`` multiplies every channel count (1 = 64..512)."""

    def __init__(self, num_classes: int, width: float = 1.0):
        super().__init__()
        if not width > 0 or int(num_classes) < 1:
            raise ValueError(f"need width > 0 and num_classes >= 1, got {width}, {num_classes}")
        chans = [_width(c, width) for c in (64, 128, 256, 512)]
        self.stem = nn.Sequential(nn.Conv2d(3, chans[0], 3, 1, 1, bias=False), nn.BatchNorm2d(chans[0]), nn.ReLU())
        layers, cin = [], chans[0]
        for i, (c, stride) in enumerate(zip(chans, (1, 2, 2, 2))):
            layers.append(nn.Sequential(PreActBlock(cin, c, stride), PreActBlock(c, c, 1)))
            cin = c
        self.layer1, self.layer2, self.layer3, self.layer4 = layers
        self.final_bn = nn.BatchNorm2d(cin)
        self.stage1, self.stage2, self.stage3, self.stage4 = GlobalPool(), GlobalPool(), GlobalPool(), GlobalPool()
        self.logits = nn.Linear(cin, num_classes)

    probe_layers = ("stage1", "stage2", "stage3", "stage4", "logits")

    def replace_head(self, num_classes: int) -> None:
        """A fresh, randomly initialized readout for ``num_classes`` (e.g. after pretraining on other labels)."""
        old = self.logits
        self.logits = nn.Linear(old.in_features, num_classes).to(old.weight.device)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        x = self.layer1(x)
        self.stage1(x)
        x = self.layer2(x)
        self.stage2(x)
        x = self.layer3(x)
        self.stage3(x)
        x = torch.relu(self.final_bn(self.layer4(x)))
        return self.logits(self.stage4(x))  # stage4: the 4x4 average pool of the spec = global pooling here


def _conv_bn(cin: int, cout: int, k: int, stride: int = 1, pad: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, k, stride, pad, bias=False), nn.BatchNorm2d(cout), nn.ReLU())


class AllCNN(nn.Module):
    """All-CNN-C with batch norm; ``width`` multiplies the 96 / 192 channel counts."""

    def __init__(self, num_classes: int, width: float = 1.0):
        super().__init__()
        if not width > 0 or int(num_classes) < 1:
            raise ValueError(f"need width > 0 and num_classes >= 1, got {width}, {num_classes}")
        a, b = _width(96, width), _width(192, width)
        self.conv1 = nn.Sequential(_conv_bn(3, a, 3), _conv_bn(a, a, 3), _conv_bn(a, a, 3, 2))
        self.conv2 = nn.Sequential(_conv_bn(a, b, 3), _conv_bn(b, b, 3), _conv_bn(b, b, 3, 2))
        self.conv3 = nn.Sequential(_conv_bn(b, b, 3, pad=0), _conv_bn(b, b, 1, pad=0))
        self.block1, self.block2, self.block3 = GlobalPool(), GlobalPool(), GlobalPool()
        self.classifier = nn.Conv2d(b, num_classes, 1)
        self.logits = GlobalPool()

    probe_layers = ("block1", "block2", "block3", "logits")

    def replace_head(self, num_classes: int) -> None:
        """A fresh, randomly initialized readout for ``num_classes`` (e.g. after pretraining on other labels)."""
        old = self.classifier
        self.classifier = nn.Conv2d(old.in_channels, num_classes, 1).to(old.weight.device)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv1(x)
        self.block1(x)
        x = self.conv2(x)
        self.block2(x)
        x = self.conv3(x)
        self.block3(x)
        return self.logits(self.classifier(x))


CIFAR_MODELS = {"resnet18": ResNet18, "allcnn": AllCNN}


def cifar_model(name: str, num_classes: int, width: float = 1.0) -> nn.Module:
    if name not in CIFAR_MODELS:
        raise ValueError(f"model must be one of {sorted(CIFAR_MODELS)}, got {name!r}")
    return CIFAR_MODELS[name](num_classes, width)
