"""The layer graph view: one box per layer, folding, search, selection, font scale, export, and the
``cnn-explorer graph`` command. Widget tests run on the offscreen platform (conftest.py)."""

from __future__ import annotations

import itertools
from xml.etree import ElementTree

import pytest
from cnn_explorer.app.cli import main
from cnn_explorer.app.core.view_data import graph_data_from, node_title
from cnn_explorer.models.zoo.loader import load_model, summarize
from cnn_explorer.widgets.common import format
from cnn_explorer.widgets.graph.data import GraphBlock, GraphData, GraphEdge, GraphNode
from cnn_explorer.widgets.graph.layout import BLOCK_KIND, fold_graph, layout_graph, outermost_foldable
from cnn_explorer.widgets.graph.view import FRAME_ROLE, KEY_ROLE, GraphView
from cnn_explorer.widgets.common.theme import THEMES, graph_colors
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QImage

RESNET18_BLOCKS = {f"layer{i}.{j}" for i in range(1, 5) for j in range(2)}


@pytest.fixture(scope="module")
def resnet18():
    """Built once for the module: the tests only read it."""
    return graph_data_from(summarize(load_model("resnet18", weights="random")))


@pytest.fixture
def view(qtbot, resnet18):
    widget = GraphView()
    qtbot.addWidget(widget)
    widget.resize(900, 700)
    widget.show()
    qtbot.waitExposed(widget)
    widget.set_data(resnet18, folded=())
    return widget


def node_items(view):
    return [item for item in view._scene.items() if item.data(KEY_ROLE) is not None]


def assert_centred(view, key):
    """The node is in sight, at the vertical centre (a graph narrower than the view cannot move sideways)."""
    rect, canvas = view.node_rect(key), view._canvas
    assert canvas.mapToScene(canvas.viewport().rect()).boundingRect().contains(rect)
    assert rect.top() <= viewport_centre_in_scene(view).y() <= rect.bottom()


def viewport_centre_in_scene(view):
    canvas = view._canvas
    return canvas.mapToScene(canvas.viewport().rect().center())


# -- the data the view gets ---------------------------------------------------------------------------

def test_adapter_titles_shapes_kinds_and_blocks(resnet18):
    conv1 = resnet18.node_by_name("conv1")
    assert (conv1.title, conv1.shape, conv1.kind, conv1.params) == ("Conv 7×7 /2", (64, 112, 112), "conv", 9408)
    assert format.shape(conv1.shape, conv1.extra_outputs) == "64×112×112"
    assert resnet18.node_by_name("maxpool").title == "MaxPool 3×3 /2"
    add = resnet18.node_by_name("layer1.0.add")
    assert (add.title, add.kind, add.scope, add.blocks) == ("+", "merge", "layer1.0", ("layer1", "layer1.0"))
    assert resnet18.node_by_name("layer1.0.conv1").blocks == ("layer1", "layer1.0", "layer1.0.conv1")
    assert resnet18.in_block(add, "layer1.0") and not resnet18.in_block(add, "layer1.1")
    assert resnet18.blocks["layer1.0"].parents == ("layer1",) and resnet18.block_in_block("layer1.0", "layer1")
    assert resnet18.node_by_name("flatten").title == "flatten"
    fc = resnet18.node_by_name("fc")
    assert (fc.title, fc.shape, fc.kind) == ("Linear 1000", (1000,), "linear")
    assert {p for p, b in resnet18.blocks.items() if b.foldable} == RESNET18_BLOCKS
    assert not resnet18.blocks["layer1"].foldable  # a Sequential only holds the blocks
    assert not resnet18.blocks["layer1.0.conv1"].foldable  # a layer is no block
    assert not resnet18.blocks[""].foldable
    # The lecture's title (tests/app/test_vocabulary.py), the module's class beside it.
    assert (resnet18.blocks["layer2.0"].type_name, resnet18.blocks["layer2.0"].class_name) == ("Basic block 3.1",
                                                                                              "BasicBlock")


def test_alexnet_titles_follow_the_paper():
    data = graph_data_from(summarize(load_model("alexnet", weights="random")))
    titles = [n.title for n in data.nodes]
    assert "Conv 11×11 /4" in titles and "MaxPool 3×3 /2" in titles and "Linear 4096" in titles
    first_conv = next(n for n in data.nodes if n.kind == "conv")
    assert first_conv.shape == (64, 55, 55) and format.params(first_conv.params) == "23.3k params"


