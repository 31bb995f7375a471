"""The summary table: every layer with its output shape, parameters, MACs, memory and receptive field,
with totals. Sorts by any column (numbers as numbers), copies selected rows as TSV (Ctrl+C) and exports
CSV and Markdown. Plain ``LayerRow`` data in; no torch."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from PySide6.QtCore import QAbstractTableModel, QItemSelectionModel, QModelIndex, QSortFilterProxyModel, Qt, Signal
from PySide6.QtGui import QAction, QGuiApplication, QKeySequence
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QLabel, QLineEdit, QTableView, QVBoxLayout, QWidget

from cnn_explorer.widgets.common import format as fmt
from cnn_explorer.widgets.explorer.layer_info import LayerRow, Totals

SORT_ROLE = Qt.UserRole
NAME_ROLE = Qt.UserRole + 1

COLUMNS = ("Layer", "Type", "Output", "Params", "MACs", "Memory", "Receptive field")
# Columns left out, in this order, while the table is too narrow for all of them (presentation's large text at
# 1024 px): the layer's lecture name says its type, and the parameters and the receptive field matter most.
OPTIONAL_COLUMNS = ("Memory", "Type", "MACs")
_NUMERIC = {3, 4, 5}
_HEADER_TIPS = {2: "output shape: channels × height × width", 3: "parameters", 4: "multiply-accumulates",
                5: "memory its output takes", 6: "size / stride / padding, in input pixels"}
_RIGHT = int(Qt.AlignRight | Qt.AlignVCenter)
_LEFT = int(Qt.AlignLeft | Qt.AlignVCenter)


def _natural_key(name: str) -> str:
    """"features.10" sorts after "features.2"."""
    return re.sub(r"\d+", lambda m: m.group().zfill(8), name.lower())


def _texts(row: LayerRow) -> tuple[str, ...]:
    """A row's cells as shown, in COLUMNS order."""
    name = f"{row.label}  ({row.name})" if row.label else row.name  # the lecture's name first: conv1 (features.0)
    shape = fmt.outputs(row.outputs) if row.outputs is not None else fmt.shape(row.shape, empty="—")
    return (name, row.type, shape, fmt.count(row.params),
            fmt.short(row.macs), fmt.size_bytes(row.memory), fmt.receptive_field(row.receptive_field))


class LayerTableModel(QAbstractTableModel):
    def __init__(self, parent=None):
        super().__init__(parent)
        self._rows: list[LayerRow] = []
        self._index: dict[str, int] = {}
        self._display: list[tuple] = []
        self._sort: list[tuple] = []

    def set_rows(self, rows: list[LayerRow]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self._index = {r.name: i for i, r in enumerate(self._rows)}
        # Formatted once: data() is called for every visible cell and role, and must be cheap.
        self._display = [_texts(r) for r in self._rows]
        self._sort = [(_natural_key(r.name), r.type.lower(), fmt.shape_size(r.shape), r.params, r.macs, r.memory,
                       fmt.receptive_field_key(r.receptive_field)) for r in self._rows]
        self.endResetModel()

    def rows(self) -> list[LayerRow]:
        return list(self._rows)

    def column_texts(self, column: int) -> list[str]:
        return [display[column] for display in self._display]

    def row_of(self, name: str) -> int:
        return self._index.get(name, -1)

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.DisplayRole):  # noqa: N802
        if orientation == Qt.Horizontal and role == Qt.DisplayRole:
            return COLUMNS[section]
        if orientation == Qt.Horizontal and role == Qt.ToolTipRole:
            return _HEADER_TIPS.get(section)
        if orientation == Qt.Horizontal and role == Qt.TextAlignmentRole:
            return int((Qt.AlignRight if section in _NUMERIC else Qt.AlignLeft) | Qt.AlignVCenter)
        if orientation == Qt.Vertical and role == Qt.DisplayRole:
            return str(section + 1)
        return None

    def data(self, index, role=Qt.DisplayRole):
        if role == Qt.DisplayRole:
            return self._display[index.row()][index.column()]
        if role == SORT_ROLE:
            return self._sort[index.row()][index.column()]
        if role == NAME_ROLE:
            return self._rows[index.row()].name
        if role == Qt.TextAlignmentRole:
            return _RIGHT if index.column() in _NUMERIC else _LEFT
        if role == Qt.ToolTipRole:
            row, col = self._rows[index.row()], index.column()
            if col == 2:
                return ("output shape: height × width × channels" if fmt.shape_order() == "hwc"
                        else "output shape: channels × height × width")
            if col == 4:
                return f"{row.macs:,} multiply-accumulates"
            if col == 5:
                return f"{row.memory:,} bytes"
            if col == 6:
                return "size / stride / padding, in input pixels"
        return None


