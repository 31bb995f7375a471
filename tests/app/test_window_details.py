"""The smaller defects of issue 11 (the lecture hall), driven as a user meets them: the zoo's names and order,
the window's first size, the inspector's weights line, the graph's zoom keys in F1, selecting a block under
"unfold all", the status bar's MACs, and a click on empty canvas.

Settings go to a temporary folder, models are small ones with random weights (or the zoo's own trained ones).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QEvent, QPoint, QRect, Qt
from PySide6.QtGui import QFontMetrics, QHelpEvent
from PySide6.QtWidgets import QApplication, QGraphicsView, QStyle, QTableWidget, QToolTip

from cnn_explorer.app.window.main_window import MainWindow
from cnn_explorer.app.testing import LOAD_TIMEOUT_MS
from cnn_explorer.widgets.common import format as fmt
from cnn_explorer.widgets.explorer.layer_info import ModelOverview
from cnn_explorer.widgets.explorer.zoo_browser import NAME_ROLE

README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.fixture
def make_window(make_explorer):
    """A window at 1024×768 (as ``--size`` makes it: docks fitted), LeNet-5 by default (app/testing.py)."""
    def make(model: str = "lenet5", size: tuple[int, int] | None = (1024, 768), **kwargs) -> MainWindow:
        return make_explorer(model, size=size, fit_docks=True, **kwargs)
    return make


def model_items(tree):
    """Every model's item of the zoo tree (task › era › model)."""
    for i in range(tree.topLevelItemCount()):
        task = tree.topLevelItem(i)
        for j in range(task.childCount()):
            era = task.child(j)
            for k in range(era.childCount()):
                yield era.child(k)


# -- 1. the zoo: whole names, natural order ----------------------------------------------------------------------

def test_the_zoo_sorts_names_naturally_within_an_era(qtbot, make_window):
    window = make_window()
    qtbot.waitUntil(lambda: len(window.zoo.entries()) > 50, timeout=LOAD_TIMEOUT_MS)
    names = window.zoo.visible_names()
    resnets = [n for n in names if n in ("resnet18", "resnet34", "resnet50", "resnet101", "resnet152")]
    assert resnets == ["resnet18", "resnet34", "resnet50", "resnet101", "resnet152"]
    vggs = [n for n in names if n.startswith("vgg")]
    assert vggs == ["vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19", "vgg19_bn"]


def test_the_zoo_shows_whole_names_in_a_narrow_dock(qtbot, make_window):
    window = make_window()
    qtbot.waitUntil(lambda: len(window.zoo.entries()) > 50, timeout=LOAD_TIMEOUT_MS)
    assert window.zoo_dock.width() <= 270  # the dock at 1024 pixels: about 250
    tree = window.zoo.tree
    qtbot.waitUntil(lambda: tree.visualRect(tree.indexFromItem(tree.topLevelItem(0))).height() > 0)
    margin = tree.style().pixelMetric(QStyle.PM_FocusFrameHMargin, None, tree) + 1
    checked = wrapped = 0
    for item in model_items(tree):
        name = item.data(0, NAME_ROLE)
        assert item.text(0).replace("\u200b", "") == name  # the whole name, breakable at "_" only
        assert name in item.toolTip(0)
        rect = tree.visualRect(tree.indexFromItem(item, 0))
        metrics = QFontMetrics(item.font(0))
        room = rect.width() - 2 * margin
        needed = metrics.boundingRect(QRect(0, 0, room, 1 << 20), Qt.TextWordWrap, item.text(0))
        assert needed.width() <= room, f"{name} is cut: {needed.width()} > {room} pixels wide"
        assert needed.height() <= rect.height(), f"{name} is cut: {needed.height()} > {rect.height()} pixels high"
        checked += 1
        wrapped += needed.height() > metrics.height()
    assert checked > 100 and wrapped > 0  # fasterrcnn_mobilenet_v3_large_320_fpn and friends take two lines


# -- 2. the window fits the screen it opens on -------------------------------------------------------------------

def test_the_default_window_fits_the_screen(qtbot, make_window):
    window = make_window(size=None)
    area = window.screen().availableGeometry()
    assert window.width() <= 0.95 * area.width() + 1 and window.height() <= 0.95 * area.height() + 1
    assert window.width() <= 1440 and window.height() <= 900


def test_a_size_given_after_construction_still_wins(qtbot, make_window):
    window = make_window(size=(700, 500))
    assert (window.width(), window.height()) == (700, 500)


# -- 3. the inspector's weights: one line, the details on hover ---------------------------------------------------

def test_the_weights_line_is_short_with_the_whole_message_on_hover(qtbot, make_window):
    window = make_window("zfnet_shapes", weights="pretrained")
    message = window.current_result().weights_message
    assert message.startswith("trained weights from ") and "/" in message
    view = window.inspector.view
    text = window.inspector.text()
    assert "trained weights" in text
    assert message not in text and str(Path(message.split(" from ", 1)[1]).parent) not in text
    cursor = view.document().find("trained weights")
    assert not cursor.isNull()
    assert cursor.block().layout().lineCount() == 1  # one line at 1024 pixels, not six
    assert cursor.charFormat().toolTip() == message

    # Hovering the line shows the whole message.
    view.verticalScrollBar().setValue(0)
    point = view.cursorRect(cursor).center() - QPoint(20, 0)
    QApplication.sendEvent(view.viewport(), QHelpEvent(QEvent.ToolTip, point, view.viewport().mapToGlobal(point)))
    qtbot.waitUntil(lambda: QToolTip.isVisible() and QToolTip.text() == message, timeout=5000)
    QToolTip.hideText()


