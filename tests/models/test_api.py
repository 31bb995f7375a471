"""``cnn_explorer.summary`` on unusual modules: every total is checked against PyTorch's own count
(``sum(p.numel() for p in model.parameters())``), against hand-counted MACs, and against ``torchinfo.summary``
where torchinfo's numbers are comparable (where they are not, the test says why)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
import torch
import torch.nn.functional as F
import torchinfo
from torch import nn

import cnn_explorer
from cnn_explorer.models.analysis.receptive_field import GLOBAL, Field

CLI_KEYS = {"name", "type", "output_shape", "params", "macs", "receptive_field"}  # summary.layer_json


def checked(model: nn.Module, **options):
    """The summary of ``model``, with the checks that hold for every model."""
    s = cnn_explorer.summary(model, **options)
    params = list(model.parameters())
    assert s.total_params == sum(p.numel() for p in params)
    assert s.trainable_params == sum(p.numel() for p in params if p.requires_grad)
    assert s.non_trainable_params == s.total_params - s.trainable_params
    assert s.total_macs == sum(layer.macs for layer in s.layers)
    assert sum(layer.params for layer in s.layers) <= s.total_params  # each parameter at one row at most
    inputs = sum(n.activation_bytes for n in s.graph.nodes if n.kind == "input")  # counted as in the CLI
    assert s.activation_bytes == inputs + sum(layer.activation_bytes for layer in s.layers)
    return s


def torchinfo_of(model: nn.Module, *inputs, **kwargs):
    return torchinfo.summary(model, input_data=list(inputs), verbose=0, **kwargs)


def row(s, name):
    return next(layer for layer in s.layers if layer.name == name)


def field(size, stride):
    return lambda rf: isinstance(rf, Field) and rf.size == (size, size) and rf.stride == (stride, stride)


# -- sharing ---------------------------------------------------------------------------------------------------

class SharedTwice(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(8, 8, bias=False)

    def forward(self, x):
        return self.linear(torch.relu(self.linear(x)))


def test_a_module_called_twice_counts_its_parameters_once_and_its_macs_twice():
    model = SharedTwice()
    s = checked(model, input_shape=(8,))
    assert s.total_params == 64 and s.total_macs == 2 * 64
    first, second = row(s, "linear"), row(s, "linear:1")
    assert (first.params, first.shared_params) == (64, 0)
    assert (second.params, second.shared_params) == (0, 64)
    info = torchinfo_of(model, torch.randn(1, 8))
    assert (info.total_params, info.total_mult_adds) == (s.total_params, s.total_macs)
    assert "(shared)" in str(s)


class TwoNames(nn.Module):
    """One block registered under two attribute names, called through both."""

    def __init__(self):
        super().__init__()
        self.encoder = nn.Conv2d(4, 4, 3, padding=1, bias=False)
        self.decoder = self.encoder

    def forward(self, x):
        return self.decoder(self.encoder(x))


def test_a_module_under_two_names_counts_once():
    model = TwoNames()
    s = checked(model, input_shape=(4, 10, 10))
    assert s.total_params == 144 and s.total_macs == 2 * 144 * 100
    assert [layer.params for layer in s.layers] == [144, 0]
    assert s.layers[-1].receptive_field == Field((5, 5), (1, 1), (2, 2))
    info = torchinfo_of(model, torch.randn(1, 4, 10, 10))
    assert (info.total_params, info.total_mult_adds) == (s.total_params, s.total_macs)


class Tied(nn.Module):
    """A language-model head: the output layer's weight is the embedding's."""

    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding(100, 16)
        self.head = nn.Linear(16, 100)
        self.head.weight = self.embedding.weight

    def forward(self, tokens):
        return self.head(self.embedding(tokens))


def test_tied_weights_count_once():
    model = Tied()
    tokens = torch.randint(0, 100, (1, 5))
    s = checked(model, example_inputs=tokens)
    assert s.total_params == 100 * 16 + 100
    head = row(s, "head")
    assert (head.params, head.shared_params) == (100, 1600)  # the bias; the weight was counted at the embedding
    assert s.total_macs == 5 * 16 * 100  # five tokens through the head; a lookup multiplies nothing
    assert head.output_shape == (1, 5, 100)
    info = torchinfo_of(model, tokens)
    # torchinfo 1.8 counts the tied weight at both layers (3,300), and its mult-adds multiply a Linear's
    # parameters by the batch only (not the 5 tokens) and count the embedding's lookups: not comparable.
    assert info.total_params - s.total_params in (0, 1600)


# -- containers and parameters outside sub-modules -------------------------------------------------------------

class Containers(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.ModuleDict({"conv": nn.Conv2d(3, 8, 3, padding=1, bias=False), "pool": nn.MaxPool2d(2)})
        self.blocks = nn.ModuleList(nn.Conv2d(8, 8, 3, padding=1, bias=False) for _ in range(3))
        self.head = nn.ModuleList([nn.Flatten(), nn.Linear(8 * 8 * 8, 10, bias=False)])

    def forward(self, x):
        x = self.stem["pool"](self.stem["conv"](x))
        for block in self.blocks:
            x = F.relu(block(x))
        for layer in self.head:
            x = layer(x)
        return x


def test_module_list_and_module_dict():
    model = Containers()
    s = checked(model, input_shape=(3, 16, 16))
    names = [layer.name for layer in s.layers if layer.kind == "module"]
    assert names == ["stem.conv", "stem.pool", "blocks.0", "blocks.1", "blocks.2", "head.0", "head.1"]
    assert s.total_macs == 216 * 256 + 3 * 576 * 64 + 512 * 10
    assert field(4, 2)(row(s, "stem.pool").receptive_field)
    assert field(16, 2)(row(s, "blocks.2").receptive_field)  # 4 + 3·2·2
    assert row(s, "head.1").receptive_field == GLOBAL
    info = torchinfo_of(model, torch.randn(1, 3, 16, 16))
    assert (info.total_params, info.total_mult_adds) == (s.total_params, s.total_macs)


class OwnParameters(nn.Module):
    """Parameters held by the model itself, outside any sub-module, and one that is never used."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, bias=False)
        self.scale = nn.Parameter(torch.ones(1, 4, 1, 1))
        self.shift = nn.Parameter(torch.zeros(4))
        self.unused = nn.Parameter(torch.zeros(7))

    def forward(self, x):
        return self.conv(x) * self.scale + self.shift[None, :, None, None]


