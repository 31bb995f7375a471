"""The lecture's vocabulary (issue 11, point 4): layers and blocks named as the papers name them, the depth the
papers quote beside the number of operations, shapes written H×W×C when the user prefers, and a detector's
several outputs said in words.

Summaries are analyzed once per module (the analysis cache keeps them for the rest of the session); the
windows use random weights and temporary settings.
"""

from __future__ import annotations


import pytest

from cnn_explorer.app.core import view_data
from cnn_explorer.app.cli import gui_parser
from cnn_explorer.app.cli import main as cli_main
from cnn_explorer.app.window.main_window import MainWindow
from cnn_explorer.app.window.settings import SHAPE_ORDER_KEY, read_shape_order
from cnn_explorer.app.testing import LOAD_TIMEOUT_MS
from cnn_explorer.widgets.common import format as fmt
from cnn_explorer.widgets.graph.layout import fold_graph

_SUMMARIES: dict = {}


def summary(name: str):
    """The analysis of zoo model ``name`` with random weights, once per test session."""
    if name not in _SUMMARIES:
        from cnn_explorer.models.zoo.loader import load_model, summarize

        _SUMMARIES[name] = summarize(load_model(name, weights="random"))
    return _SUMMARIES[name]


def labels(name: str) -> dict[str, str]:
    """Layer name → lecture name, as the table's rows carry them."""
    return {row.name: row.label for row in view_data.layer_rows(summary(name)) if row.label}


@pytest.fixture(autouse=True)
def channels_first_again():
    yield
    fmt.set_shape_order("chw")  # the order is the process's: never leak H×W×C into another test


# -- names of layers ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("model", ["alexnet", "alexnet_2012"])
def test_alexnet_layers_are_conv1_to_fc8(model):
    rows = view_data.layer_rows(summary(model))
    by_label = {row.label: row for row in rows if row.label}
    first_conv = next(row for row in rows if row.type == "Conv2d")
    last_linear = [row for row in rows if row.type == "Linear"][-1]
    assert first_conv.label == "conv1" and first_conv.name == "features.0"
    assert last_linear.label == "fc8" and last_linear.shape == (1000,)
    assert [by_label[f"conv{i}"].type for i in range(1, 6)] == ["Conv2d"] * 5
    assert [by_label[f"fc{i}"].type for i in (6, 7, 8)] == ["Linear"] * 3
    assert by_label["pool5"].type == "MaxPool2d" and by_label["pool5"].shape == (256, 6, 6)
    if model == "alexnet_2012":  # the paper's local response normalization after conv1 and conv2
        assert by_label["norm1"].type == by_label["norm2"].type == "LocalResponseNorm"
    names = [row.label for row in rows if row.label]
    assert len(names) == len(set(names))  # no lecture name is given twice


def test_vgg16_names_conv5_3_and_fc6_and_the_inspector_says_both_names():
    named = {label: name for name, label in labels("vgg16").items()}
    rows = {row.name: row for row in view_data.layer_rows(summary("vgg16"))}
    assert rows[named["conv5_3"]].type == "Conv2d" and rows[named["conv5_3"]].shape == (512, 14, 14)
    assert rows[named["conv1_1"]].shape == (64, 224, 224) and rows[named["pool5"]].shape == (512, 7, 7)
    assert rows[named["fc6"]].type == "Linear" and rows[named["fc6"]].shape == (4096,)
    assert rows[named["fc8"]].shape == (1000,)
    s = summary("vgg16")
    node = s.graph.nodes[[n.name for n in s.graph.nodes].index(named["conv5_3"])]
    details = view_data.layer_details(node, s.graph, None, 1)
    assert (details.label, details.name) == ("conv5_3", "features.28")


def test_lenet5_layers_are_c1_to_output_in_order():
    assert list(labels("lenet5").values()) == ["C1", "S2", "C3", "S4", "C5", "F6", "output"]


def test_a_family_without_a_convention_keeps_its_module_paths():
    assert labels("resnet18") == {}


# -- titles of blocks --------------------------------------------------------------------------------------------

def test_blocks_are_titled_as_the_lectures_title_them():
    googlenet = view_data.graph_data_from(summary("googlenet")).blocks
    assert googlenet["inception3a"].type_name == "Inception 3a"
    assert googlenet["inception4e"].type_name == "Inception 4e"
    assert googlenet["inception3a"].class_name == "Inception"
    assert googlenet["conv1"].type_name == "Conv 7×7 /2 + BN + ReLU"  # BasicConv2d: conv, batch norm, F.relu
    resnet50 = view_data.graph_data_from(summary("resnet50")).blocks
    assert resnet50["layer1.0"].type_name == "Bottleneck 2.1"  # the paper's conv2_x, first block
    assert resnet50["layer4.2"].type_name == "Bottleneck 5.3"
    assert view_data.graph_data_from(summary("resnet18")).blocks["layer2.1"].type_name == "Basic block 3.2"
    # The folded node says the title, the module path beneath it.
    folded = fold_graph(view_data.graph_data_from(summary("resnet50")), {"layer1.0"})
    node = folded.nodes[folded.index_of_key("layer1.0")]
    assert (node.title, node.subtitle) == ("Bottleneck 2.1", "layer1.0")


# -- shapes as the lectures write them -----------------------------------------------------------------------------

