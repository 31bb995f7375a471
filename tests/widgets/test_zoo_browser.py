"""widgets/explorer/zoo_browser.py: the names wrap again when their column changes width (the rows are measured
again a turn of the event loop after the header's resize, never from inside it)."""

from __future__ import annotations

from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QFontMetrics

from cnn_explorer.widgets.common import format as fmt
from cnn_explorer.widgets.explorer.layer_info import ZooItem
from cnn_explorer.widgets.explorer.zoo_browser import NAME_ROLE, ZooBrowser

LONG = "fasterrcnn_mobilenet_v3_large_320_fpn"


def _browser(qtbot, count: int, width: int) -> ZooBrowser:
    entries = [ZooItem(LONG, "Faster R-CNN", 2019, "detection")]
    entries += [ZooItem(f"net_{i}", "Net", 1990 + i % 30, "classification") for i in range(count)]
    zoo = ZooBrowser()
    qtbot.addWidget(zoo)
    zoo.resize(width, 700)
    zoo.show()
    zoo.set_entries(entries)
    qtbot.waitExposed(zoo)
    return zoo


def _row_height(zoo: ZooBrowser, name: str) -> int:
    item = zoo._items[name]
    return zoo.tree.visualItemRect(item).height()


def test_narrowing_the_name_column_wraps_a_long_name_onto_more_lines(qtbot):
    zoo = _browser(qtbot, 20, 700)
    item = zoo._items[LONG]
    assert item.data(0, NAME_ROLE) == LONG
    one_line = QFontMetrics(item.font(0)).height()
    qtbot.waitUntil(lambda: 0 < _row_height(zoo, LONG) < 2 * one_line, timeout=10_000)  # wide: one line
    zoo.resize(170, 700)
    tree = zoo.tree

    def fits() -> bool:
        rect = tree.visualItemRect(item)
        needed = QFontMetrics(item.font(0)).boundingRect(QRect(0, 0, tree.columnWidth(0) - 30, 1 << 20),
                                                         Qt.TextWordWrap, item.text(0))
        return needed.height() >= 2 * one_line and rect.height() >= needed.height()

    qtbot.waitUntil(fits, timeout=10_000)  # narrow: two lines or more, and the row is as high as they are


def test_counts_that_come_together_are_all_shown(qtbot):
    zoo = _browser(qtbot, 20, 400)
    counts = {"net_0": 61_100_000, "net_1": None, "net_2": -1, LONG: 5_123}
    for name, count in counts.items():
        zoo.set_param_count(name, count)
    expected = {"net_0": fmt.compact(61_100_000), "net_1": "…", "net_2": "?", LONG: fmt.compact(5_123)}
    qtbot.waitUntil(lambda: {name: zoo.param_text(name) for name in counts} == expected, timeout=10_000)
    assert zoo._items["net_0"].toolTip(2) == "61,100,000 parameters"
    params = zoo.tree.header()
    assert params.sectionResizeMode(2) == params.ResizeMode.ResizeToContents  # the column sizes to them again
