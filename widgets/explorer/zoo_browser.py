"""The zoo browser: every architecture by task, then by era, with its year and parameter count, and a
filter box. Plain data in (``ZooItem``), model names out (signals); no torch."""

from __future__ import annotations

import re
from contextlib import contextmanager

from PySide6.QtCore import QEvent, QRect, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QFont, QFontMetrics, QKeySequence
from PySide6.QtWidgets import (QAbstractItemView, QHeaderView, QLabel, QLineEdit, QStyle, QStyledItemDelegate,
                               QStyleOptionViewItem, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget)

from cnn_explorer.widgets.common import format as fmt
from cnn_explorer.widgets.explorer.layer_info import ERAS, TASK_LABELS, ZooItem, task_label

NAME_ROLE = Qt.UserRole
KIND_ROLE = Qt.UserRole + 1
_COL_NAME, _COL_YEAR, _COL_PARAMS = range(3)


def natural_key(name: str) -> tuple:
    """How names sort: numbers by value, so resnet18 < resnet34 < resnet101."""
    return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name.lower()))


def breakable(name: str) -> str:
    """The name with zero-width spaces after its underscores, so a long one wraps there, whole, rather than
    being cut ("fasterrcnn_mobilenet_v3_" / "large_320_fpn")."""
    return name.replace("_", "_\u200b")


class _WrappedNames(QStyledItemDelegate):
    """Rows as high as their wrapped names. (A tree view asks its delegate for row heights without the
    column's width, so the delegate measures the name against the name column itself.)"""

    def __init__(self, tree: QTreeWidget):
        super().__init__(tree)
        self._tree = tree
        self._extra: dict[tuple, int] = {}  # (text, width, font) -> extra height: Qt asks again and again

    def sizeHint(self, option, index) -> QSize:  # noqa: N802 (Qt's name)
        size = super().sizeHint(option, index)
        if index.column() != _COL_NAME or not index.data(NAME_ROLE):  # tasks and eras span the row: one line
            return size
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        depth, parent = 1, index.parent()  # the root decoration takes one indentation too
        while parent.isValid():
            depth, parent = depth + 1, parent.parent()
        margin = self._tree.style().pixelMetric(QStyle.PM_FocusFrameHMargin, None, self._tree) + 1
        width = self._tree.columnWidth(_COL_NAME) - depth * self._tree.indentation() - 2 * margin - 4
        if width <= 0:
            return size
        key = (opt.text, width, opt.font.key())
        extra = self._extra.get(key)
        if extra is None:
            metrics = QFontMetrics(opt.font)
            text = metrics.boundingRect(QRect(0, 0, width, 1 << 20), Qt.TextWordWrap, opt.text)
            extra = self._extra[key] = max(0, text.height() - metrics.height())  # the extra lines
        return QSize(size.width(), size.height() + extra)


