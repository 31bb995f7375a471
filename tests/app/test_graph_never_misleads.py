"""Issue 23 §2, "a graph that never misleads": what a lecturer saw at 1024×768 in presentation mode and at
1440×900. A compact node says the conv's output as the inspector does, N and P step through what is drawn,
depthwise convolutions are named at the first level, timm's Identity layers and class names stay out of sight,
leaving presentation gives the window back as it was, and the overview, the tabs, the table and the status bar
hide or misstate nothing. Models are built with random weights."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QApplication

from cnn_explorer.app.core.view_data import graph_data_from
from cnn_explorer.models.zoo.loader import load_model, summarize
from cnn_explorer.widgets.common import format as fmt
from cnn_explorer.widgets.graph.fold_state import FoldState
from cnn_explorer.widgets.graph.layout import fold_graph
from cnn_explorer.widgets.graph.view import GraphView

WAIT_MS = 60_000
SCREEN = (1024, 768)


def present(window, qtbot) -> None:
    """Presentation on a 1024×768 projector (the offscreen screen is not one: the window is the projector)."""
    window.showFullScreen = window.show
    window.action_map["presentation"].trigger()
    window.setGeometry(0, 0, *SCREEN)
    qtbot.waitUntil(lambda: window.graph.arrangement() == ("lr", True), timeout=WAIT_MS)


def open_model(window, qtbot, name: str) -> None:
    window.open_model(name)
    qtbot.waitUntil(lambda: not window.is_loading() and window.current_model() == name, timeout=120_000)


# -- 1: a compact node and the inspector say the same output -------------------------------------------------------

@pytest.mark.parametrize(("model", "layer"), [("alexnet_2012", "conv1"), ("vgg16", "conv5_3")])
def test_a_compact_node_shows_the_convs_output_as_the_inspector_does(make_explorer, qtbot, model, layer):
    window = make_explorer(model, size=SCREEN)
    present(window, qtbot)
    assert window.select_layer(layer)
    key = window.graph.selected_node()
    members = window.graph.node_members(key)
    assert len(members) > 2, "the conv is drawn with its ReLU and pool"
    result = window.current_result()
    conv, last = result.details_of(key), result.details_of(members[-1])
    inspector = fmt.shape(conv.output_shape)
    assert inspector in window.inspector.text()
    shown = window.graph.node_shape(key)
    assert shown.startswith(inspector + " "), (shown, inspector)  # the conv's output first ...
    assert shown.endswith(f"{last.output_shape[1]}×{last.output_shape[2]}")  # ... then what leaves the pool
    assert conv.output_shape != last.output_shape


# -- 2: N and P follow the nodes drawn ---------------------------------------------------------------------------

def test_next_and_previous_follow_the_visible_nodes(make_explorer, qtbot):
    window = make_explorer("alexnet_2012", size=SCREEN)
    present(window, qtbot)
    graph = window.graph
    drawn = [key for key in graph.visible_nodes() if graph.node_kind(key) != "input"]
    assert window.select_layer("conv1")
    steps = [graph.selected_node()]
    for _ in range(len(drawn) - 1):
        window.action_map["next_layer"].trigger()
        assert window.selected_layer() == graph.selected_node(), "the highlight is on the layer selected"
        steps.append(window.selected_layer())
    assert steps == drawn  # conv1, conv2 ... fc8: never a ReLU, LRN or pool hidden in conv1's box
    window.action_map["prev_layer"].trigger()
    assert window.selected_layer() == drawn[-2]
    # Folded blocks are steps too: ResNet's stem, then its first bottleneck.
    open_model(window, qtbot, "resnet50")
    window.select_layer("conv1")
    window.action_map["next_layer"].trigger()
    assert window.selected_layer() == "layer1.0" == graph.selected_node()


# -- 3: depthwise convolutions and timm's layers, named as a lecture names them -------------------------------------

def titles_after_unfolding(data, *paths) -> list[str]:
    state = FoldState(data)
    for path in paths:
        state.unfold(path)
    return [node.title for node in fold_graph(data, state.folded, compact=True).nodes]


def test_an_inverted_residual_names_its_depthwise_convolution_at_the_first_level():
    data = graph_data_from(summarize(load_model("mobilenet_v2", weights="random")))
    state = FoldState(data)
    state.unfold("features.2")  # "Inverted residual 2"
    titles = [node.title for node in fold_graph(data, state.folded, compact=True).nodes
              if "features.2" in node.blocks]
    # The expansion, the depthwise convolution (without a second unfold), the projection: three different names.
    assert titles == ["Conv 1×1 + BN + ReLU6", "DW Conv 3×3 /2 + BN + ReLU6", "Conv 1×1"]


def test_timm_mobilenet_v1_has_no_identity_nodes_and_no_class_names():
    data = graph_data_from(summarize(load_model("mobilenet_v1", weights="random")))
    assert not [n.name for n in data.nodes if n.title == "Identity"]
    folded = titles_after_unfolding(data)
    opened = titles_after_unfolding(data, *[p for p, b in data.blocks.items() if b.foldable])
    for title in folded + opened:
        assert not any(name in title for name in ("DepthwiseSeparableConv", "BatchNormAct2d", "SelectAdaptivePool2d",
                                                  "Identity", "batch_norm")), title
    assert "Depthwise separable 1" in folded
    assert "DW Conv 3×3" in opened and "Conv 1×1" in opened
    # The graph still runs from the input to the classifier: no edge lost with the Identity layers.
    reached, edges = {data.nodes[0].id}, {}
    for edge in data.edges:
        edges.setdefault(edge.src, []).append(edge.dst)
    stack = [data.nodes[0].id]
    while stack:
        for dst in edges.get(stack.pop(), ()):
            if dst not in reached:
                reached.add(dst)
                stack.append(dst)
    assert reached == {n.id for n in data.nodes}


# -- 4: leaving presentation gives the window back ------------------------------------------------------------------

def test_presentation_round_trips_restore_the_font_sizes_and_the_labels(make_explorer, qtbot):
    window = make_explorer("alexnet", size=SCREEN, fit_docks=True)
    graph, zoo = window.graph, window.zoo

    def looks() -> dict:
        item = zoo._items["alexnet_2012"]
        return {"zoo_tree": zoo.tree.font().pointSizeF(), "zoo_item": item.font(0).pointSizeF(),
                "table": window.table.table.font().pointSizeF(), "graph_scale": graph.font_scale(),
                "zoom": round(graph.zoom(), 3), "arrangement": graph.arrangement()}

    def labelled() -> bool:
        return all(graph.title_item(key).isVisible() for key in graph.visible_nodes())

    qtbot.waitUntil(lambda: zoo._items.get("alexnet_2012") is not None, timeout=WAIT_MS)
    before = looks()
    assert labelled()
    # F11, Esc: the graph as it was (not the whole graph fitted into a column too small to label).
    present(window, qtbot)
    window.action_map["cancel"].trigger()
    qtbot.waitUntil(lambda: looks() == before, timeout=WAIT_MS)
    assert labelled()
    # F11, Ctrl+plus, Esc, Ctrl+0: every font back to its size, the zoo's names at the zoo's size.
    present(window, qtbot)
    window.action_map["zoom_in"].trigger()
    qtbot.waitUntil(lambda: graph.font_scale() > 1.5, timeout=WAIT_MS)
    window.action_map["cancel"].trigger()
    qtbot.waitUntil(lambda: not window.classroom.is_presentation() and graph.arrangement() == before["arrangement"],
                    timeout=WAIT_MS)
    qtbot.waitUntil(lambda: zoo._items["alexnet_2012"].font(0).pointSizeF() == zoo.tree.font().pointSizeF(),
                    timeout=WAIT_MS)
    window.action_map["zoom_reset"].trigger()
    qtbot.waitUntil(lambda: looks()["zoo_item"] == before["zoo_item"] and looks()["table"] == before["table"]
                    and graph.font_scale() == before["graph_scale"], timeout=WAIT_MS)
    assert looks()["zoo_tree"] == before["zoo_tree"]
    assert labelled()
    # Another model opened in presentation: back in the window, it opens as a model opens there, labelled.
    present(window, qtbot)
    open_model(window, qtbot, "alexnet_2012")
    window.action_map["cancel"].trigger()
    qtbot.waitUntil(lambda: graph.arrangement() == before["arrangement"], timeout=WAIT_MS)
    qtbot.waitUntil(labelled, timeout=WAIT_MS)
    assert graph.zoom() >= 0.6  # GraphView opens a long graph at its top, readable


# -- 5: nothing hidden or stale ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def nets():
    return {name: graph_data_from(summarize(load_model(name, weights="random")))
            for name in ("resnet50", "googlenet", "shufflenet_v1_g3")}


@pytest.fixture
def view(qtbot):
    widget = GraphView()
    qtbot.addWidget(widget)
    widget.resize(700, 600)  # the graph's part of a 1024×768 projector
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def covered_nodes(view) -> list[str]:
    minimap = view._minimap
    if not minimap.isVisible():
        return []
    canvas = view._canvas
    corner = minimap.geometry().translated(-canvas.viewport().geometry().topLeft())
    shown = canvas.mapToScene(corner).boundingRect()
    return [key for key in view.visible_nodes() if view.node_rect(key).intersects(shown)]


@pytest.mark.parametrize(("model", "opened", "direction"),
                         [("resnet50", None, "lr"), ("googlenet", "inception3a", "lr"), ("googlenet", "inception3a", "tb")])
def test_the_overview_never_covers_a_node(view, nets, model, opened, direction):
    view.set_arrangement(direction, True)
    view.set_data(nets[model])
    if opened:
        view.unfold(opened)
    shown = 0
    for zoom in (0.5, 0.8, 1.0, 1.4):
        view.set_zoom(zoom)
        for key in view.visible_nodes()[::3]:
            view._canvas.centerOn(view.node_rect(key).center())
            QApplication.processEvents()
            assert not covered_nodes(view), (zoom, key, covered_nodes(view))
            shown += view._minimap.isVisible()
    assert shown, "the overview shows where a corner is free"


def test_an_unfolded_shufflenet_unit_is_all_in_sight(view, nets):
    view.set_arrangement("lr", True)
    view.set_data(nets["shufflenet_v1_g3"])
    view.fit()
    unit = next(key for key in view.visible_nodes()[2:] if view.is_foldable(key))
    assert view.unfold(unit)
    seen = view._canvas.mapToScene(view._canvas.viewport().rect()).boundingRect()
    outside = [key for key in view.visible_nodes() if not seen.contains(view.node_rect(key))]
    assert not outside


def test_every_tab_is_in_sight_at_1024(make_explorer, qtbot):
    window = make_explorer("lenet5", size=SCREEN, fit_docks=True)
    bar = window.tabs.tabBar()
    for scale in (1.0, 1.1, 1.25):
        window.classroom.set_font_scale(scale)
        qtbot.waitUntil(lambda: window.graph.font_scale() == scale, timeout=WAIT_MS)
        qtbot.waitUntil(lambda: bar.sizeHint().width() <= window.tabs.width(), timeout=WAIT_MS)
        assert bar.tabRect(bar.count() - 1).right() <= bar.width(), scale
        assert window.tabs.tabText(bar.count() - 1) == "Charts"


def test_the_status_bar_never_names_the_model_before(make_explorer, qtbot):
    window = make_explorer("lenet5")
    bar = window.statusBar()
    open_model(window, qtbot, "resnet18")
    assert "lenet5" not in bar.currentMessage()


def test_the_summary_table_in_presentation_shows_params_and_fields_uncut(make_explorer, qtbot):
    window = make_explorer("alexnet_2012", size=SCREEN)
    present(window, qtbot)
    window.tabs.setCurrentWidget(window.table)
    view = window.table.table
    header = view.horizontalHeader()

    def fits() -> bool:
        return header.length() <= view.viewport().width() and view.horizontalScrollBar().maximum() == 0

    qtbot.waitUntil(fits, timeout=WAIT_MS)
    shown = window.table.columns_shown()
    assert {"Layer", "Output", "Params", "Receptive field"} <= set(shown), shown
    metrics = view.fontMetrics()
    for title in ("Params", "Receptive field"):  # uncut: "307,456", "global (whole image)"
        column = [c for c in range(header.count()) if not view.isColumnHidden(c)][shown.index(title)]
        widest = max(metrics.horizontalAdvance(t) for t in window.table.model.column_texts(column))
        assert header.sectionSize(column) > widest, title
