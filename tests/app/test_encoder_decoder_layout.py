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
from cnn_explorer.widgets.graph.layout import fold_graph, fold_stages
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
                                              ("segnet", "pooling indices"), ("deconvnet", "pooling indices")])
def test_an_encoder_decoder_is_a_u_on_a_projected_screen(projector, model, words):
    load(projector, model)
    graph = projector.graph
    skips = assert_a_u(graph, words=words)
    outside, small, zoom = fitted_and_readable(projector)
    assert not outside, f"{model}: out of sight after Fit: {outside}"
    # SegNet's and DeconvNet's 26 convolutions of VGG-16 and its mirror too: a stage a node, as their papers draw them
    assert not small, f"{model}: titles under {READABLE_PX} px at zoom {zoom:.2f}: {small}"
    if model == "unet":  # the paper's words and shapes: 512×64×64 cropped and concatenated one level up
        assert ("copy and crop", "512×64×64") in [route.label for route in skips]
    if model in ("segnet", "deconvnet"):  # the indices of all five pools handed across (the deepest's by the
        assert len(skips) >= 4  # arrow at the bottom, with the map)


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
            for name in ("unet", "segnet", "alexnet", "resnet18", "fcn_resnet50", "fcn8s_vgg16", "vgg16")}


def _compact(data):
    return fold_stages(fold_graph(data, FoldState(data).folded, compact=True), data)


def test_a_compact_u_draws_a_stage_a_node_and_keeps_what_the_skips_join(nets):
    data = nets["segnet"]
    graph = _compact(data)
    by_id = {node.id: node for node in data.nodes}
    # Every layer is drawn in exactly one node.
    drawn = [i for node in graph.nodes for i in node.members]
    assert sorted(drawn) == sorted(node.id for node in data.nodes)
    titles = [node.title for node in graph.nodes]
    # VGG-16's five stages (2, 2, 3, 3, 3 convs with BN and ReLU, then the pool), each one node ...
    assert [t for t, node in zip(titles, graph.nodes) if "encoder" in node.blocks] == \
        ["2× Conv 3×3", "2× Conv 3×3", "3× Conv 3×3", "3× Conv 3×3", "3× Conv 3×3"]
    # ... the decoder's unpoolings (where the indices go) nodes of their own, the classifier too.
    assert titles.count("MaxUnpool2d") == 5 and titles[-1] == "Conv 3×3"
    for node in graph.nodes:
        kinds = [by_id[i].kind for i in node.members]
        if len(node.members) > 1:  # a stage: its first conv's output (as the inspector says it) to its own output
            first, last = by_id[node.members[0]], by_id[node.members[-1]]
            assert kinds[0] == "conv" and "unpool" not in node.key
            assert node.shape.startswith(fmt.shape(first.shape)), node.shape
            assert node.shape.endswith(f"{last.shape[1]}×{last.shape[2]}"), node.shape
    stage = graph.nodes[graph.index_of_key("encoder.blocks.2.0")]
    assert [by_id[i].name for i in stage.members][:4] == ["encoder.blocks.2.0", "encoder.blocks.2.1",
                                                         "encoder.blocks.2.2", "encoder.blocks.2.3"]
    assert stage.merged == ("BN", "ReLU", "MaxPool 2×2 /2") and stage.shape == "256×90×120 → 45×60"
    # FCN-8s: conv3_1..conv3_3 one node, but pool4's scores, the crops and the sums stay nodes.
    fcn = _compact(nets["fcn8s_vgg16"])
    keys = [node.key for node in fcn.nodes]
    assert "stage3.conv3_1" in keys and "stage3.conv3_2" not in keys and "stage3.conv3_3" not in keys
    assert fcn.nodes[keys.index("stage3.conv3_1")].title == "3× Conv 3×3"
    assert {"score_pool4", "score_pool3", "score_pool4c.pad", "fuse_pool4.add", "fuse_pool3.add"} <= set(keys)


def test_outside_a_u_every_conv_stays_a_node(nets):
    vgg = nets["vgg16"]
    graph = fold_graph(vgg, FoldState(vgg).folded, compact=True)
    assert fold_stages(graph, vgg) is graph  # a chain: conv3_1, conv3_2, conv3_3 apart, as before
    resnet = nets["resnet18"]
    graph = fold_graph(resnet, FoldState(resnet).folded, compact=True)
    assert fold_stages(graph, resnet) is graph


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


def test_a_stage_node_is_selected_and_stepped_as_one(view, nets):
    view.set_arrangement("lr", True)
    view.set_data(nets["segnet"])
    assert view._scene.layout.u_shape
    # A layer drawn inside a stage is shown by the stage's node, which stands for all its layers.
    assert view.select_node("encoder.blocks.2.5") and view.selected_node() == "encoder.blocks.2.0"
    members = view.node_members("encoder.blocks.2.0")
    assert members[0] == "encoder.blocks.2.0" and "encoder.blocks.2.3" in members and "encoder.blocks.2.6" in members
    assert "encoder.blocks.2.3" not in view.visible_nodes() and "encoder.blocks.2.0" in view.visible_nodes()
    # Folded by the user, SegNet's encoder is one block: no U, and the decoder's convs are nodes again.
    view.fold("encoder")
    QApplication.processEvents()
    assert not view._scene.layout.u_shape
    assert "decoder.0.3" in view.visible_nodes()


def test_next_steps_from_stage_to_stage(projector):
    load(projector, "segnet")
    graph = projector.graph
    assert projector.select_layer("encoder.blocks.0.3")  # the second conv of the first stage
    assert graph.selected_node() == "encoder.blocks.0.0"
    projector.action_map["next_layer"].trigger()
    assert projector.selected_layer() == "encoder.blocks.1.0" == graph.selected_node()  # the next stage
    projector.action_map["prev_layer"].trigger()
    assert projector.selected_layer() == "encoder.blocks.0.0"