def test_format_params():
    assert format.params(34944) == "34.9k params"
    assert format.params(61_100_840) == "61.1M params"
    assert format.params(512) == "512 params"
    assert format.params(0) == "0 params"


# -- folding and layout without Qt ----------------------------------------------------------------------

def _diamond_in_a_block() -> GraphData:
    """in → [a → (b, c) → d] → out, with a..d in the block "blk"."""
    def node(i, name, blocks):
        return GraphNode(id=i, name=name, title=name, shape=(8, 4, 4), params=10, kind="conv",
                         scope=blocks[-1] if blocks else "", blocks=blocks)

    nodes = [node(0, "in", ()), node(1, "blk.a", ("blk", "blk.a")), node(2, "blk.b", ("blk", "blk.b")),
             node(3, "blk.c", ("blk", "blk.c")), node(4, "blk.add", ("blk",)), node(5, "out", ("out",))]
    edges = [GraphEdge(s, d, (8, 4, 4)) for s, d in [(0, 1), (1, 2), (1, 3), (2, 4), (3, 4), (4, 5), (0, 5)]]
    blocks = {"": GraphBlock("", "Net", False), "blk": GraphBlock("blk", "Diamond", True)}
    return GraphData("toy", nodes, edges, blocks)


def test_fold_graph_collapses_a_block_and_merges_edges():
    data = _diamond_in_a_block()
    folded = fold_graph(data, {"blk"})
    assert [n.key for n in folded.nodes] == ["in", "blk", "out"]
    block = folded.nodes[1]
    assert block.kind == BLOCK_KIND and block.params == 40 and block.members == [1, 2, 3, 4]
    assert block.shape == "8×4×4" and all(e.shape == "8×4×4" for e in folded.edges)  # written by format.shape
    assert sorted((e.src, e.dst) for e in folded.edges) == [(0, 1), (0, 2), (1, 2)]
    assert len(fold_graph(data, set()).nodes) == 6


def test_layout_places_layers_top_to_bottom_without_overlap():
    data = _diamond_in_a_block()
    graph = fold_graph(data, set())
    layout = layout_graph(graph, [(100.0, 50.0)] * len(graph.nodes))
    ys = [y for _, y in layout.centers]
    assert ys[0] < ys[1] < ys[2] == ys[3] < ys[4] < ys[5]
    (xb, _), (xc, _) = layout.centers[2], layout.centers[3]
    assert abs(xb - xc) >= 100  # side by side, not on top of each other
    skip = next(r for r in layout.edges if (r.src, r.dst) == (0, 5))
    assert len(skip.points) > 2  # bends around the layers it skips


def test_a_tensor_reused_by_many_layers_goes_on_a_bus():
    """DenseNet-like: every layer takes the outputs of all layers before it."""
    count = 8
    nodes = [GraphNode(i, f"n{i}", "cat", (1,), 0, "merge", "") for i in range(count)]
    edges = [GraphEdge(s, d, (1,)) for d in range(count) for s in range(d)]
    graph = fold_graph(GraphData("dense", nodes, edges), set())
    layout = layout_graph(graph, [(80.0, 40.0)] * count)
    assert layout.buses
    assert all(len(r.points) == 2 for r in layout.edges if r.bus is None)  # only neighbours joined directly
    xs = {round(x) for x, _ in layout.centers}
    assert len(xs) == 1  # one straight column


# -- the view -----------------------------------------------------------------------------------------

def test_one_item_per_node(view, resnet18):
    assert len(node_items(view)) == len(resnet18.nodes) == 70
    assert view.visible_nodes() == [n.name for n in resnet18.nodes]
    rects = [view.node_rect(n.name) for n in resnet18.nodes]
    assert all(a.bottom() < b.top() or a.right() < b.left() or b.right() < a.left()
               for a, b in itertools.pairwise(rects))  # in order, top to bottom, never on top of each other


def test_folding_a_block_replaces_its_nodes_by_one(view, qtbot, resnet18):
    inside = [n.name for n in resnet18.nodes if resnet18.in_block(n, "layer1.0")]
    assert len(inside) == 7
    with qtbot.waitSignal(view.folding_changed):
        assert view.fold("layer1.0")
    shown = view.visible_nodes()
    assert len(shown) == 70 - 7 + 1 and len(node_items(view)) == len(shown)
    assert "layer1.0" in shown and not set(inside) & set(shown)
    assert view.folded_blocks() == {"layer1.0"}
    assert view.title_item("layer1.0").text() == "Basic block 2.1"
    assert not view.fold("layer1.0") and not view.fold("layer1") and not view.fold("conv1")
    assert view.unfold("layer1.0")
    assert view.visible_nodes() == [n.name for n in resnet18.nodes]