def test_weights_messages_in_short():
    assert fmt.weights_short("random initialization") == "random initialization"
    assert fmt.weights_short("pretrained weights from /home/u/.cache/torch/alexnet-owt-7be5be79.pth") == "pretrained"
    assert fmt.weights_short("trained weights from /x/assets/lenet5_digits.safetensors") == "trained weights"
    assert fmt.weights_short("weights from /tmp/mine.pt (2 keys missing)") == "file (mine.pt)"
    assert fmt.weights_short("pretrained weights not in /p and CNN_EXPLORER_OFFLINE is set; random initialization") \
        == "random initialization"


# -- 4. zoom is documented -------------------------------------------------------------------------------------------

def test_f1_and_the_readme_tell_how_to_zoom_the_graph(qtbot, make_window):
    window = make_window()
    listed = {action: keys for menu, action, keys in window.shortcut_list() if menu == "Graph"}
    assert "Ctrl+wheel" in listed["Zoom in"] and "+" in listed["Zoom in"]
    assert "Ctrl+wheel" in listed["Zoom out"] and "-" in listed["Zoom out"]
    assert listed["Fit graph (graph focused)"] == "0"
    dialog = window.show_shortcuts()
    table = dialog.findChild(QTableWidget)
    shown = {table.item(row, 1).text() for row in range(table.rowCount())}
    assert {"Zoom in", "Zoom out"} <= shown
    dialog.close()
    # What F1 says is so: + and − zoom the focused graph.
    canvas = window.graph.findChild(QGraphicsView)
    canvas.setFocus()
    before = window.graph.zoom()
    qtbot.keyClick(canvas, Qt.Key_Plus)
    assert window.graph.zoom() > before
    qtbot.keyClick(canvas, Qt.Key_Minus)
    assert window.graph.zoom() == pytest.approx(before)
    readme = README.read_text(encoding="utf-8")
    explorer = readme.split("## The explorer", 1)[1].split("\n## ", 1)[0]
    assert "Ctrl+wheel" in explorer and "+ and −" in explorer


# -- 5. a block selected while everything is unfolded ------------------------------------------------------------------

def test_selecting_an_unfolded_block_brings_its_frame_into_sight(qtbot, make_window):
    window = make_window("googlenet")
    window.graph.unfold_all()
    assert window.select_layer("inception4a")
    assert window.selected_layer() == "inception4a"
    assert window.inspector.shown().name == "inception4a"
    key = window.graph.selected_node()
    assert key is not None and key.startswith("inception4a.")  # its first node, ringed
    canvas = window.graph.findChild(QGraphicsView)
    visible = canvas.mapToScene(canvas.viewport().rect()).boundingRect()
    assert visible.intersects(window.graph.node_rect(key))


# -- 6. MACs with a unit that fits -------------------------------------------------------------------------------------

def test_macs_are_written_with_a_unit_that_fits():
    assert fmt.macs(416_520) == "0.42 MMACs"
    assert fmt.macs(714_188_480) == "714 MMACs"
    assert fmt.macs(71_199_744) == "71.2 MMACs"
    assert fmt.macs(4_089_184_256) == "4.09 GMACs"
    assert fmt.macs(999_900_000) == "1.00 GMACs"
    assert fmt.macs(5_000) == "5.00 kMACs"
    assert fmt.macs(12) == "12 MACs"


def test_lenet_shows_its_macs_in_the_status_bar(qtbot, make_window):
    window = make_window("lenet5")
    macs = window.current_result().totals.macs
    assert macs < 5e6
    text = window.status.totals_label.text()
    assert "0.00 GMACs" not in text and fmt.macs(macs) in text and "MMACs" in text


# -- 7. a click on empty canvas clears the selection -----------------------------------------------------------------

def test_a_click_on_empty_canvas_clears_the_selection(qtbot, make_window):
    window = make_window("lenet5")
    canvas = window.graph.findChild(QGraphicsView)
    key = window.graph.visible_nodes()[2]
    rect = window.graph.node_rect(key)
    canvas.centerOn(rect.center())
    qtbot.mouseClick(canvas.viewport(), Qt.LeftButton, pos=canvas.mapFromScene(rect.center()))
    assert window.selected_layer() == key and window.graph.selected_node() == key
    assert window.inspector.shown().name == key
    viewport = canvas.viewport().rect()
    empty = next(QPoint(x, y) for x in range(10, viewport.width() - 10, 15)
                 for y in range(10, viewport.height() - 10, 15) if not canvas.items(QPoint(x, y)))
    with qtbot.waitSignal(window.selection.changed) as changed:
        qtbot.mouseClick(canvas.viewport(), Qt.LeftButton, pos=empty)
    assert changed.args == [""]
    assert window.selected_layer() == "" and window.graph.selected_node() is None
    assert isinstance(window.inspector.shown(), ModelOverview)  # the model's overview, not the old layer