class _SortProxy(QSortFilterProxyModel):
    """Numbers sort as numbers; ties keep the network's order."""

    def lessThan(self, left, right) -> bool:  # noqa: N802
        a, b = left.data(SORT_ROLE), right.data(SORT_ROLE)
        if a == b:
            return left.row() < right.row()
        try:
            return a < b
        except TypeError:
            return str(a) < str(b)


# -- text exports (plain functions, so scripts and tests can use them) ---------------------------------

def rows_to_tsv(rows: list[LayerRow], header: bool = True) -> str:
    lines = ["\t".join(COLUMNS)] if header else []
    for r in rows:
        texts = _texts(r)
        lines.append("\t".join([r.name, r.type, texts[2], str(r.params), str(r.macs), str(r.memory), texts[6]]))
    return "\n".join(lines) + "\n"


def rows_to_csv(rows: list[LayerRow], totals: Totals | None = None) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["layer", "type", "output_shape", "params", "macs", "memory_bytes", "receptive_field"])
    for r in rows:
        texts = _texts(r)
        writer.writerow([r.name, r.type, texts[2], r.params, r.macs, r.memory, texts[6]])
    if totals is not None:
        writer.writerow(["total", "", "", totals.params, totals.macs, totals.memory, ""])
    return out.getvalue()


def rows_to_markdown(rows: list[LayerRow], totals: Totals | None = None, title: str = "") -> str:
    def cell(text: str) -> str:
        return text.replace("|", "\\|")

    lines = [f"# {title}", ""] if title else []
    lines.append("| " + " | ".join(COLUMNS) + " |")
    lines.append("| " + " | ".join("---:" if i in _NUMERIC else "---" for i in range(len(COLUMNS))) + " |")
    for r in rows:
        name = f"{r.label} (`{r.name}`)" if r.label else f"`{r.name}`"  # the lecture's name first
        lines.append("| " + " | ".join(cell(v) for v in (name, *_texts(r)[1:])) + " |")
    if totals is not None:
        counts = fmt.depth_and_ops(totals.depth, totals.layers)
        lines.append(f"| **total**: {counts} | | | **{fmt.count(totals.params)}** | "
                     f"**{fmt.short(totals.macs)}** | **{fmt.size_bytes(totals.memory)}** | |")
    return "\n".join(lines) + "\n"


def totals_text(totals: Totals | None) -> str:
    if totals is None:
        return ""
    return (f"Total: {fmt.count(totals.params)} parameters ({fmt.short(totals.params)}) · "
            f"{fmt.short(totals.macs)}MACs · {fmt.size_bytes(totals.memory)} of activations · "
            f"{fmt.depth_and_ops(totals.depth, totals.layers)}")