def test_fold_all_and_unfold_all(view):
    view.fold_all()
    assert view.folded_blocks() == RESNET18_BLOCKS
    assert view.visible_nodes() == ["input", "conv1", "bn1", "relu", "maxpool", *sorted(RESNET18_BLOCKS),
                                    "avgpool", "flatten", "fc"]
    view.unfold_all()
    assert view.folded_blocks() == set() and len(view.visible_nodes()) == 70


def test_set_data_folds_by_default(qtbot, resnet18):
    widget = GraphView()
    qtbot.addWidget(widget)
    widget.set_data(resnet18)
    assert widget.folded_blocks() == set(outermost_foldable(resnet18)) == RESNET18_BLOCKS


def test_search_unfolds_selects_and_centres(view, qtbot):
    view.fold_all()
    with qtbot.waitSignal(view.node_selected) as signal:
        assert view.search("layer3.1.CONV2")
    assert signal.args == ["layer3.1.conv2"]
    assert view.selected_node() == "layer3.1.conv2"
    assert "layer3.1" not in view.folded_blocks() and "layer3.0" in view.folded_blocks()
    assert_centred(view, "layer3.1.conv2")
    assert view.search("layer4.1.bn")  # partial name
    assert view.selected_node() in ("layer4.1.bn1", "layer4.1.bn2")
    first = view.selected_node()
    assert view.search("layer4.1.bn") and view.selected_node() != first  # again: the next match
    assert not view.search("no such layer")


def test_click_on_a_node_emits_its_name(view, qtbot):
    with qtbot.assertNotEmitted(view.node_selected):
        assert view.select_node("layer2.0.conv1")  # from outside: selects without echoing
    canvas = view._canvas
    centre = view.node_rect("layer2.0.conv1").center()
    with qtbot.waitSignal(view.node_selected) as signal:
        qtbot.mouseClick(canvas.viewport(), Qt.MouseButton.LeftButton, pos=canvas.mapFromScene(centre))
    assert signal.args == ["layer2.0.conv1"]
    view.fold("layer2.0")
    assert view.select_node("layer2.0") and view.selected_node() == "layer2.0"
    with qtbot.waitSignal(view.node_selected) as signal:
        qtbot.mouseClick(canvas.viewport(), Qt.MouseButton.LeftButton,
                         pos=canvas.mapFromScene(view.node_rect("layer2.0").center()))
    assert signal.args == ["layer2.0"]  # a folded block answers with its path


def test_select_node_unfolds_the_block_that_hides_the_layer(view):
    view.fold_all()
    assert view.select_node("layer4.0.downsample.0")
    assert "layer4.0" not in view.folded_blocks() and view.selected_node() == "layer4.0.downsample.0"
    assert not view.select_node("nothing")


def test_double_click_folds_and_unfolds(view, qtbot):
    canvas = view._canvas
    view.set_zoom(1.0)
    view.select_node("layer1.1.bn1")
    qtbot.mouseDClick(canvas.viewport(), Qt.MouseButton.LeftButton,
                      pos=canvas.mapFromScene(view.node_rect("layer1.1.bn1").center()))
    assert view.folded_blocks() == {"layer1.1"} and "layer1.1" in view.visible_nodes()
    qtbot.mouseDClick(canvas.viewport(), Qt.MouseButton.LeftButton,
                      pos=canvas.mapFromScene(view.node_rect("layer1.1").center()))
    assert view.folded_blocks() == set() and "layer1.1.bn1" in view.visible_nodes()
    # on the frame around an unfolded block, beside its nodes: folds that block
    view.select_node("layer3.0.bn2")  # brings the block into sight
    frame = next(item for item in view._scene.items() if item.data(FRAME_ROLE) == "layer3.0")
    inside_frame = frame.sceneBoundingRect().bottomLeft() + QPointF(12, -12)
    assert view._node_at(inside_frame) is None and canvas.viewport().rect().contains(canvas.mapFromScene(inside_frame))
    qtbot.mouseDClick(canvas.viewport(), Qt.MouseButton.LeftButton, pos=canvas.mapFromScene(inside_frame))
    assert view.folded_blocks() == {"layer3.0"}