def test_hwc_writes_alexnet_2012_conv1_as_the_reference_does():
    data = view_data.graph_data_from(summary("alexnet_2012"))
    row = next(r for r in view_data.layer_rows(summary("alexnet_2012")) if r.label == "conv1")
    assert fmt.shape(row.shape) == "96×55×55"
    fmt.set_shape_order("hwc")
    assert fmt.shape(row.shape) == "55×55×96"  # REFERENCE.md: conv1 96 11×11/4 → 55×55×96
    shown = fold_graph(data, set())
    conv1 = shown.nodes[shown.index_of_key("features.0")]
    assert (conv1.title, conv1.shape) == ("conv1 · Conv 11×11 /4", "55×55×96")
    assert fmt.shape((4096,)) == "4096"  # only feature maps change order
    with pytest.raises(ValueError):
        fmt.set_shape_order("whc")


def test_summary_shape_option_and_lecture_names(capsys):
    assert cli_main(["summary", "alexnet_2012", "--weights", "random", "--shape", "hwc"]) == 0
    out = capsys.readouterr().out
    line = next(line for line in out.splitlines() if line.startswith("conv1 "))
    assert "(features.0)" in line and "55×55×96" in line
    assert any(line.startswith("fc8 (classifier.6)") for line in out.splitlines())


# -- a detector's several outputs --------------------------------------------------------------------------------

def test_the_fpn_node_says_five_maps_p2_to_p6():
    data = view_data.graph_data_from(summary("fasterrcnn_resnet50_fpn"))
    assert data.blocks["backbone.fpn"].type_name == "FPN"
    assert data.blocks["rpn"].type_name == "RPN" and data.blocks["transform"].type_name == "Transform"
    fpn = fold_graph(data, {"backbone.fpn"})
    node = fpn.nodes[fpn.index_of_key("backbone.fpn")]
    assert node.shape.startswith("5 maps: P2–P6"), node.shape
    assert "256×200×200" in node.shape  # the finest map, stride 4 of the 800×800 image
    top = fold_graph(data, {"transform", "backbone", "rpn", "roi_heads"})
    shapes = {n.key: n.shape for n in top.nodes}
    assert shapes["rpn"].startswith("proposals")
    assert shapes["transform"].startswith("images + sizes")
    assert not any("(+" in text for text in shapes.values())


# -- the window ---------------------------------------------------------------------------------------------------

@pytest.fixture
def make_window(make_explorer, qtbot, tmp_path):
    """A window at 1024×768 whose title has been rewritten in the lecture's words (app/testing.py)."""
    def make(model: str) -> MainWindow:
        window = make_explorer(model, size=(1024, 768), cache_dir=tmp_path / "cache")
        qtbot.waitUntil(lambda: "depth" in window.windowTitle(), timeout=LOAD_TIMEOUT_MS)
        return window
    return make


def test_window_title_says_depth_and_ops_apart_and_lecture_names_select(make_window, qtbot):
    window = make_window("resnet50")
    ops = len(summary("resnet50").layers)
    assert window.windowTitle() == f"CNN Explorer — resnet50 · depth 50 (weight layers) · {ops} ops"
    overview = window.inspector.text()
    assert "depth\t50 weight layers" in overview.replace("\n", "\t") or "50 weight layers" in overview
    assert f"operations\t{ops}" in overview.replace("\n", "\t") or str(ops) in overview
    assert window.select_layer("Bottleneck 2.1")  # a block by its lecture title
    assert window.selected_layer() == "layer1.0"
    assert window.inspector.text().startswith("Bottleneck 2.1")
    assert "module layer1.0" in window.inspector.text()


def test_view_shapes_hwc_is_applied_everywhere_and_remembered(make_window, qtbot):
    window = make_window("alexnet_2012")
    assert window.select_layer("conv1") and window.selected_layer() == "features.0"
    assert "96×55×55" in window.inspector.text()
    window.findChild(type(window.action_map["shape_hwc"]), "shape_hwc").trigger()
    assert "55×55×96" in window.inspector.text() and "96×55×55" not in window.inspector.text()
    assert window.table.model.column_texts(2)[window.table.model.row_of("features.0")] == "55×55×96"
    assert window.table.model.column_texts(0)[window.table.model.row_of("features.0")] == "conv1  (features.0)"
    assert window.selected_layer() == "features.0" and window.graph.selected_node() == "features.0"
    assert window.settings.value(SHAPE_ORDER_KEY) == "hwc"
    window.settings.setValue(SHAPE_ORDER_KEY, "sideways")  # a hand-edited file falls back to the default
    assert read_shape_order(window.settings) == "chw"
    window.find_box.setText("fc8")
    assert window.find_next() and window.selected_layer() == "classifier.6"


def test_select_conv1_on_the_command_line(make_window):
    # What `cnn-explorer alexnet --select conv1` does once the model is shown (app/launch.py): the paper's
    # name selects torchvision's features.0; a name the model lacks is still refused.
    args = gui_parser().parse_args(["alexnet", "--weights", "random", "--select", "conv1"])
    window = make_window(args.model)
    assert window.select_layer(args.select) and window.selected_layer() == "features.0"
    assert window.graph.selected_node() == "features.0" and window.table.current_layer() == "features.0"
    assert not window.select_layer("conv9") and window.selected_layer() == "features.0"
