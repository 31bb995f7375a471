"""Issue 11, point 1: a whole architecture on one projected screen, readable from the back row.

At 1024×768 in presentation mode, after Fit, every node of LeNet-5, AlexNet and VGG-16 (and of ResNet-50 and
GoogLeNet with their blocks folded) is in sight, and every node's title is at least 14 pixels high on the
screen. Also: the left-to-right layout, the compact mode (conv + norm + activation as one node), semantic
zoom, and presentation keeping the selection and the zoom. Models are built with random weights.
"""

from __future__ import annotations

import threading
import time

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QApplication

from cnn_explorer.app.window.main_window import MainWindow
from cnn_explorer.app.window.settings import read_bool
from cnn_explorer.widgets.graph.layout import BLOCK_KIND, fold_graph
from cnn_explorer.widgets.graph.view import GraphView

LOAD_TIMEOUT_S = 120
READABLE_PX = 14.0
SCREEN = (1024, 768)


def wait_until(condition, timeout_s: float = LOAD_TIMEOUT_S) -> None:
    """Run the event loop until ``condition()`` holds (no fixed sleep: it returns as soon as it does)."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {condition}")
        QApplication.processEvents()
        time.sleep(0.005)


def load(window: MainWindow, name: str) -> None:
    window.open_model(name)
    wait_until(lambda: not window.is_loading() and window.current_model() == name)
    QApplication.processEvents()


@pytest.fixture(scope="module")
def projector(qapp, tmp_path_factory):
    """One window in presentation mode on a 1024×768 screen, shared by the fit tests (they only read it)."""
    folder = tmp_path_factory.mktemp("settings")
    settings = QSettings(str(folder / "s.ini"), QSettings.IniFormat)
    window = MainWindow("lenet5", weights="random", settings=settings, cache_dir=folder, restore_geometry=False)
    window.resize(*SCREEN)
    window.show()
    window.showFullScreen = window.show  # the offscreen "screen" is not 1024×768: the window is the projector's
    window.classroom.toggle_presentation()
    window.setGeometry(0, 0, *SCREEN)
    window.fit_docks()
    wait_until(lambda: not window.is_loading() and window.current_model() == "lenet5")
    yield window
    window.close()
    wait_until(lambda: not [t for t in threading.enumerate() if t.name.startswith("cnn-explorer")], 30)


def fitted_and_readable(window: MainWindow) -> tuple[list[str], list[str], float]:
    """After Fit: the nodes out of sight, the nodes whose title is under READABLE_PX on the screen, the zoom."""
    graph = window.graph
    graph.fit()
    QApplication.processEvents()
    canvas = graph._canvas
    seen = canvas.mapToScene(canvas.viewport().rect()).boundingRect()
    outside = [key for key in graph.visible_nodes() if not seen.contains(graph.node_rect(key))]
    small = [key for key in graph.visible_nodes()
             if graph.title_item(key).font().pixelSize() * graph.zoom() < READABLE_PX
             or not graph.title_item(key).isVisible()]
    return outside, small, graph.zoom()


@pytest.mark.parametrize("model", ["lenet5", "alexnet", "vgg16"])
def test_a_chain_net_fits_one_projected_screen_readably(projector, model):
    load(projector, model)
    outside, small, zoom = fitted_and_readable(projector)
    assert not outside, f"{model}: out of sight after Fit: {outside}"
    assert not small, f"{model}: titles under {READABLE_PX} px at zoom {zoom:.2f}: {small}"


@pytest.mark.parametrize("model", ["resnet50", "googlenet"])
def test_a_folded_net_fits_one_projected_screen_readably(projector, model):
    load(projector, model)
    graph = projector.graph
    assert graph.folded_blocks(), "its blocks open folded"
    outside, small, zoom = fitted_and_readable(projector)
    blocks = [key for key in graph.visible_nodes() if graph._scene.node(key).kind == BLOCK_KIND]
    assert len(blocks) >= 9  # ResNet-50's 16 bottlenecks, GoogLeNet's 9 Inception modules
    assert not outside, f"{model}: out of sight after Fit: {outside}"
    assert not small, f"{model}: titles under {READABLE_PX} px at zoom {zoom:.2f}: {small}"


def test_presentation_shows_the_graph_left_to_right_and_compact(projector):
    assert projector.classroom.is_presentation()
    assert projector.graph.arrangement() == ("lr", True)
    assert projector.action_map["graph_lr"].isChecked()
    assert projector.action_map["graph_compact"].isChecked()
    # The toolbar fits the projector's width: nothing hides behind its overflow button.
    bar = projector.toolbar
    assert bar.sizeHint().width() <= bar.width() + 1, (bar.sizeHint().width(), bar.width())


# -- the arrangement, in a bare graph view --------------------------------------------------------------------

@pytest.fixture(scope="module")
def nets():
    from cnn_explorer.app.core.view_data import graph_data_from
    from cnn_explorer.models.zoo.loader import load_model, summarize
    return {name: graph_data_from(summarize(load_model(name, weights="random"))) for name in ("alexnet", "resnet18")}


@pytest.fixture
def view(qtbot):
    widget = GraphView()
    qtbot.addWidget(widget)
    widget.resize(900, 600)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def test_left_to_right_puts_each_successor_to_the_right_row_by_row(view, nets):
    data = nets["alexnet"]
    view.set_arrangement("lr", False)
    view.set_data(data)
    layout, graph = view._scene.layout, view._scene.graph
    assert layout.direction == "lr"
    assert max(layout.bands) >= 1, "a 23-layer chain is wrapped into rows on a 3:2 view"
    for edge in graph.edges:
        (xs, ys), (xd, yd) = layout.centers[edge.src], layout.centers[edge.dst]
        if layout.bands[edge.src] == layout.bands[edge.dst]:
            assert xd > xs, (graph.nodes[edge.src].key, graph.nodes[edge.dst].key)
        else:  # the next row starts again at the left, below
            assert layout.bands[edge.dst] == layout.bands[edge.src] + 1 and yd > ys
    # Top to bottom again: successors below.
    view.set_arrangement("tb", False)
    layout = view._scene.layout
    assert all(layout.centers[e.dst][1] > layout.centers[e.src][1] for e in view._scene.graph.edges)


def test_compact_mode_draws_resnet18_stem_as_one_node_selected_as_its_conv(view, nets, qtbot):
    data = nets["resnet18"]
    compact = fold_graph(data, set(), compact=True)
    stem = compact.nodes[compact.index_of_key("conv1")]
    assert [data.nodes[i].name for i in stem.members] == ["conv1", "bn1", "relu", "maxpool"]
    assert {data.nodes[i].kind for i in stem.members} == {"conv", "norm", "activation", "pool"}
    assert len(compact.nodes) < len(fold_graph(data, set()).nodes)
    # Inside a residual block, conv + bn + relu merge, but nothing crosses the block's border or the add.
    first = compact.nodes[compact.index_of_key("layer1.0.conv1")]
    assert [data.nodes[i].name for i in first.members] == ["layer1.0.conv1", "layer1.0.bn1", "layer1.0.relu"]

    view.set_arrangement("tb", True)
    view.set_data(data, folded=())
    assert "bn1" not in view.visible_nodes() and "conv1" in view.visible_nodes()
    assert view.select_node("bn1") and view.selected_node() == "conv1"  # the norm is shown by its conv
    assert view.node_members("conv1") == ["conv1", "bn1", "relu", "maxpool"]
    canvas = view._canvas
    canvas.centerOn(view.node_rect("conv1").center())
    with qtbot.waitSignal(view.node_selected, timeout=10_000) as clicked:
        qtbot.mouseClick(canvas.viewport(), Qt.LeftButton, pos=canvas.mapFromScene(view.node_rect("conv1").center()))
    assert clicked.args == ["conv1"]


def test_zoomed_far_out_blocks_say_what_they_are_in_large_type(view, nets):
    view.set_arrangement("tb", False)
    view.set_data(nets["resnet18"], folded=())
    view.set_zoom(0.15)  # layer titles would be 2 px high
    scene = view._scene
    assert not view.title_item("conv1").isVisible()
    shown = [item for item, _, _ in scene._summaries if item.isVisible()]
    assert shown, "no block label in sight"
    for item in shown:  # drawn at a fixed size on the screen, whatever the zoom
        text = item.childItems()[0]
        assert text.font().pixelSize() >= READABLE_PX
    texts = {item.childItems()[0].text() for item in shown}
    assert any("layer1.0" in text for text in texts), texts
    view.set_zoom(1.0)
    assert view.title_item("conv1").isVisible() and not any(i.isVisible() for i, _, _ in scene._summaries)


# -- presentation keeps what the teacher was looking at --------------------------------------------------------

def test_f11_keeps_the_selection_and_the_zoom(qtbot, tmp_path):
    settings = QSettings(str(tmp_path / "s.ini"), QSettings.IniFormat)
    window = MainWindow("alexnet", weights="random", settings=settings, cache_dir=tmp_path, restore_geometry=False)
    qtbot.addWidget(window)
    window.resize(*SCREEN)
    window.show()
    qtbot.waitExposed(window)
    wait_until(lambda: not window.is_loading() and window.current_model() == "alexnet")
    window.select_layer("features.3")
    window.graph.set_zoom(1.3)
    window.showFullScreen = window.show  # the offscreen "screen" is not 1024×768: the window is the projector's
    window.action_map["presentation"].trigger()
    window.setGeometry(0, 0, *SCREEN)
    qtbot.waitUntil(lambda: window.graph.zoom() == pytest.approx(1.3, rel=0.02), timeout=10_000)
    assert window.classroom.is_presentation()
    assert window.selected_layer() == "features.3" and window.graph.selected_node() == "features.3"
    assert "features.3" in window.inspector.text()
    # The inspector's receptive field is in sight without scrolling, in presentation's large text.
    window.fit_docks()
    text = window.inspector.view
    qtbot.waitUntil(lambda: text.viewport().width() < 400, timeout=10_000)
    found = text.document().find("Receptive field")
    assert not found.isNull()
    found.movePosition(found.MoveOperation.Down)  # the line with the numbers
    assert text.viewport().rect().contains(text.cursorRect(found)), (text.cursorRect(found), text.viewport().rect())
    canvas = window.graph._canvas
    assert canvas.mapToScene(canvas.viewport().rect()).boundingRect().intersects(window.graph.node_rect("features.3"))
    window.action_map["presentation"].trigger()
    qtbot.waitUntil(lambda: window.graph.zoom() == pytest.approx(1.3, rel=0.02), timeout=10_000)
    assert not window.classroom.is_presentation() and window.graph.selected_node() == "features.3"
    assert window.graph.arrangement() == ("tb", False)
    window.close()


def test_the_arrangement_is_a_setting_read_with_care(qtbot, tmp_path):
    settings = QSettings(str(tmp_path / "s.ini"), QSettings.IniFormat)
    settings.setValue("graph_direction", "diagonal")
    settings.setValue("graph_compact", "perhaps")
    assert read_bool(settings, "graph_compact", False) is False
    settings.setValue("presentation_graph_compact", "false")
    window = MainWindow("lenet5", weights="random", settings=settings, cache_dir=tmp_path, restore_geometry=False)
    qtbot.addWidget(window)
    assert window.classroom.arrangement() == ("tb", False)  # nonsense falls back to the default
    window.action_map["graph_lr"].trigger()
    window.action_map["graph_compact"].trigger()
    assert window.graph.arrangement() == ("lr", True)
    settings.sync()
    assert settings.value("graph_direction") == "lr" and read_bool(settings, "graph_compact", False) is True
    assert window.classroom._arrangement[True] == ("lr", False)  # presentation's own, as saved
    wait_until(lambda: not window.is_loading())
    window.close()