def test_font_scale_grows_the_text(view):
    before = view.title_item("conv1").boundingRect()
    box_before = view.node_rect("conv1")
    view.set_font_scale(1.6)
    after = view.title_item("conv1").boundingRect()
    assert after.height() > before.height() * 1.4 and after.width() > before.width() * 1.4
    assert view.node_rect("conv1").width() > box_before.width()
    assert view.font_scale() == 1.6


def test_themes(view):
    assert THEMES == ("light", "dark", "high_contrast")  # one list of themes, in theme.py
    for theme in ("dark", "high_contrast", "light"):
        view.set_theme(theme)
        assert view.theme() == theme and len(node_items(view)) == 70
        assert view._canvas.backgroundBrush().color().name() == graph_colors(theme).background
    with pytest.raises(ValueError):
        view.set_theme("neon")
    with pytest.raises(ValueError):
        graph_colors("neon")


def test_export_png_and_svg(view, tmp_path):
    view.fold_all()
    png = view.export_image(tmp_path / "graph.png")
    image = QImage(str(png))
    assert not image.isNull() and image.height() > image.width() > 200  # a tall graph
    corner = image.pixelColor(2, 2)
    assert corner.lightness() > 200  # light theme background
    svg = view.export_image(tmp_path / "graph.svg")
    root = ElementTree.parse(svg).getroot()
    assert root.tag.endswith("svg")
    text = "".join(root.itertext())
    assert "Conv 7×7 /2" in text and "Basic block" in text
    visible = view.export_image(tmp_path / "visible.png", whole=False)
    assert QImage(str(visible)).height() < image.height()
    with pytest.raises(ValueError):
        view.export_image(tmp_path / "graph.bmp")


def test_zoom_and_fit(view, qtbot):
    view.set_zoom(1.0)
    view.zoom_in()
    assert view.zoom() == pytest.approx(1.25)
    view.zoom_out()
    assert view.zoom() == pytest.approx(1.0)
    view.fit()

    def whole_graph_shown():  # once the scroll bars have gone away
        shown = view._canvas.mapToScene(view._canvas.viewport().rect()).boundingRect()
        return shown.contains(view._scene.sceneRect().adjusted(2, 2, -2, -2))
    qtbot.waitUntil(whole_graph_shown, timeout=2000)


