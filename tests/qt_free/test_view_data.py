"""The view data and the op taxonomy, without Qt: numbers travel as numbers, blocks have one definition."""

from __future__ import annotations

import pytest
import torchvision

from cnn_explorer.app.core.view_data import graph_data_from, layer_rows
from cnn_explorer.models.analysis import ops
from cnn_explorer.models.zoo.loader import load_model, summarize
from cnn_explorer.widgets.common import format as fmt
from cnn_explorer.widgets.explorer.layer_info import GLOBAL, Field


@pytest.fixture(scope="module")
def resnet18():
    return summarize(load_model("resnet18", weights="random"))


def test_kinds_of_operations():
    assert [ops.op_kind(op) for op in ("Conv2d", "conv2d", "MaxPool2d", "BatchNorm2d", "ReLU", "Linear", "add",
                                       "flatten", "Upsample", "Dropout", "Input", "mystery")] == \
        ["conv", "conv", "pool", "norm", "activation", "linear", "merge", "reshape", "upsample", "dropout",
         "input", "other"]
    assert ops.op_kind("SqueezeExcitationNorm") == "norm"  # by a part of its name
    assert "ConvTranspose2d" in ops.UPSAMPLING and "Conv2d" in ops.WEIGHT_LAYERS
    assert ops.pair(3) == (3, 3) and ops.pair((1, 2)) == (1, 2) and ops.pair([2, 3, 4]) == (2, 3)
    assert ops.enclosing("layer1.0.conv1") == ("layer1", "layer1.0", "layer1.0.conv1") and ops.enclosing("") == ()
    assert ops.inside("layer1.0.conv1", "layer1.0") and not ops.inside("layer1.01", "layer1.0")


def test_blocks_have_one_definition(resnet18):
    blocks = resnet18.graph.blocks()
    foldable = {path for path, b in blocks.items() if b.foldable}
    assert foldable == {f"layer{i}.{j}" for i in range(1, 5) for j in range(2)}
    block = blocks["layer1.0"]
    assert block.type_name == "BasicBlock" and block.parents == ("layer1",)
    assert [resnet18.graph.nodes[i].name for i in block.members] == [
        "layer1.0.conv1", "layer1.0.bn1", "layer1.0.relu", "layer1.0.conv2", "layer1.0.bn2", "layer1.0.add",
        "layer1.0.relu:1"]
    assert not blocks["layer1"].foldable  # a Sequential only holds the blocks


def test_view_data_carries_numbers(resnet18):
    data = graph_data_from(resnet18)
    conv1 = data.node_by_name("conv1")
    assert conv1.shape == (64, 112, 112) and conv1.params == 9408 and conv1.kind == "conv"
    assert data.in_block(data.node_by_name("layer1.0.add"), "layer1.0")
    assert data.block_in_block("layer1.0", "layer1") and not data.block_in_block("layer1", "layer1.0")
    rows = {r.name: r for r in layer_rows(resnet18)}
    assert rows["conv1"].receptive_field == Field((7, 7), (2, 2), (3, 3))
    assert rows["fc"].receptive_field == GLOBAL and rows["fc"].shape == (1000,)
    real = torchvision.models.resnet18()
    assert sum(r.params for r in rows.values()) == sum(p.numel() for p in real.parameters())


def test_formatting_lives_in_one_place():
    assert fmt.shape((64, 56, 56)) == "64×56×56" and fmt.shape((256, 13, 13), 4) == "256×13×13 + 4 more outputs"
    assert fmt.shape(None, empty="—") == "—" and fmt.shape(()) == "scalar"
    assert fmt.count(34944) == "34,944" and fmt.short(61_100_840) == "61.1 M" and fmt.compact(61_100_840) == "61.1M"
    assert fmt.params(34944) == "34.9k params" and fmt.size_bytes(3 * 2**20) == "3.00 MiB"
    assert fmt.receptive_field(Field((11, 11), (4, 4), (2, 2))) == "11 / 4 / 2"
    assert fmt.receptive_field(GLOBAL) == "global (whole image)" and fmt.receptive_field(None) == "—"
    # Receptive fields sort as what they are: none, then by size, and a global field after every size.
    keys = [fmt.receptive_field_key(rf) for rf in (None, Field((3, 3), (1, 1), (1, 1)),
                                                    Field((10**9 + 1,) * 2, (1, 1), (0, 0)), GLOBAL)]
    assert keys == sorted(keys)
    assert fmt.setting("kernel_size", (11, 11)) == "11×11" and fmt.setting("padding", (1, 2)) == "1, 2"