def test_parameters_outside_sub_modules_count():
    model = OwnParameters()
    s = checked(model, input_shape=(3, 8, 8))
    assert s.total_params == 108 + 4 + 4 + 7
    assert row(s, "mul").params == 4  # the scale, at the operation that uses it
    assert sum(layer.params for layer in s.layers) == s.total_params - 7 - 4  # `shift[...]` is an index view
    assert s.total_macs == 108 * 36
    info = torchinfo_of(model, torch.randn(1, 3, 8, 8))
    assert (info.total_params, info.total_mult_adds) == (s.total_params, s.total_macs)


def test_frozen_parameters_are_not_trainable():
    model = Containers()
    for p in model.stem.parameters():
        p.requires_grad_(False)
    s = checked(model, input_shape=(3, 16, 16))
    assert s.non_trainable_params == 216
    info = torchinfo_of(model, torch.randn(1, 3, 16, 16))
    assert info.trainable_params == s.trainable_params


# -- several inputs, keyword inputs, structured outputs -------------------------------------------------------

class Siamese(nn.Module):
    def __init__(self):
        super().__init__()
        self.branch = nn.Sequential(nn.Conv2d(1, 8, 5, stride=2, bias=False), nn.ReLU(), nn.MaxPool2d(2))
        self.compare = nn.Conv2d(16, 4, 3, bias=False)

    def forward(self, left, right):
        return self.compare(torch.cat([self.branch(left), self.branch(right)], dim=1))