class SummaryTable(QWidget):
    """The table, a filter box above it and the totals below. ``layer_selected(name)`` is emitted when the
    user moves the current row; ``select_layer(name)`` moves it without emitting."""

    layer_selected = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("summary_table")
        self.model = LayerTableModel(self)
        self.proxy = _SortProxy(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(SORT_ROLE)
        self.proxy.setFilterKeyColumn(-1)
        self.proxy.setFilterCaseSensitivity(Qt.CaseInsensitive)

        self.filter = QLineEdit(self)
        self.filter.setObjectName("summary_filter")
        self.filter.setPlaceholderText("Filter layers: name, type…")
        self.filter.setClearButtonEnabled(True)
        self.filter.textChanged.connect(self.proxy.setFilterFixedString)

        self.table = QTableView(self)
        self.table.setObjectName("summary_view")
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(-1, Qt.AscendingOrder)  # the network's order until a header is clicked
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.ExtendedSelection)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.verticalHeader().setVisible(False)
        # Fixed row heights (from the font): sizing rows to contents reads every cell of every row.
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.Fixed)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.Interactive)
        header.setStretchLastSection(True)
        header.setSortIndicatorShown(True)
        self.table.selectionModel().currentRowChanged.connect(self._current_changed)
        self.table.installEventFilter(self)  # its font and width: see eventFilter
        self._widths: list[int] = []  # each column's width as _fit_columns measured it

        self.copy_action = QAction("Copy rows", self.table)
        self.copy_action.setShortcut(QKeySequence.Copy)
        self.copy_action.setShortcutContext(Qt.WidgetShortcut)
        self.copy_action.triggered.connect(self.copy_selection)
        self.table.addAction(self.copy_action)
        self.table.setContextMenuPolicy(Qt.ActionsContextMenu)

        self.totals_label = QLabel(self)
        self.totals_label.setObjectName("summary_totals")
        self.totals_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.totals_label.setWordWrap(True)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)
        layout.addWidget(self.filter)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.totals_label)

        self._totals: Totals | None = None
        self._title = ""
        self._updating = False

    # -- content ----------------------------------------------------------------------------------
    def set_rows(self, rows: list[LayerRow], totals: Totals | None = None, title: str = "") -> None:
        self._updating = True
        try:
            self.model.set_rows(rows)
        finally:
            self._updating = False
        self._totals = totals
        self._title = title
        self.totals_label.setText(totals_text(totals))
        self._fit_columns()

    def refresh_text(self) -> None:
        """Write every cell again (the shape order changed), keeping the current row."""
        current = self.current_layer()
        self.set_rows(self.model.rows(), self._totals, self._title)
        if current:
            self.select_layer(current)

    def _fit_columns(self) -> None:
        # Size the columns from the formatted texts, measured here: QTableView.resizeColumnsToContents asks
        # the model for every role of every cell, which takes the GUI thread ~200 ms on a 500-layer model.
        metrics = self.table.fontMetrics()
        self.table.verticalHeader().setDefaultSectionSize(metrics.height() + 8)
        header = self.table.horizontalHeader()
        header_metrics = header.fontMetrics()
        widest = 32 * metrics.averageCharWidth()
        padding = 2 * metrics.averageCharWidth()
        sort_arrow = 3 * header_metrics.averageCharWidth()
        self._widths = []
        for col, title in enumerate(COLUMNS):
            texts = self.model.column_texts(col)
            longest = sorted(texts, key=len, reverse=True)[:12]  # the widest text is among the longest
            width = max([metrics.horizontalAdvance(t) for t in longest] + [0]) + padding
            width = min(max(width, header_metrics.horizontalAdvance(title) + padding + sort_arrow), widest)
            self._widths.append(width)
            if col < len(COLUMNS) - 1:  # the last one stretches
                header.resizeSection(col, width)
        self._fit_width()

    def _fit_width(self) -> None:
        """Leave out OPTIONAL_COLUMNS while all the columns are wider than the table: Params and the
        receptive field stay in sight, never cut or behind a scroll bar."""
        if len(self._widths) != len(COLUMNS):
            return
        # (From the view's own width: in its resize event the viewport has not followed yet. A scroll bar is
        # counted: the rows of most models outnumber the lines.)
        room = self.table.width() - 2 * self.table.frameWidth() - self.table.verticalScrollBar().sizeHint().width()
        hidden: set[int] = set()
        for title in (None, *OPTIONAL_COLUMNS):
            if title is not None:
                hidden.add(COLUMNS.index(title))
            if sum(w for c, w in enumerate(self._widths) if c not in hidden) <= room:
                break
        for col in range(len(COLUMNS)):
            self.table.setColumnHidden(col, col in hidden)
        # Still too wide: the layer's code name in brackets gives way ("conv1  (features…"), not the numbers.
        overflow = sum(w for c, w in enumerate(self._widths) if c not in hidden) - room
        self.table.horizontalHeader().resizeSection(0, max(self._widths[0] - max(overflow, 0), self._widths[0] // 2))

    def columns_shown(self) -> list[str]:
        return [title for col, title in enumerate(COLUMNS) if not self.table.isColumnHidden(col)]

    def changeEvent(self, event) -> None:  # noqa: N802
        super().changeEvent(event)
        if event.type() == event.Type.FontChange:
            self._fit_columns()

    def eventFilter(self, watched, event) -> bool:  # noqa: N802
        # The view's own font can change after this widget's (a style sheet's polish), and its width with
        # the window's: measure again, so that no column is cut.
        if watched is self.table and event.type() == event.Type.FontChange:
            self._fit_columns()
        elif watched is self.table and event.type() == event.Type.Resize:
            self._fit_width()
        return super().eventFilter(watched, event)

    def rows(self) -> list[LayerRow]:
        """The rows in the order shown (sorted and filtered as on screen)."""
        src = self.model.rows()
        return [src[self.proxy.mapToSource(self.proxy.index(i, 0)).row()] for i in range(self.proxy.rowCount())]

    def totals(self) -> Totals | None:
        return self._totals

    # -- selection --------------------------------------------------------------------------------
    def select_layer(self, name: str) -> bool:
        """Make ``name`` the current, selected row and scroll to it, without emitting ``layer_selected``.
        Returns False when the table has no such row (or the filter hides it)."""
        source_row = self.model.row_of(name)
        if source_row < 0:
            self.clear_selection()
            return False
        index = self.proxy.mapFromSource(self.model.index(source_row, 0))
        if not index.isValid():
            self.clear_selection()
            return False
        self._updating = True
        try:
            self.table.selectionModel().setCurrentIndex(
                index, QItemSelectionModel.ClearAndSelect | QItemSelectionModel.Rows)
            self.table.scrollTo(index, QAbstractItemView.PositionAtCenter)
        finally:
            self._updating = False
        return True

    def clear_selection(self) -> None:
        self._updating = True
        try:
            self.table.selectionModel().clearSelection()
        finally:
            self._updating = False

    def current_layer(self) -> str:
        index = self.table.currentIndex()
        return index.data(NAME_ROLE) if index.isValid() else ""

    def selected_names(self) -> list[str]:
        rows = sorted({i.row() for i in self.table.selectionModel().selectedRows()})
        return [self.proxy.index(r, 0).data(NAME_ROLE) for r in rows]

    def _current_changed(self, current, previous) -> None:
        if self._updating or not current.isValid():
            return
        self.layer_selected.emit(current.data(NAME_ROLE))

    # -- copy and export --------------------------------------------------------------------------
    def selected_rows(self) -> list[LayerRow]:
        src = self.model.rows()
        rows = sorted({i.row() for i in self.table.selectionModel().selectedRows()})
        return [src[self.proxy.mapToSource(self.proxy.index(r, 0)).row()] for r in rows]

    def copy_selection(self) -> str:
        """Put the selected rows (all rows when none is selected) on the clipboard as TSV."""
        text = rows_to_tsv(self.selected_rows() or self.rows())
        QGuiApplication.clipboard().setText(text)
        return text

    def export_csv(self, path: str | Path) -> None:
        Path(path).write_text(rows_to_csv(self.rows(), self._totals), encoding="utf-8")

    def export_markdown(self, path: str | Path) -> None:
        Path(path).write_text(rows_to_markdown(self.rows(), self._totals, self._title), encoding="utf-8")
