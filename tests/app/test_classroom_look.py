"""The classroom's text size and themes reach every part of the window: the docks, the styled widgets (the
style sheet's line edits, tab bars, dock titles), and dialogs opened afterwards. A text size or theme change
sets fonts and a palette and polishes only the widgets that need it (no application style sheet polish,
which held the window for 0.15-0.4 s): these tests check that nothing is left in the old size or colours."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QApplication, QInputDialog, QLabel, QLineEdit, QTabBar, QTableWidget

from cnn_explorer.widgets.common.theme import colors


def _sizes(window) -> dict[str, float]:
    """The point sizes of a dock title's label, a styled line edit (the zoo's filter), the central tab bar and
    a label in the inspector."""
    title = window.inspector_dock.titleBarWidget().findChild(QLabel)
    return {"dock title": title.font().pointSizeF(), "zoo filter": window.zoo.filter.font().pointSizeF(),
            "tab bar": window.tabs.findChild(QTabBar).font().pointSizeF(),
            "inspector": window.inspector.view.font().pointSizeF()}


def test_a_text_size_change_reaches_docks_styled_widgets_and_new_dialogs(qtbot, make_explorer):
    window = make_explorer("alexnet")
    before = _sizes(window)
    app_size = QApplication.font().pointSizeF()
    assert all(size == pytest.approx(app_size) for size in before.values()), before

    window.classroom.zoom_in()
    window.classroom.zoom_in()
    bigger = QApplication.font().pointSizeF()
    assert bigger > app_size * 1.15
    # The window and its docks at once; the styled widgets too (a style sheet no longer fixes their fonts).
    assert _sizes(window) == pytest.approx({name: bigger for name in before})
    # A dialog opened now: its table and its (styled) header.
    dialog = window.show_shortcuts()
    table = dialog.findChild(QTableWidget)
    assert table.font().pointSizeF() == pytest.approx(bigger)
    assert table.horizontalHeader().font().pointSizeF() == pytest.approx(bigger)
    dialog.close()

    window.classroom.zoom_reset()
    assert _sizes(window) == pytest.approx(before)
    dialog = window.show_shortcuts()
    assert dialog.findChild(QTableWidget).horizontalHeader().font().pointSizeF() == pytest.approx(app_size)
    dialog.close()


def _pixel(widget, point: QPoint | None = None) -> str:
    image = widget.grab().toImage()
    return image.pixelColor(point or QPoint(image.width() // 2, image.height() // 2)).name()


def test_a_theme_change_recolours_the_styled_widgets(qtbot, make_explorer):
    window = make_explorer("alexnet")
    classroom = window.classroom
    window.zoo.filter.clear()
    title = window.inspector_dock.titleBarWidget()
    try:
        for theme in ("dark", "light", "high_contrast", "dark", "light"):
            classroom.apply_theme(theme)
            c = colors(theme)
            edit = window.zoo.filter  # right of its placeholder text, inside its border
            qtbot.waitUntil(lambda: _pixel(edit, QPoint(edit.width() - 6, edit.height() // 2)) == QColor(c.base).name(),
                            timeout=10000)
            assert _pixel(title, QPoint(title.width() - 60, 3)) == QColor(c.button).name(), theme
            assert window.zoo.filter.palette().text().color().name() == QColor(c.text).name()
    finally:
        classroom.apply_theme("light")


def test_every_rule_the_style_sheet_colours_is_polished_again_on_a_theme_change():
    """A light/dark change re-polishes only the widgets of theme._COLOURED (and _COLOURED_NAMES): a new rule
    with a palette colour for another widget would keep the old theme's colours."""
    import re

    from cnn_explorer.widgets.common import theme

    for name in theme.THEMES:
        for selector, body in re.findall(r"([^{}]+)\{([^}]*)\}", theme.stylesheet(name)):
            if "palette(" not in body:
                continue
            subject = selector.split()[-1]  # "QStatusBar QLabel" styles the QLabel
            widget = re.split(r"::|:", subject)[0]
            assert widget.lstrip("#") in theme._COLOURED_NAMES if widget.startswith("#") \
                else widget in theme._COLOURED or widget == "QToolTip", selector


def _border_rows(widget, colour: str) -> int:
    """How many rows at the bottom of ``widget`` (right of its text) are in ``colour``."""
    image = widget.grab().toImage()
    x, rows = image.width() - 60, 0
    while rows < image.height() and image.pixelColor(x, image.height() - 1 - rows).name() == QColor(colour).name():
        rows += 1
    return rows


def test_high_contrast_thickens_the_borders_and_the_other_themes_thin_them_again(qtbot, make_explorer):
    """High contrast draws 2 px borders (a projector's), the other themes 1 px: the dock titles' lines, and
    the dialogs opened afterwards (their line edits)."""
    window = make_explorer("alexnet")
    classroom = window.classroom
    title = window.inspector_dock.titleBarWidget()
    try:
        for theme, width in (("dark", 1), ("high_contrast", 2), ("light", 1), ("high_contrast", 2), ("dark", 1)):
            classroom.apply_theme(theme)
            border = colors(theme).border
            qtbot.waitUntil(lambda: _border_rows(title, border) == width, timeout=10000)
            dialog = QInputDialog(window)
            dialog.setTextValue("x")
            dialog.show()
            edit = dialog.findChild(QLineEdit)
            edit.clearFocus()
            qtbot.waitUntil(lambda: _pixel(edit, QPoint(width, edit.height() // 2)) != QColor(border).name()
                            and _pixel(edit, QPoint(width - 1, edit.height() // 2)) == QColor(border).name(),
                            timeout=10000)
            dialog.close()
    finally:
        classroom.apply_theme("light")