def test_two_inputs_as_a_list_of_shapes():
    model = Siamese()
    s = checked(model, input_shape=[(1, 88, 88), (1, 88, 88)])
    assert s.input_shapes == ((1, 1, 88, 88), (1, 1, 88, 88))
    assert s.total_params == 200 + 576
    assert row(s, "branch.0:1").params == 0 and row(s, "branch.0:1").shared_params == 200
    assert s.total_macs == 2 * 200 * 42 * 42 + 576 * 19 * 19
    assert field(5 + 1 * 2 + 2 * 4, 4)(row(s, "compare").receptive_field)  # the union of two equal fields
    info = torchinfo_of(model, torch.randn(1, 1, 88, 88), torch.randn(1, 1, 88, 88))
    assert (info.total_params, info.total_mult_adds) == (s.total_params, s.total_macs)
    assert s.to_json()["input_shape"] == [[1, 1, 88, 88], [1, 1, 88, 88]]


class Keywords(nn.Module):
    def __init__(self):
        super().__init__()
        self.image = nn.Conv2d(3, 8, 3, padding=1, bias=False)
        self.depth = nn.Conv2d(1, 8, 3, padding=1, bias=False)
        self.fuse = nn.Conv2d(8, 2, 1, bias=False)

    def forward(self, rgb, depth, *, mask=None, gain: float = 1.0):
        x = self.image(rgb) + gain * self.depth(depth)
        if mask is not None:
            x = x * mask
        return self.fuse(x)


def test_example_inputs_and_keyword_inputs():
    model = Keywords()
    rgb, depth, mask = torch.randn(2, 3, 12, 12), torch.randn(2, 1, 12, 12), torch.ones(2, 1, 12, 12)
    s = checked(model, example_inputs=(rgb, depth), example_kwargs={"mask": mask, "gain": 0.5})
    assert s.input_shapes == ((2, 3, 12, 12), (2, 1, 12, 12), (2, 1, 12, 12))  # the mask is an input too
    assert "mul:1" in [layer.name for layer in s.layers]  # gain·depth, then ·mask: the keyword path ran
    assert s.total_macs == 2 * (216 + 72 + 16) * 144  # the batch of 2 given
    info = torchinfo_of(model, rgb, depth, mask=mask, gain=0.5)
    assert (info.total_params, info.total_mult_adds) == (s.total_params, s.total_macs)
    without = checked(model, example_inputs=[rgb, depth])  # a list is the positional inputs too
    assert len(without.input_shapes) == 2 and len(without.layers) == len(s.layers) - 1
    keywords_only = checked(model, example_kwargs={"rgb": rgb, "depth": depth})
    assert keywords_only.total_macs == without.total_macs


