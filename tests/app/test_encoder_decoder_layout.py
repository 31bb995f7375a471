"""Issue 23 §3: encoder–decoders in the layer graph as their papers draw them, a U.

The contracting path goes down on the left, the expanding path comes up on the right, and each skip runs
straight across, labelled with what it carries ("copy and crop") and its shape. Found from the shapes in the
graph, not from the model's name: a chain (AlexNet) and a ResNet keep their rows. At 1024×768 in presentation
mode U-Net's titles stay readable after Fit. Models are built with random weights.
"""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QApplication

from cnn_explorer.app.core.view_data import graph_data_from
from cnn_explorer.models.zoo.loader import load_model, summarize
from cnn_explorer.widgets.common import format as fmt
from cnn_explorer.widgets.graph.fold_state import FoldState
from cnn_explorer.widgets.graph.layout_u import find_u_in_data
from cnn_explorer.widgets.graph.view import GraphView

from test_lecture_layout import READABLE_PX, fitted_and_readable, load, projector  # noqa: F401 (a fixture)


def _map_height(view: GraphView, key: str) -> int:
    """The height of the map that leaves a visible node (its last layer's output)."""
    return view.graph_data().node_by_name(view.node_members(key)[-1]).shape[1]


def assert_a_u(view: GraphView, *, words: str, skips_at_least: int = 3) -> list:
    """The graph in ``view`` is drawn as a U; returns its skip routes."""
    scene = view._scene
    layout, graph = scene.layout, scene.graph
    assert layout.u_shape, "drawn as a U"
    skips = [route for route in layout.edges if route.label]
    assert len(skips) >= skips_at_least, "the skips across are labelled"
    keys = [node.key for node in graph.nodes]
    rects = {key: view.node_rect(key) for key in keys}
    y = {key: rects[key].center().y() for key in keys}
    for route in skips:
        source, target = keys[route.src], keys[route.dst]
        # Straight across, at one height: the two ends' centres within a few pixels.
        assert abs(y[source] - y[target]) < 2, (source, target)
        assert rects[source].right() < rects[target].left(), "from the encoder on the left to the decoder"
        assert route.label == (words, route.shape) and "×" in route.shape  # the shape it carries
    drawn = scene.skip_label_lines.lines()
    assert all(route.label[0] in drawn and route.label[1] in drawn for route in skips)
    # Down, then up: to the smallest map every edge goes down (or along a row), from it every edge goes up.
    heights = {key: _map_height(view, key) for key in keys}
    deepest = max(i for i, key in enumerate(keys) if heights[key] == min(heights.values()))
    for edge in graph.edges:
        s, d = keys[edge.src], keys[edge.dst]
        if edge.dst <= deepest:
            assert y[d] >= y[s] - 1, ("the encoder goes down", s, d)
        elif edge.src >= deepest:
            assert y[d] <= y[s] + 1, ("the decoder comes up", s, d)
    assert y[keys[deepest]] > max(y[keys[0]], y[keys[-1]]) + 3 * rects[keys[deepest]].height()
    # An encoder node of a map three times as high as a decoder node's lies above it.
    for key in keys[:deepest]:
        for other in keys[deepest + 1:]:
            if heights[key] >= 3 * heights[other]:
                assert rects[key].bottom() < rects[other].top(), (key, other)
    # Nothing overlaps.
    for a in range(len(keys)):
        for b in range(a + 1, len(keys)):
            assert not rects[keys[a]].intersects(rects[keys[b]]), (keys[a], keys[b])
    return skips


@pytest.mark.parametrize(("model", "words"), [("unet", "copy and crop"), ("shapes_unet", "copy and concatenate"),
                                              ("segnet", "pooling indices")])
