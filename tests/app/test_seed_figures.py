"""Figures the lectures quote, computed from the networks themselves."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from cnn_explorer.models.analysis.summary import analyze, weight_layer_depth
from cnn_explorer.models.analysis.receptive_field import Field
from cnn_explorer.models.zoo.registry import get_entry


def _summary(name):
    entry = get_entry(name)
    return analyze(entry.build(), entry.input_shape(), name=name, on_meta=not entry.data_dependent)


@pytest.mark.parametrize("name,depth", [("alexnet", 8), ("alexnet_2012", 8), ("vgg16", 16), ("vgg19", 19),
                                        ("googlenet", 22), ("resnet18", 18), ("resnet152", 152)])
def test_depth_counts_the_weight_layers_of_the_papers(name, depth):
    assert weight_layer_depth(_summary(name).graph) == depth


def test_vgg16_parameters_and_forward_memory():
    summary = _summary("vgg16")
    assert round(summary.total_params / 1e6) == 138
    # Values a forward pass keeps (ReLUs work in place): the input, then each conv, pool and FC output.
    convs_per_stage, widths, side = (2, 2, 3, 3, 3), (64, 128, 256, 512, 512), 224
    values = 3 * 224 * 224
    for convs, width in zip(convs_per_stage, widths):
        values += convs * width * side * side
        side //= 2
        values += width * side * side  # the max pool
    values += 512 * 7 * 7  # torchvision's adaptive average pool (7×7 in, 7×7 out)
    values += 4096 + 4096 + 1000
    assert summary.activation_bytes == 4 * values
    # The lecture's "~96 MB" adds these up to 24M values; they come to 15.3M (61 MB).
    assert round(values / 1e6, 1) == 15.3


def test_three_stacked_3x3_convolutions_see_7x7():
    stack = nn.Sequential(*[nn.Conv2d(8 if i else 3, 8, 3, padding=1) for i in range(3)])
    field = analyze(stack, (1, 3, 32, 32)).layers[-1].receptive_field
    assert isinstance(field, Field) and field.size == (7, 7)


def test_alexnet_2012_has_about_60_million_parameters():
    summary = _summary("alexnet_2012")
    assert 60e6 < summary.total_params < 61e6
    conv1 = summary.graph.node("features.0")
    assert conv1.output_shape == (1, 96, 55, 55) and conv1.params == 34_944
    assert summary.graph.node("features.3").output_shape == (1, 96, 27, 27)


def test_googlenet_stays_near_its_published_size():
    # "~5–7M parameters": torchvision's GoogLeNet without its auxiliary heads.
    assert 5e6 < _summary("googlenet").total_params < 7e6