def test_minimap_click_recentres(view, qtbot):
    view.set_zoom(1.0)
    minimap = view._minimap
    assert minimap.isVisible()
    before = viewport_centre_in_scene(view)
    qtbot.mouseClick(minimap, Qt.MouseButton.LeftButton, pos=QPoint(minimap.width() // 2, minimap.height() - 6))
    after = viewport_centre_in_scene(view)
    assert after.y() > before.y() + 500  # moved towards the bottom of the graph


# -- the command ------------------------------------------------------------------------------------------

def test_cli_graph_writes_svg_and_png(tmp_path, capsys, qapp):
    svg = tmp_path / "x.svg"
    assert main(["graph", "resnet18", "--out", str(svg)]) == 0
    root = ElementTree.parse(svg).getroot()
    assert root.tag.endswith("svg") and "Basic block" in "".join(root.itertext())
    png = tmp_path / "x.png"
    assert main(["graph", "resnet18", "--out", str(png), "--unfold", "--theme", "dark"]) == 0
    assert not QImage(str(png)).isNull()
    assert "70 nodes" in capsys.readouterr().out


def test_cli_graph_bad_input_exits_2(tmp_path, capsys, qapp):
    assert main(["graph", "resnet_eighteen", "--out", str(tmp_path / "x.svg")]) == 2
    error = capsys.readouterr().err
    assert error.startswith("cnn-explorer: error:") and error.count("\n") == 1
    assert main(["graph", "resnet18", "--out", str(tmp_path / "x.gif")]) == 2
    assert main(["graph", "resnet18", "--out", str(tmp_path / "missing" / "x.svg")]) == 2
    assert not list(tmp_path.iterdir())


def test_node_title_of_a_grouped_convolution():
    from cnn_explorer.models.analysis.graph import Node

    depthwise = Node(id=1, name="dw", op="Conv2d", kind="module", scope="dw", inputs=[0], output_shapes=[],
                     settings={"kernel_size": (3, 3), "stride": (2, 2), "groups": 32, "in_channels": 32})
    assert node_title(depthwise) == "DW Conv 3×3 /2"
    grouped = Node(id=2, name="g", op="Conv2d", kind="module", scope="g", inputs=[0], output_shapes=[],
                   settings={"kernel_size": (5, 5), "stride": (1, 1), "groups": 2, "in_channels": 96})
    assert node_title(grouped) == "Conv 5×5, 2 groups"


def test_a_theme_switch_recolours_in_place_exactly_as_a_fresh_drawing(qtbot, resnet18, tmp_path):
    """Switching the theme recolours the drawn items (no new layout, no new items); the picture must be the
    same as the graph drawn in that theme from the start."""
    switched, fresh = GraphView(), GraphView()
    for widget in (switched, fresh):
        qtbot.addWidget(widget)
        widget.resize(900, 700)
    switched.set_data(resnet18, folded=())
    items_before = len(switched._scene.items())
    fresh.set_theme("dark")
    fresh.set_data(resnet18, folded=())
    item_ids = {id(item) for item in switched._scene.items()}
    switched.set_theme("dark")
    assert len(switched._scene.items()) == items_before
    assert {id(item) for item in switched._scene.items()} == item_ids  # the same items, recoloured
    a = QImage(str(switched.export_image(tmp_path / "switched.png")))
    b = QImage(str(fresh.export_image(tmp_path / "fresh.png")))
    assert a.size() == b.size() and a == b


@pytest.fixture(scope="module")
def densenet121():
    return graph_data_from(summarize(load_model("densenet121", weights="random")))


def test_a_new_text_size_of_a_large_graph_is_drawn_behind_the_one_shown(qtbot, densenet121):
    """DenseNet unfolded (~430 nodes) is drawn again for a new text size a step per turn of the event loop, while
    the old drawing stays on screen; it then takes its place with the selection, and a theme change or another
    size on the way is not lost."""
    from cnn_explorer.widgets.graph.view import STEPPED_NODES

    view = GraphView()
    qtbot.addWidget(view)
    view.resize(1000, 700)
    view.show()
    view.set_data(densenet121, folded=set())
    assert len(view.visible_nodes()) > STEPPED_NODES
    assert view.select_node("features.conv0")
    shown = view.title_item("features.conv0")
    size = shown.font().pixelSize()

    view.set_font_scale(1.5)
    assert view.is_rebuilding() and view.title_item("features.conv0") is shown  # the old drawing, until ready
    view.set_theme("dark")  # on the way: the new drawing takes the new colours
    view.set_font_scale(1.75)  # and the latest size
    qtbot.waitUntil(lambda: not view.is_rebuilding(), timeout=60_000)
    title = view.title_item("features.conv0")
    assert abs(title.font().pixelSize() - size * 1.75) <= 1
    assert title.brush().color().name() == graph_colors("dark").text.lower()
    assert view.selected_node() == "features.conv0" and view.visible_nodes()[0] == "input"

    view.set_font_scale(1.0)
    view.fold_all()  # a rebuild of its own replaces the one on the way
    assert not view.is_rebuilding()
    assert view.title_item(view.visible_nodes()[1]).font().pixelSize() == size


def test_a_drawing_replaced_leaves_nothing_for_the_garbage_collector(qtbot, densenet121):
    """The drawing that a new text size replaces is freed when it goes, not left in cycles for a full collection
    of the garbage collector, which then froze some later turn of the window (35-45 ms for DenseNet-201)."""
    import gc

    from cnn_explorer.widgets.graph.scene import GraphScene
    from cnn_explorer.widgets.graph.scene_parts import TextLines

    view = GraphView()
    qtbot.addWidget(view)
    view.resize(1000, 700)
    view.show()
    view.set_data(densenet121, folded=set())
    old = view._scene
    gone = []
    old.destroyed.connect(lambda: gone.append(True))
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        view.set_font_scale(1.5)
        qtbot.waitUntil(lambda: not view.is_rebuilding(), timeout=60_000)
        assert view._scene is not old
        del old
        qtbot.waitUntil(lambda: bool(gone), timeout=10_000)  # deleted a turn later
        gc.collect()
        left = [o for o in gc.garbage if isinstance(o, (GraphScene, TextLines))]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
    assert not left


def test_high_contrast_on_a_large_graph_is_drawn_behind_and_ends_as_a_fresh_drawing(qtbot, densenet121, tmp_path):
    """High contrast draws thicker edges with larger arrows: DenseNet unfolded is drawn again behind the one
    shown, which takes the new colours at once; the picture then is the graph drawn in high contrast from the
    start."""
    switched, fresh = GraphView(), GraphView()
    for widget in (switched, fresh):
        qtbot.addWidget(widget)
        widget.resize(1000, 700)
        widget.show()
    switched.set_data(densenet121, folded=set())
    fresh.set_theme("high_contrast")
    fresh.set_data(densenet121, folded=set())
    shown = switched.title_item("features.conv0")
    switched.set_theme("high_contrast")
    assert switched.is_rebuilding() and switched.title_item("features.conv0") is shown
    assert shown.brush().color().name() == graph_colors("high_contrast").text.lower()
    qtbot.waitUntil(lambda: not switched.is_rebuilding(), timeout=60_000)
    a = QImage(str(switched.export_image(tmp_path / "switched.png")))
    b = QImage(str(fresh.export_image(tmp_path / "fresh.png")))
    assert a.size() == b.size() and a == b


def test_a_new_arrangement_of_a_large_graph_is_drawn_behind_for_the_last_view_shape(qtbot, densenet121):
    """Presentation changes the arrangement and the window's shape at once: DenseNet unfolded is drawn again
    behind the one shown, once, in the last shape asked for, and is then all in sight as it was before."""
    from cnn_explorer.widgets.graph.offscreen import rounded_aspect

    view = GraphView()
    qtbot.addWidget(view)
    view.resize(1000, 700)
    view.show()
    view.set_data(densenet121, folded=set())
    view.fit()
    shown = view._scene
    view.set_arrangement("lr", True)
    assert view.is_rebuilding() and view._scene is shown  # the old drawing, until the new one is ready
    assert view.arrangement() == ("lr", True)
    view.resize(1300, 650)  # a wider view on the way
    qtbot.waitUntil(lambda: not view.is_rebuilding() and view._scene is not shown, timeout=60_000)
    layout, viewport = view._scene.layout, view._canvas.viewport()
    assert layout.direction == "lr" and max(layout.bands) >= 1
    assert view._aspect == rounded_aspect(viewport.width(), viewport.height())  # rows for the wider view
    assert "features.norm0" not in view.visible_nodes() and "features.conv0" in view.visible_nodes()  # compact
    seen = view._canvas.mapToScene(viewport.rect()).boundingRect()
    assert all(seen.contains(view.node_rect(key)) for key in view.visible_nodes())  # whole, as before


def test_unfolding_all_of_a_large_graph_is_known_at_once_and_drawn_behind(qtbot, densenet121):
    """Unfold all on DenseNet (~30 nodes folded, ~430 unfolded): the new nodes are known at once, the old drawing
    stays on screen until the new one is complete, which then is the one a direct drawing gives, with the
    selection kept. A selection by name right after draws it at once; folding all again
    (a small graph) is drawn at once."""
    from cnn_explorer.widgets.graph.view import STEPPED_NODES

    view = GraphView()
    qtbot.addWidget(view)
    view.resize(1000, 700)
    view.show()
    view.set_data(densenet121)  # folded
    assert view.select_node("features.conv0")
    shown = view._scene
    unfolded = [n.key for n in fold_graph(densenet121, set()).nodes]
    assert len(unfolded) > STEPPED_NODES

    view.unfold_all()
    assert view.visible_nodes() == unfolded and view.folded_blocks() == set()
    assert view.node_kind("features.denseblock2.denselayer1.conv1") == "conv"
    assert view.is_rebuilding() and view._scene is shown  # the old drawing, until the new one is ready
    qtbot.waitUntil(lambda: not view.is_rebuilding(), timeout=60_000)
    assert set(view._scene.node_items) == set(unfolded)
    assert view.selected_node() == "features.conv0"
    direct = GraphView()
    qtbot.addWidget(direct)
    direct.resize(1000, 700)
    direct.set_data(densenet121, folded=set())
    assert {k: view.node_rect(k) for k in unfolded} == {k: direct.node_rect(k) for k in unfolded}

    view.fold_all()
    assert not view.is_rebuilding() and "features.denseblock2" in view._scene.node_items
    view.unfold_all()
    assert view.is_rebuilding()
    assert view.select_node("features.denseblock4.denselayer16.conv2")  # its node drawn at once
    assert not view.is_rebuilding() and view.selected_node() == "features.denseblock4.denselayer16.conv2"
    assert view.node_rect("features.denseblock4.denselayer16.conv2") is not None