def test_an_encoder_decoder_is_a_u_on_a_projected_screen(projector, model, words):
    load(projector, model)
    graph = projector.graph
    skips = assert_a_u(graph, words=words)
    outside, small, zoom = fitted_and_readable(projector)
    assert not outside, f"{model}: out of sight after Fit: {outside}"
    if model != "segnet":  # SegNet's 32 layers of VGG-16 and its mirror: a U, but smaller than 14 px here
        assert not small, f"{model}: titles under {READABLE_PX} px at zoom {zoom:.2f}: {small}"
    if model == "unet":  # the paper's words and shapes: 512×64×64 cropped and concatenated one level up
        assert ("copy and crop", "512×64×64") in [route.label for route in skips]


def test_fcn8s_fuses_pool4_and_pool3_scores_across_the_u(projector):
    load(projector, "fcn8s_vgg16")
    graph = projector.graph
    skips = assert_a_u(graph, words="skip, crop and sum", skips_at_least=2)
    scene = graph._scene
    keys = [node.key for node in scene.graph.nodes]
    # pool4's 512×44×44 and pool3's 256×88×88 (the paper's 500×500 input, padded 100), each scored, cropped
    # and summed with the upsampled coarser scores one row lower: strides 16 and 8.
    assert sorted(route.label[1] for route in skips) == ["256×88×88", "512×44×44"]
    for route in skips:
        row = scene.layout.layers[route.dst]
        sums = [i for i, node in enumerate(scene.graph.nodes) if node.kind == "merge" and scene.layout.layers[i] == row]
        assert len(sums) == 1, "the fusion is in the skip's row"
        edges = scene.graph.edges
        fed = {e.src for e in edges if e.dst == sums[0]}
        assert len(fed) == 2, keys[sums[0]]
        chain = {route.dst} | {e.dst for e in edges if e.src == route.dst}  # the scores and their crop
        upsampled = fed - chain
        assert len(fed & chain) == 1 and len(upsampled) == 1, [keys[i] for i in fed]
        coarser = {e.src for e in edges if e.dst in upsampled}
        assert all(scene.layout.layers[c] > row for c in coarser), "the upsampled scores come from below"
    outside, _, _ = fitted_and_readable(projector)
    assert not outside


def test_a_chain_and_a_resnet_keep_their_rows(projector):
    for model in ("alexnet", "resnet18"):
        load(projector, model)
        layout = projector.graph._scene.layout
        assert not layout.u_shape and layout.direction == "lr"
        assert not any(route.label for route in layout.edges)


@pytest.fixture(scope="module")
def nets():
    return {name: graph_data_from(summarize(load_model(name, weights="random")))
            for name in ("unet", "segnet", "alexnet", "resnet18", "fcn_resnet50")}


def test_the_u_is_read_from_the_shapes_not_the_name(nets):
    assert find_u_in_data(nets["unet"]) is not None and find_u_in_data(nets["segnet"]) is not None
    # A chain, a ResNet and an FCN without skips (torchvision's) are no U.
    for name in ("alexnet", "resnet18", "fcn_resnet50"):
        assert find_u_in_data(nets[name]) is None, name
    renamed = nets["unet"]
    renamed = type(renamed)("my segmenter", renamed.nodes, renamed.edges, renamed.blocks)
    assert find_u_in_data(renamed) is not None


def test_segnets_encoder_opens_so_that_the_u_has_its_left_arm(nets):
    assert "encoder" not in FoldState(nets["segnet"]).folded
    assert FoldState(nets["resnet18"]).folded, "other nets still open with their blocks folded"


@pytest.fixture
def view(qtbot):
    widget = GraphView()
    qtbot.addWidget(widget)
    widget.resize(1100, 800)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def test_top_to_bottom_unet_is_a_u_too_and_unfolding_keeps_it(view, nets):
    view.set_arrangement("tb", False)
    view.set_data(nets["unet"])
    skips = assert_a_u(view, words="copy and crop")
    assert len(skips) == 4
    shape = fmt.shape((64, 568, 568))
    assert ("copy and crop", shape) in [route.label for route in skips]
    # Unfolded, the crop and the concatenation are drawn: still a U.
    view.unfold_all()
    QApplication.processEvents()
    assert_a_u(view, words="copy and crop")
