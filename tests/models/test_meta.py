"""Parameter counts and MACs against torchvision's published weights metadata, for every classifier."""

from __future__ import annotations

import pytest
import torch
from torchvision.models import get_model_weights

from cnn_explorer.models.analysis import cache
from cnn_explorer.models.analysis.summary import analyze
from cnn_explorer.models.zoo.loader import build_on_meta, load_model, summarize
from cnn_explorer.models.zoo.registry import list_entries
from sampling import one_per_family

CLASSIFIERS = [e for e in list_entries("classification") if e.source == "torchvision"]


def _on_meta(entry):
    # The meta device gives every shape and FLOP of a real forward pass without computing anything.
    return build_on_meta(entry) or entry.build()


# One classifier of each family in the quick suite, every one with -m slow.
@pytest.mark.parametrize("name", one_per_family(CLASSIFIERS, prefer=("alexnet", "vgg16", "resnet50", "googlenet")))
def test_params_and_macs_match_torchvision_meta(name):
    entry = next(e for e in CLASSIFIERS if e.name == name)
    meta = get_model_weights(entry.name).DEFAULT.meta
    model = _on_meta(entry)
    summary = analyze(model, entry.input_shape(), name=entry.name)
    assert summary.total_params == meta["num_params"]
    # Each parameter belongs to exactly one layer, except in heads that do not run in inference
    # (inception_v3's auxiliary classifier).
    idle = sum(p.numel() for path, m in model.named_modules() if path not in summary.graph.modules
               for p in m.parameters(recurse=False))
    assert sum(n.params for n in summary.graph.nodes) + idle == summary.total_params
    # `_ops` is in GMACs, rounded to three decimals.
    assert abs(summary.total_macs / 1e9 - meta["_ops"]) <= 0.0005 + 1e-9


def test_meta_device_and_a_real_forward_agree():
    entry = next(e for e in CLASSIFIERS if e.name == "resnet18")
    on_meta = analyze(_on_meta(entry), entry.input_shape())
    real = analyze(entry.build(), entry.input_shape())
    assert [n.output_shapes for n in on_meta.graph.nodes] == [n.output_shapes for n in real.graph.nodes]
    assert on_meta.total_macs == real.total_macs


@pytest.mark.parametrize("name, weights", [("resnet18", "random"), ("lenet5_digits", "pretrained"),
                                           ("regnet_x_400mf", "random"), ("ssdlite320_mobilenet_v3_large", "random")])
def test_a_structure_only_load_gives_the_same_numbers(name, weights, tmp_path):
    """The CLI's summary, graph and figure build the model on the meta device (no random initialization); the
    numbers are those of a model built with its values. RegNet's builder needs real numbers, and a detector a
    real forward pass: both are built as usual."""
    lean = load_model(name, weights=weights, structure_only=True)
    full = load_model(name, weights=weights)
    assert lean.weights == full.weights
    on_meta = all(p.is_meta for p in lean.model.parameters())
    assert on_meta == (not name.startswith(("regnet", "ssdlite")))
    numbers = [summarize(loaded, store=cache.AnalysisCache(tmp_path / str(i))).to_json()
               for i, loaded in enumerate((lean, full))]
    if lean.entry.data_dependent:  # a random detector finds different boxes on each random input
        numbers = [{k: v for k, v in n.items() if k in ("total_params", "trainable_params", "input_shape")}
                   for n in numbers]
    assert numbers[0] == numbers[1]