class ListInput(nn.Module):
    """One positional argument that is a list of images (as torchvision's detectors take)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, bias=False)

    def forward(self, images: list[torch.Tensor]):
        return [self.conv(image[None]) for image in images]


def test_a_list_argument():
    model = ListInput()
    s = checked(model, example_inputs=([torch.randn(3, 10, 10), torch.randn(3, 6, 6)],))
    assert s.input_shapes == ((3, 10, 10), (3, 6, 6))
    assert s.total_macs == 108 * (64 + 16)


class DictOut(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Conv2d(3, 6, 3, bias=False)
        self.classifier = nn.Linear(6, 5, bias=False)

    def forward(self, x):
        features = self.features(x)
        return {"features": features, "logits": self.classifier(features.mean(dim=(2, 3)))}


class TupleOut(DictOut):
    def forward(self, x):
        out = super().forward(x)
        return out["logits"], (out["features"], [out["features"].amax()])


@pytest.mark.parametrize("model", [DictOut(), TupleOut()], ids=["dict", "tuple"])
def test_dict_and_tuple_outputs(model):
    s = checked(model, input_shape=(3, 9, 9))
    assert s.total_params == 162 + 30
    assert s.total_macs == 162 * 49 + 30
    assert row(s, "classifier").receptive_field == GLOBAL
    info = torchinfo_of(model, torch.randn(1, 3, 9, 9))
    assert (info.total_params, info.total_mult_adds) == (s.total_params, s.total_macs)


# -- networks that are not a stack of modules -----------------------------------------------------------------

class FunctionalOnly(nn.Module):
    """Every layer written with torch.nn.functional; the weights are plain Parameters of the model."""

    def __init__(self):
        super().__init__()
        self.w1 = nn.Parameter(torch.randn(8, 3, 3, 3))
        self.b1 = nn.Parameter(torch.zeros(8))
        self.w2 = nn.Parameter(torch.randn(10, 8))

    def forward(self, x):
        x = F.max_pool2d(F.relu(F.conv2d(x, self.w1, self.b1, stride=1, padding=1)), 2)
        return F.linear(F.adaptive_avg_pool2d(x, 1).flatten(1), self.w2)


def test_a_functional_only_network():
    model = FunctionalOnly()
    s = checked(model, input_shape=(3, 8, 8))
    assert [layer.type for layer in s.layers] == ["conv2d", "relu", "max_pool2d", "adaptive_avg_pool2d", "flatten",
                                                  "linear"]
    conv, pool = row(s, "conv2d"), row(s, "max_pool2d")
    assert conv.params == 216 + 8 and row(s, "linear").params == 80
    assert sum(layer.params for layer in s.layers) == s.total_params == 304
    assert s.total_macs == 216 * 64 + 80
    assert field(3, 1)(conv.receptive_field) and field(4, 2)(pool.receptive_field)
    assert conv.shape_arithmetic == ("(8 − 3 + 2·1)/1 + 1 = 8",)
    info = torchinfo_of(model, torch.randn(1, 3, 8, 8))
    # torchinfo counts the parameters (of the model itself) but sees no layer, so it counts no mult-adds.
    assert (info.total_params, info.total_mult_adds) == (s.total_params, 0)


def test_a_module_without_parameters():
    model = nn.Sequential(nn.MaxPool2d(2), nn.ReLU(), nn.AvgPool2d(3, stride=2), nn.Flatten())
    s = checked(model, input_shape=(2, 20, 20))
    assert (s.total_params, s.trainable_params, s.total_macs) == (0, 0, 0)
    assert field(2 + 2 * 2, 4)(row(s, "2").receptive_field)
    assert row(s, "3").output_shape == (1, 2 * 4 * 4)
    assert torchinfo_of(model, torch.randn(1, 2, 20, 20)).total_params == 0
    assert "Total params: 0" in str(s)


def test_a_single_layer_is_a_model():
    s = checked(nn.Conv2d(3, 8, 3, stride=2), input_shape=(3, 11, 11))
    assert [(layer.name, layer.type, layer.params) for layer in s.layers] == [("", "Conv2d", 224)]
    assert s.layers[0].shape_arithmetic == ("(11 − 3 + 2·0)/2 + 1 = 5",)
    assert s.total_macs == 216 * 25
    assert next(line for line in str(s).splitlines() if line.startswith("Conv2d ")).split()[-3:] == ["3", "/", "2"]


class Recurrent(nn.Module):
    """The same block applied N times in a loop (weights shared across steps)."""

    def __init__(self, steps=4):
        super().__init__()
        self.steps = steps
        self.block = nn.Sequential(nn.Conv2d(8, 8, 3, padding=1, bias=False), nn.ReLU())

    def forward(self, x):
        for _ in range(self.steps):
            x = self.block(x)
        return x


def test_a_block_applied_in_a_loop():
    model = Recurrent(steps=4)
    s = checked(model, input_shape=(8, 16, 16))
    convs = [layer for layer in s.layers if layer.type == "Conv2d"]
    assert [c.name for c in convs] == ["block.0", "block.0:1", "block.0:2", "block.0:3"]
    assert [c.params for c in convs] == [576, 0, 0, 0] and s.total_params == 576
    assert s.total_macs == 4 * 576 * 256
    assert [c.receptive_field.size[0] for c in convs] == [3, 5, 7, 9]  # each step widens the field
    info = torchinfo_of(model, torch.randn(1, 8, 16, 16))
    assert (info.total_params, info.total_mult_adds) == (s.total_params, s.total_macs)


# A DARTS search cell (Liu, Simonyan & Yang 2019): every edge is a mixed operation, the softmax-weighted sum of
# all candidate operations; a node sums the edges from all nodes before it; the cell's output concatenates its
# intermediate nodes. The architecture weights (alphas) are Parameters of the network itself.
def _candidates(c):
    return nn.ModuleList([
        nn.Sequential(nn.ReLU(), nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c, affine=False)),
        nn.Sequential(nn.ReLU(), nn.Conv2d(c, c, 3, padding=2, dilation=2, bias=False),
                      nn.BatchNorm2d(c, affine=False)),
        nn.MaxPool2d(3, stride=1, padding=1),
        nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False),
        nn.Identity(),
    ])


class MixedOp(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.ops = _candidates(c)

    def forward(self, x, weights):
        return sum(w * op(x) for w, op in zip(weights, self.ops))


class Cell(nn.Module):
    def __init__(self, c, nodes=3):
        super().__init__()
        self.nodes = nodes
        self.edges = nn.ModuleList(MixedOp(c) for i in range(nodes) for _ in range(2 + i))

    def forward(self, s0, s1, weights):
        states, edge = [s0, s1], 0
        for _ in range(self.nodes):
            states.append(sum(self.edges[edge + j](h, weights[edge + j]) for j, h in enumerate(states)))
            edge += len(states) - 1
        return torch.cat(states[2:], dim=1)


class DartsNet(nn.Module):
    def __init__(self, c=4, cells=2, nodes=3, classes=10):
        super().__init__()
        self.stem = nn.Conv2d(3, c, 3, padding=1, bias=False)
        self.cells = nn.ModuleList(Cell(c, nodes) for _ in range(cells))
        self.reduce = nn.ModuleList(nn.Conv2d(c * nodes, c, 1, bias=False) for _ in range(cells))
        self.classifier = nn.Linear(c, classes, bias=False)
        self.alphas = nn.Parameter(1e-3 * torch.randn(sum(2 + i for i in range(nodes)), 5))

    def forward(self, x):
        weights = F.softmax(self.alphas, dim=-1)
        s0 = s1 = self.stem(x)
        for cell, reduce in zip(self.cells, self.reduce):
            s0, s1 = s1, reduce(cell(s0, s1, weights))
        return self.classifier(F.adaptive_avg_pool2d(s1, 1).flatten(1))


def test_a_darts_cell_network():
    c, nodes, cells, size = 4, 3, 2, 8
    model = DartsNet(c, cells, nodes)
    s = checked(model, input_shape=(3, size, size))
    edges = sum(2 + i for i in range(nodes))
    assert s.total_params == 108 + cells * edges * 2 * 144 + cells * 12 * 4 + 40 + edges * 5
    convs_per_pass = cells * edges * 2
    assert s.total_macs == (108 + convs_per_pass * 144) * size * size + cells * 48 * size * size + 40
    assert sum(layer.params for layer in s.layers) == s.total_params - edges * 5  # the alphas feed no row
    assert sum(layer.type == "cat" for layer in s.layers) == cells
    # Every candidate keeps the size, so a node's field is the union of its edges': the dilated 3×3 (5×5)
    # widens the most. Cell 1's first node: stem (3) + 4 = 7; its cat adds two more dilated edges: 7 + 8 = 15.
    first_cat = next(layer for layer in s.layers if layer.type == "cat")
    assert field(15, 1)(first_cat.receptive_field)
    assert row(s, "classifier").receptive_field == GLOBAL
    info = torchinfo_of(model, torch.randn(1, 3, size, size))
    assert (info.total_params, info.total_mult_adds) == (s.total_params, s.total_macs)


# -- how the pass is run ------------------------------------------------------------------------------------------

class DataDependent(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(4, 4, bias=False)
        self.b = nn.Linear(4, 2, bias=False)

    def forward(self, x):
        x = self.a(x)
        return self.b(x) if x.sum() > -1e9 else x  # the branch reads the data


def test_a_forward_that_reads_its_data_runs_for_real():
    model = DataDependent()
    with pytest.raises(Exception):
        cnn_explorer.summary(model, input_shape=(4,), on_meta=True)
    s = checked(model, input_shape=(4,))  # the meta pass fails; the real one runs
    assert [layer.name for layer in s.layers][-1] == "b" and s.total_macs == 16 + 8


@pytest.mark.parametrize("on_meta", [True, False])
def test_the_model_is_left_as_it_was(on_meta):
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Dropout(0.5), nn.AdaptiveAvgPool2d(1))
    model.train()
    model[2].eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    s = checked(model, input_shape=(3, 8, 8), on_meta=on_meta)
    assert [m.training for m in model.modules()] == [True, True, True, False, True]
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert s.total_params == 112 + 8


def test_the_numbers_of_a_torchvision_model_are_its_published_ones():
    torchvision = pytest.importorskip("torchvision")
    weights = torchvision.models.ResNet18_Weights.DEFAULT
    with torch.device("meta"):
        model = torchvision.models.resnet18()
    s = checked(model)  # (3, 224, 224) by default
    assert s.input_shapes == ((1, 3, 224, 224),)
    assert s.total_params == weights.meta["num_params"]
    assert round(s.total_macs / 1e9, 3) == weights.meta["_ops"]


def test_bad_arguments_say_what_is_wrong():
    model = SharedTwice()
    with pytest.raises(ValueError, match="input_shape"):
        cnn_explorer.summary(model, input_shape="8")
    with pytest.raises(ValueError, match="input_shape"):
        cnn_explorer.summary(model, input_shape=(0, 8))
    with pytest.raises(ValueError, match="not both"):
        cnn_explorer.summary(model, input_shape=(8,), example_inputs=torch.randn(1, 8))
    with pytest.raises(TypeError, match="nn.Module"):
        cnn_explorer.summary(lambda x: x, input_shape=(8,))


# -- what it prints and writes --------------------------------------------------------------------------------

def test_the_table_has_receptive_fields_and_totals():
    s = cnn_explorer.summary(Containers(), input_shape=(3, 16, 16))
    text = str(s)
    assert repr(s) == text
    assert "RF size / stride" in text
    assert "stem.pool (MaxPool2d)" in text and "4 / 2" in text and "global" in text
    assert f"Total params: {s.total_params:,}" in text
    assert f"Trainable params: {s.trainable_params:,}" in text
    assert f"Total MACs: {s.total_macs:,}" in text
    lines = text.splitlines()
    conv_line = next(line for line in lines if line.startswith("stem.conv (Conv2d)"))
    assert conv_line.split()[2:] == ["[1,", "8,", "16,", "16]", "216", "55.30k", "3", "/", "1"]


def test_to_json_round_trips_and_its_rows_are_the_cli_rows():
    from cnn_explorer.models.zoo.loader import load_model, summarize

    loaded = load_model("lenet5", weights="random")
    cli = summarize(loaded).to_json()  # what `cnn-explorer summary lenet5 --json` prints
    s = cnn_explorer.summary(loaded.model, input_shape=cli["input_shape"][1:])
    data = s.to_json()
    assert json.loads(json.dumps(data)) == data
    assert [{k: r[k] for k in CLI_KEYS} for r in data["layers"]] == cli["layers"]
    for key in ("total_params", "trainable_params", "total_macs", "activation_bytes"):
        assert data[key] == cli[key] == getattr(s, key)
    conv = data["layers"][0]
    assert conv["param_arithmetic"] == "5·5·1·6 + 6 = 156" and conv["shape_arithmetic"] == ["(32 − 5 + 2·0)/1 + 1 = 28"]


def test_import_cnn_explorer_needs_no_qt_and_no_torch():
    script = textwrap.dedent("""
        import sys
        class NoQt:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in ("PySide6", "pyqtgraph", "shiboken6"):
                    raise ImportError(f"{name} is blocked for this test")
        sys.meta_path.insert(0, NoQt())
        import cnn_explorer
        assert "torch" not in sys.modules, "import cnn_explorer imported torch"
        assert cnn_explorer.__all__ == ["show", "summary"]
        from torch import nn
        s = cnn_explorer.summary(nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Conv2d(8, 8, 3)), (3, 32, 32))
        print(s.total_params, s.total_macs)
        print(s)
        assert not any(name.split(".")[0] in ("PySide6", "pyqtgraph", "shiboken6") for name in sys.modules)
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == f"{224 + 584} {216 * 30 * 30 + 576 * 28 * 28}"
    assert "RF size / stride" in result.stdout
