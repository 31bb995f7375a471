"""Receptive fields: the published per-layer tables, and a measurement that uses no formula."""

from __future__ import annotations

import math

import pytest
import torch

from cnn_explorer.models.analysis.summary import analyze
from cnn_explorer.models.analysis.receptive_field import GLOBAL, Field
from cnn_explorer.models.zoo.registry import get_entry
from rf_probe import measured_field


def _fields(name, size=None):
    entry = get_entry(name)
    model = entry.build()
    summary = analyze(model, entry.input_shape(size), name=name)
    return model, summary


def _field_of(summary, layer):
    """Field of the last node recorded inside ``layer`` (a module path)."""
    node = summary.graph.nodes_in(layer)[-1]
    return node.receptive_field


def _triple(field: Field):
    assert isinstance(field, Field), field
    assert field.size[0] == field.size[1] and field.stride[0] == field.stride[1]
    return field.size[0], field.stride[0], field.padding[0]


# Araujo et al. 2019, TF-Slim alexnet_v2: the geometry of the 2012 paper's AlexNet. The field does not
# depend on the input size; the 2012 network's fully connected layers need its own 227×227.
ALEXNET_2012 = {"features.0": (11, 4, 0), "features.3": (19, 8, 0), "features.4": (51, 8, 16),
                "features.8": (99, 16, 32), "features.12": (163, 16, 64), "features.14": (195, 32, 64)}
# Araujo et al. 2019, vgg_16 (torchvision's VGG-16 has the same geometry).
VGG16 = {"features.0": (3, 1, 1), "features.4": (6, 2, 2), "features.9": (16, 4, 6), "features.16": (44, 8, 18),
         "features.23": (100, 16, 42), "features.30": (212, 32, 90)}


def test_alexnet_2012_matches_the_published_table():
    _, summary = _fields("alexnet_2012")
    assert {layer: _triple(_field_of(summary, layer)) for layer in ALEXNET_2012} == ALEXNET_2012


def test_vgg16_matches_the_published_table():
    _, summary = _fields("vgg16")
    assert {layer: _triple(_field_of(summary, layer)) for layer in VGG16} == VGG16


def test_inception_v3_mixed_7c_through_branches_and_concatenation():
    _, summary = _fields("inception_v3")
    assert _triple(_field_of(summary, "Mixed_7c")) == (1311, 32, 618)


def test_torchvision_alexnet_pool5():
    # torchvision's AlexNet pads conv1 by 2, so its field starts 2 pixels further out than TF-Slim's:
    # size and stride agree with the published 195 / 32; the padding is measured below.
    _, summary = _fields("alexnet")
    size, stride, padding = _triple(_field_of(summary, "features.12"))
    assert (size, stride) == (195, 32)
    assert padding == 66


def test_global_after_global_pooling_and_squeeze_excitation():
    _, summary = _fields("resnet18")
    assert _field_of(summary, "avgpool") == GLOBAL
    assert _field_of(summary, "fc") == GLOBAL
    _, summary = _fields("mobilenet_v3_large")
    # features.4 is the first inverted residual with squeeze-and-excitation.
    se_block = summary.graph.nodes_in("features.4")
    assert se_block[0].receptive_field != GLOBAL
    assert se_block[-1].receptive_field == GLOBAL
    assert _field_of(summary, "features.3") != GLOBAL


# (model, layer) pairs measured on a linear, positive copy of the network: chains, residual additions,
# Inception concatenations, dense concatenations and depthwise convolutions.
# One of each kind in the quick suite; the second of a kind (a larger network, more gradients) with -m slow.
PROBED = [
    ("alexnet", "features.12"),
    pytest.param("vgg16", "features.23", marks=pytest.mark.slow),  # a chain as AlexNet's: 20 s of gradients
    ("resnet18", "layer3"),
    pytest.param("resnet50", "layer2", marks=pytest.mark.slow),
    ("googlenet", "inception4a"),
    pytest.param("inception_v3", "Mixed_5d", marks=pytest.mark.slow),
    ("densenet121", "features.transition2"),
    ("mobilenet_v2", "features.10"),
    pytest.param("alexnet_2012", "features.14", marks=pytest.mark.slow),
    pytest.param("unet", "down4", marks=pytest.mark.slow),  # the 572×572 U-Net measured by gradients: a minute
]


@pytest.mark.parametrize("name,layer", PROBED)
def test_computed_field_equals_the_measured_one(name, layer):
    entry = get_entry(name)
    model = entry.build()
    # An input large enough for the centre unit's whole field (the size only sets the canvas).
    _, summary = _fields(name)
    field = _field_of(summary, layer)
    side = 32 * math.ceil((max(field.size) + 4 * max(field.stride) + 2 * max(field.padding) // 4) / 32)
    side = max(side, *entry.input_size)
    shape = entry.input_shape((side, side))
    computed = field  # the field does not depend on the input size
    size, stride, padding = measured_field(model, shape, layer)
    assert (computed.size, computed.stride, computed.padding) == (size, stride, padding)
