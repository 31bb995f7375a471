"""Window furniture shared by the explorer's panels: a dock title bar drawn in the window's font, a message
page, the (non-blocking) error box and the keyboard-shortcuts dialog (fed plain rows). No torch."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (QAbstractItemView, QDialog, QDialogButtonBox, QDockWidget, QHBoxLayout, QHeaderView,
                               QLabel, QMessageBox, QStyle, QTableWidget, QTableWidgetItem, QToolButton, QVBoxLayout,
                               QWidget)


def size_on_screen(widget: QWidget, width: int, height: int, share: float = 0.95) -> QSize:
    """``width`` × ``height``, shrunk to at most ``share`` of the available geometry of the screen the widget
    opens on (a 1440×900 default must not overflow a 1024×768 projector)."""
    screen = widget.screen() or QGuiApplication.primaryScreen()
    if screen is None:
        return QSize(width, height)
    area = screen.availableGeometry()
    return QSize(min(width, int(area.width() * share)), min(height, int(area.height() * share)))


class DockTitleBar(QWidget):
    """A dock's title bar drawn with the window's font. Qt draws its own dock titles in a font of their own
    that the classroom font scale does not reach."""

    def __init__(self, dock: QDockWidget):
        super().__init__(dock)
        self.setObjectName("dock_title")
        self.setAttribute(Qt.WA_StyledBackground, True)
        self.label = QLabel(f"<b>{dock.windowTitle()}</b>", self)
        float_button = QToolButton(self)
        float_button.setIcon(self.style().standardIcon(QStyle.SP_TitleBarNormalButton))
        float_button.setToolTip("Float / dock")
        float_button.setAutoRaise(True)
        float_button.clicked.connect(lambda: dock.setFloating(not dock.isFloating()))
        close_button = QToolButton(self)
        close_button.setIcon(self.style().standardIcon(QStyle.SP_TitleBarCloseButton))
        close_button.setToolTip("Hide (View menu brings it back)")
        close_button.setAutoRaise(True)
        close_button.clicked.connect(dock.close)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 2, 2, 2)
        layout.setSpacing(2)
        layout.addWidget(self.label, 1)
        layout.addWidget(float_button)
        layout.addWidget(close_button)


def _open_with_close_button(dialog: QDialog, content: QWidget, size: tuple[int, int]) -> QDialog:
    """``content`` above a Close button in ``dialog``, opened (non-blocking) and deleted on close."""
    buttons = QDialogButtonBox(QDialogButtonBox.Close, dialog)
    buttons.rejected.connect(dialog.reject)
    layout = QVBoxLayout(dialog)
    layout.addWidget(content)
    layout.addWidget(buttons)
    dialog.resize(*size)
    dialog.setAttribute(Qt.WA_DeleteOnClose)
    dialog.open()
    return dialog


def shortcuts_dialog(parent: QWidget, rows: list[tuple[str, str, str]]) -> QDialog:
    """A dialog listing (menu, action, keys) rows, the keys in bold; opened, deleted on close."""
    dialog = QDialog(parent)
    dialog.setObjectName("shortcuts_dialog")
    dialog.setWindowTitle("Keyboard shortcuts")
    table = QTableWidget(len(rows), 3, dialog)
    table.setHorizontalHeaderLabels(["Menu", "Action", "Keys"])
    table.verticalHeader().setVisible(False)
    table.setEditTriggers(QAbstractItemView.NoEditTriggers)
    table.setSelectionMode(QAbstractItemView.NoSelection)
    table.setFocusPolicy(Qt.NoFocus)
    table.setShowGrid(False)
    table.setAlternatingRowColors(True)
    table.verticalHeader().setDefaultSectionSize(table.fontMetrics().height() + 8)
    for i, row in enumerate(rows):
        for j, text in enumerate(row):
            item = QTableWidgetItem(text)
            if j == 2:
                font = item.font()
                font.setBold(True)
                item.setFont(font)
            table.setItem(i, j, item)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeToContents)
    table.horizontalHeader().setStretchLastSection(True)
    return _open_with_close_button(dialog, table, (640, 620))


def guide_dialog(parent: QWidget, html: str) -> QDialog:
    """A short guide (rich text, scrolling), opened, deleted on close."""
    from PySide6.QtWidgets import QTextBrowser

    dialog = QDialog(parent)
    dialog.setObjectName("guide_dialog")
    dialog.setWindowTitle("Quick guide")
    text = QTextBrowser(dialog)
    text.setObjectName("guide_text")
    text.setOpenExternalLinks(False)
    text.setHtml(html)
    return _open_with_close_button(dialog, text, (720, 640))


def message_page(parent: QWidget, name: str) -> QLabel:
    """A centred, selectable, wrapping message that stands in for a view that has nothing to show."""
    label = QLabel(parent)
    label.setObjectName(name)
    label.setAlignment(Qt.AlignCenter)
    label.setWordWrap(True)
    label.setMargin(40)
    label.setTextInteractionFlags(Qt.TextSelectableByMouse)
    return label


def error_box(parent: QWidget) -> QMessageBox:
    """A warning box the app opens (non-blocking) with one clear message."""
    box = QMessageBox(parent)
    box.setObjectName("error_box")
    box.setIcon(QMessageBox.Warning)
    box.setWindowTitle("CNN Explorer")
    box.setStandardButtons(QMessageBox.Ok)
    return box
