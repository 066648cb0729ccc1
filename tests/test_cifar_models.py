"""CIFAR models: output shapes, probed layers, parameter counts at full width, width multiplier."""
import pytest
import torch

from uinfo.models.cifar import cifar_model
from uinfo.engine.probe import extract


@pytest.mark.parametrize("name, params", [("resnet18", 11.17e6), ("allcnn", 1.37e6)])
def test_full_width_parameter_counts_match_the_published_nets(name, params):
    model = cifar_model(name, 10)
    n = sum(p.numel() for p in model.parameters())
    assert abs(n - params) / params < 0.02, n


@pytest.mark.parametrize("name", ["resnet18", "allcnn"])
def test_narrow_nets_run_and_expose_pooled_layers(name):
    torch.manual_seed(0)
    model = cifar_model(name, 20, width=0.25)
    x = torch.randn(4, 3, 32, 32)
    assert model(x).shape == (4, 20)
    feats = extract(model, list(model.probe_layers), x)
    assert all(f.dim() == 2 and f.shape[0] == 4 for f in feats.values())
    last = model.probe_layers[-2]
    assert feats[last].shape[1] == {"resnet18": 128, "allcnn": 48}[name]
    assert feats["logits"].shape[1] == 20
    with torch.no_grad():
        model.eval()
        torch.testing.assert_close(feats["logits"], model(x))


def test_bad_model_settings():
    with pytest.raises(ValueError, match="model must be one of"):
        cifar_model("vgg", 10)
    with pytest.raises(ValueError, match="width"):
        cifar_model("allcnn", 10, width=0)


def test_the_report_and_the_probe_name_the_same_penultimate_layer():
    """The probe's collapse ratios read ``probe_layers[-2]``; the report reads ``report.cifar.PENULTIMATE``: they
    must be one layer for every net (the two names live apart so that the report stays out of the code version)."""
    from uinfo.models.cifar import CIFAR_MODELS
    from uinfo.report.cifar import PENULTIMATE

    assert set(PENULTIMATE) == set(CIFAR_MODELS)
    for name, model in CIFAR_MODELS.items():
        assert model.probe_layers[-2] == PENULTIMATE[name] and model.probe_layers[-1] == "logits", name