class ZooBrowser(QWidget):
    """A filterable tree of the zoo. Choosing an entry (click, Enter) emits ``model_chosen(name)``;
    Enter in the filter box opens the entry typed, or the first entry left, or emits
    ``name_entered(text)`` when nothing matches, so the app can say the name is unknown."""

    model_chosen = Signal(str)
    name_entered = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("zoo_browser")
        self.filter = QLineEdit(self)
        self.filter.setObjectName("zoo_filter")
        self.filter.setPlaceholderText("Filter: name, family, year, task…")
        self.filter.setClearButtonEnabled(True)
        self.filter.textChanged.connect(self._apply_filter)
        self.filter.returnPressed.connect(self._filter_entered)
        self.filter.installEventFilter(self)

        self.tree = QTreeWidget(self)
        self.tree.setObjectName("zoo_tree")
        self.tree.setColumnCount(3)
        self.tree.setHeaderLabels(["Model", "Year", "Params"])
        self.tree.setUniformRowHeights(False)  # long names wrap onto a second line
        self.tree.setSelectionMode(QAbstractItemView.SingleSelection)
        self.tree.setAlternatingRowColors(False)
        self.tree.setIndentation(10)
        self.tree.setWordWrap(True)  # whole names in a narrow dock: wrapped at "_", never cut
        self.tree.setTextElideMode(Qt.ElideNone)
        # Only the names wrap: the year and the count keep Qt's own delegate (no Python call per cell, and
        # Qt asks for every cell's size at each change of font or width).
        self.tree.setItemDelegateForColumn(_COL_NAME, _WrappedNames(self.tree))
        self.tree.installEventFilter(self)  # its own font changes: see eventFilter
        header = self.tree.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(_COL_NAME, QHeaderView.Stretch)
        header.setSectionResizeMode(_COL_YEAR, QHeaderView.ResizeToContents)
        header.setSectionResizeMode(_COL_PARAMS, QHeaderView.ResizeToContents)
        # Rows are as high as their wrapped names: measure them again when the name column changes width, in
        # the next turn of the event loop, never from inside the header's resize: the header also resizes when
        # asked a section's size in the middle of the tree's own work, and QTreeView::drawTree keeps a
        # reference into its rows across calls that run a pending layout (which replaces them).
        header.sectionResized.connect(self._column_resized, Qt.QueuedConnection)
        self.tree.itemClicked.connect(self._item_chosen)
        self.tree.itemActivated.connect(self._item_chosen)

        self.count_label = QLabel(self)
        self.count_label.setObjectName("zoo_count")

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)
        layout.addWidget(self.filter)
        layout.addWidget(self.tree, 1)
        layout.addWidget(self.count_label)

        self._items: dict[str, QTreeWidgetItem] = {}
        self._entries: dict[str, ZooItem] = {}
        self._params: dict[str, int | None] = {}
        self._unshown: set[str] = set()  # counts set but not shown yet
        self._show_later = QTimer(self)
        self._show_later.setSingleShot(True)
        self._show_later.setInterval(0)
        self._show_later.timeout.connect(self._show_unshown)
        self._current = ""
        self._fonts_from = ""  # the key of the tree's font the items' fonts were derived from

    # -- content ----------------------------------------------------------------------------------
    def set_entries(self, entries: list[ZooItem]) -> None:
        """Fill the tree: tasks in the order given by TASK_LABELS, eras in time order, entries by year, then
        by name in natural order."""
        self.tree.clear()
        self._items.clear()
        self._entries = {e.name: e for e in entries}
        task_order = list(TASK_LABELS) + sorted({e.task for e in entries} - set(TASK_LABELS))
        era_order = [label for _, _, label in ERAS]
        for task in task_order:
            in_task = [e for e in entries if e.task == task]
            if not in_task:
                continue
            task_item = QTreeWidgetItem([task_label(task), "", ""])
            task_item.setFlags(Qt.ItemIsEnabled)
            task_item.setData(_COL_NAME, KIND_ROLE, "task")
            self.tree.addTopLevelItem(task_item)
            task_item.setFirstColumnSpanned(True)
            for era in era_order:
                in_era = sorted((e for e in in_task if e.era == era), key=lambda e: (e.year, natural_key(e.name)))
                if not in_era:
                    continue
                era_item = QTreeWidgetItem([era, "", ""])
                era_item.setFlags(Qt.ItemIsEnabled)
                era_item.setData(_COL_NAME, KIND_ROLE, "era")
                task_item.addChild(era_item)
                era_item.setFirstColumnSpanned(True)
                for entry in in_era:
                    item = QTreeWidgetItem([breakable(entry.name), str(entry.year), ""])
                    item.setData(_COL_NAME, NAME_ROLE, entry.name)
                    item.setTextAlignment(_COL_YEAR, Qt.AlignRight | Qt.AlignVCenter)
                    item.setTextAlignment(_COL_PARAMS, Qt.AlignRight | Qt.AlignVCenter)
                    h, w = entry.input_size
                    item.setToolTip(_COL_NAME, f"<b>{entry.name}</b><br>{entry.family} ({entry.year})<br>"
                                               f"{entry.paper}<br>input {entry.in_channels}×{h}×{w} · "
                                               f"{entry.source}")
                    era_item.addChild(item)
                    self._items[entry.name] = item
                    self._show_params(entry.name)
        self.tree.expandAll()
        self._apply_filter(self.filter.text())
        self._refresh_fonts(again=True)
        if self._current:
            self.set_current(self._current)

    def entries(self) -> list[ZooItem]:
        return list(self._entries.values())

    def set_param_count(self, name: str, count: int | None) -> None:
        """Show the parameter count of ``name``: None while unknown ("…"), a negative number when it
        could not be counted ("?")."""
        self._params[name] = count
        if name in self._items:  # shown in the next turn, with the others that came meanwhile
            self._unshown.add(name)
            self._show_later.start()

    def _show_unshown(self) -> None:
        """The counts that came since the last turn, at once: the counter's answers queue up while the window is
        busy and arrive together, and each one alone had the header size its column again (1-2 ms a count)."""
        names, self._unshown = self._unshown, set()
        with self._columns_held():
            for name in names:
                self._show_params(name)

    def _show_params(self, name: str) -> None:
        item = self._items.get(name)
        if item is None:
            return
        count = self._params.get(name)
        if count is None:
            item.setText(_COL_PARAMS, "…")
            item.setToolTip(_COL_PARAMS, "counting…")
        elif count < 0:
            item.setText(_COL_PARAMS, "?")
            item.setToolTip(_COL_PARAMS, "could not be counted")
        else:
            item.setText(_COL_PARAMS, fmt.compact(count))  # "61.1M": narrow docks
            item.setToolTip(_COL_PARAMS, f"{count:,} parameters")

    def param_text(self, name: str) -> str:
        item = self._items.get(name)
        return item.text(_COL_PARAMS) if item else ""

    def set_current(self, name: str) -> None:
        """Mark ``name`` as the model shown, without emitting ``model_chosen``."""
        previous, self._current = self._items.get(self._current), name
        item = self._items.get(name)
        base = self.tree.font()
        bold = QFont(base)
        bold.setBold(True)
        if previous is not None and previous is not item:
            for col in range(3):
                previous.setFont(col, base)
        if item is None:
            return
        for col in range(3):
            item.setFont(col, bold)
        blocked = self.tree.blockSignals(True)
        try:
            self.tree.setCurrentItem(item)
        finally:
            self.tree.blockSignals(blocked)
        if not item.isHidden():
            self.tree.scrollToItem(item)

    def _refresh_fonts(self, again: bool = False) -> None:
        """Bold tasks and the model shown, italic eras, all derived from the widget's font now (so the
        classroom font scale reaches them). Nothing to do when the tree's font is the one they were given
        (the widget and its tree tell each change, and a style sheet's polish tells one more), unless
        ``again`` (new items)."""
        base = self.tree.font()
        if base.key() == self._fonts_from and not again:
            return  # setting the ~700 items' fonts costs ~0.1 s
        self._fonts_from = base.key()
        bold, italic = QFont(base), QFont(base)
        bold.setBold(True)
        italic.setItalic(True)
        # Each item's font change would also measure its row again at once (the delegate, in Python, ~3 times
        # an item): with a layout of the whole tree pending, the view leaves that to the layout, once a row, in
        # a later turn of the event loop.
        self.tree.scheduleDelayedItemsLayout()
        with self._columns_held():
            self._set_fonts(base, bold, italic)

    @contextmanager
    def _columns_held(self):
        """Each change of an item's text or font makes the header size its "to contents" columns again, asking
        every row for its size (~0.1 s for the fonts of every item): hold the columns meanwhile, then size them
        once."""
        header = self.tree.header()
        modes = [header.sectionResizeMode(c) for c in range(header.count())]
        for c in range(header.count()):
            if modes[c] == QHeaderView.ResizeToContents:
                header.setSectionResizeMode(c, QHeaderView.Interactive)
        try:
            yield
        finally:
            for c, mode in enumerate(modes):
                header.setSectionResizeMode(c, mode)

    def _set_fonts(self, base: QFont, bold: QFont, italic: QFont) -> None:
        for i in range(self.tree.topLevelItemCount()):
            task = self.tree.topLevelItem(i)
            task.setFont(_COL_NAME, bold)
            for j in range(task.childCount()):
                era = task.child(j)
                era.setFont(_COL_NAME, italic)
                for k in range(era.childCount()):
                    item = era.child(k)
                    current = item.data(_COL_NAME, NAME_ROLE) == self._current
                    for col in range(3):
                        item.setFont(col, bold if current else base)

    def _column_resized(self, column: int, _old: int, _new: int) -> None:
        if column == _COL_NAME:
            self.tree.scheduleDelayedItemsLayout()

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().resizeEvent(event)
        # In a narrow dock the names need the room more than the year (the era and the tooltip tell it).
        narrow = self.width() < 20 * self.fontMetrics().averageCharWidth() + 150
        self.tree.setColumnHidden(_COL_YEAR, narrow)

    def changeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().changeEvent(event)
        if event.type() == QEvent.FontChange:
            self._refresh_fonts()

    def current(self) -> str:
        return self._current

    # -- filtering --------------------------------------------------------------------------------
    def focus_filter(self) -> None:
        self.filter.setFocus(Qt.ShortcutFocusReason)
        self.filter.selectAll()

    def visible_names(self) -> list[str]:
        """Names the filter leaves, in tree order."""
        names = []
        for i in range(self.tree.topLevelItemCount()):
            task = self.tree.topLevelItem(i)
            for j in range(task.childCount()):
                era = task.child(j)
                for k in range(era.childCount()):
                    item = era.child(k)
                    if not item.isHidden():
                        names.append(item.data(_COL_NAME, NAME_ROLE))
        return names

    def _apply_filter(self, text: str) -> None:
        text = text.strip()
        shown = 0
        for i in range(self.tree.topLevelItemCount()):
            task = self.tree.topLevelItem(i)
            task_shown = 0
            for j in range(task.childCount()):
                era = task.child(j)
                era_shown = 0
                for k in range(era.childCount()):
                    item = era.child(k)
                    entry = self._entries[item.data(_COL_NAME, NAME_ROLE)]
                    visible = not text or entry.matches(text)
                    item.setHidden(not visible)
                    era_shown += visible
                era.setHidden(era_shown == 0)
                task_shown += era_shown
            task.setHidden(task_shown == 0)
            shown += task_shown
        if text:
            self.tree.expandAll()
        total = len(self._entries)
        self.count_label.setText(f"{shown} of {total} models" if text else f"{total} models")

    def _filter_entered(self) -> None:
        text = self.filter.text().strip()
        if not text:
            return
        if text.lower() in self._entries:
            self.model_chosen.emit(text.lower())
            return
        names = self.visible_names()
        if names:
            self.model_chosen.emit(names[0])
        else:
            self.name_entered.emit(text)

    def _item_chosen(self, item: QTreeWidgetItem, column: int = 0) -> None:
        name = item.data(_COL_NAME, NAME_ROLE)
        if name:
            self.model_chosen.emit(name)

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 (Qt's name)
        # The tree's font can change after this widget's (a style sheet's polish, deferred while the dock is
        # hidden in presentation): its items' fonts are set from it, so follow it, or leaving presentation
        # would keep the projector's huge names, cut in a narrow column.
        if watched is self.tree and event.type() == QEvent.FontChange:
            self._refresh_fonts()
            return False
        # Down arrow in the filter box moves into the list, so the keyboard alone can browse.
        if watched is self.filter and event.type() == event.Type.KeyPress \
                and QKeySequence(event.keyCombination()) == QKeySequence(Qt.Key_Down):
            names = self.visible_names()
            if names:
                self.tree.setFocus(Qt.TabFocusReason)
                blocked = self.tree.blockSignals(True)
                self.tree.setCurrentItem(self._items[names[0]])
                self.tree.blockSignals(blocked)
            return True
        return super().eventFilter(watched, event)
