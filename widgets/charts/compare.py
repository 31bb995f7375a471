"""The Charts tab's comparison: ``CompareView``, 2–4 models from the zoo side by side, a table of
``MEASURES`` × models and one small bar chart per measure.
"""

from __future__ import annotations


import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import (QComboBox, QGridLayout, QHBoxLayout, QLabel, QProgressBar, QPushButton, QSizePolicy,
                               QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from cnn_explorer.widgets.common import format as fmt
from cnn_explorer.widgets.common.steps import later
from cnn_explorer.widgets.explorer.layer_info import Field
from cnn_explorer.widgets.charts.plots import PALETTE, Plot, point_size

def _field(rf):
    if hasattr(rf, "size"):
        return Field(tuple(rf.size), tuple(rf.stride), tuple(rf.padding))
    return rf


MEASURES = (("params", "parameters", fmt.compact), ("macs", "MACs", fmt.macs),
            ("depth", "depth", str), ("rf", "receptive field", str),
            ("activation_bytes", "activations", fmt.size_bytes))


class CompareView(QWidget):
    """2–4 models chosen from the zoo: a table (measures × models) and one small bar chart per measure."""

    compare_requested = Signal(list)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.combos = []
        controls = QHBoxLayout()
        for i in range(4):
            combo = QComboBox(self)
            combo.setObjectName(f"compare_model_{i}")
            combo.setMinimumContentsLength(6)
            combo.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
            combo.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Fixed)
            self.combos.append(combo)
            controls.addWidget(combo)
        self.button = QPushButton("Compare", self)
        self.button.setObjectName("compare_button")
        self.button.clicked.connect(lambda: self.compare_requested.emit(self.chosen()))
        controls.addWidget(self.button)
        self.progress = QProgressBar(self)
        self.progress.setRange(0, 100)
        self.progress.hide()
        self.status = QLabel("Choose two to four models and press Compare.", self)
        self.status.setWordWrap(True)
        self.table = QTableWidget(self)
        self.table.setObjectName("compare_table")
        self.table.setEditTriggers(QTableWidget.NoEditTriggers)
        self.table.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Preferred)
        self.bars_row = QGridLayout()
        self.bars: dict[str, Plot] = {}  # made one per event-loop turn after the view (a plot: 10-40 ms), or all
        later(self._make_next_bar, self)  # at once when bars are drawn
        layout = QVBoxLayout(self)
        layout.addLayout(controls)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addWidget(self.table, 0)
        layout.addLayout(self.bars_row, 1)
        self.rows = []
        self._colors = None

    def _make_bar(self, key: str) -> Plot:
        index = [k for k, _, _ in MEASURES].index(key)
        plot = Plot(self)
        plot.setMinimumHeight(150)
        plot.setMinimumWidth(60)
        plot.text_scale = 0.8
        plot.getPlotItem().setTitle(MEASURES[index][1])
        plot.getPlotItem().hideAxis("left")
        plot.getPlotItem().hideAxis("bottom")
        plot.showGrid(x=False, y=False)
        self.bars[key] = plot
        self.bars_row.addWidget(plot, 0, index)
        if self._colors is not None:  # in the theme of the bars made before it
            self._restyle_bar(plot)
        return plot

    def _make_next_bar(self) -> None:
        waiting = [key for key, _, _ in MEASURES if key not in self.bars]
        if waiting:
            self._make_bar(waiting[0])
            later(self._make_next_bar, self)

    def set_models(self, names: list[str], chosen: list[str]) -> None:
        for i, combo in enumerate(self.combos):
            combo.clear()
            if i >= 2:
                combo.addItem("—")
            combo.addItems(names)
            if i < len(chosen) and chosen[i] in names:
                combo.setCurrentText(chosen[i])

    def chosen(self) -> list[str]:
        return [c.currentText() for c in self.combos if c.currentText() and c.currentText() != "—"]

    def set_busy(self, text: str, percent: int = -1) -> None:
        self.progress.setVisible(bool(text))
        self.progress.setRange(0, 100 if percent >= 0 else 0)
        if percent >= 0:
            self.progress.setValue(percent)
        if text:
            self.status.setText(text)
        self.button.setEnabled(not text)

    def set_rows(self, rows) -> None:
        self.rows = list(rows)
        labels = ["year", "input", "parameters", "MACs", "depth (weight layers)", "receptive field (size / stride / pad)",
                  "activation memory"]
        self.table.setRowCount(len(labels))
        self.table.setColumnCount(len(rows))
        self.table.setVerticalHeaderLabels(labels)
        self.table.setHorizontalHeaderLabels([r.model for r in rows])
        for j, r in enumerate(rows):
            cells = [str(r.year) if r.year else "—", fmt.shape(r.input_size), fmt.count(r.params), fmt.macs(r.macs), str(r.depth),
                     fmt.receptive_field(_field(r.receptive_field)), fmt.size_bytes(r.activation_bytes)]
            for i, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
                self.table.setItem(i, j, item)
        self.table.horizontalHeader().setSectionResizeMode(self.table.horizontalHeader().ResizeMode.Stretch)
        self.table.resizeRowsToContents()
        for j in range(len(rows)):  # the column's colour is its bars' colour
            self.table.horizontalHeaderItem(j).setForeground(QColor(PALETTE[j % len(PALETTE)]))
            font = QFont(self.table.font())
            font.setBold(True)
            self.table.horizontalHeaderItem(j).setFont(font)
        height = self.table.horizontalHeader().height() + sum(self.table.rowHeight(i) for i in range(len(labels)))
        self.table.setFixedHeight(height + 2 * self.table.frameWidth() + 2)
        self._draw_bars()
        legend = " &nbsp; ".join(f"<span style='color:{PALETTE[j % len(PALETTE)]}'>■</span> <b>{r.model}</b>"
                                 for j, r in enumerate(rows))
        self.status.setText(f"{legend} &nbsp;·&nbsp; random weights (counting needs no training); receptive field: "
                            "the last layer before global pooling")

    def _draw_bars(self) -> None:
        for key, _title, text_of in MEASURES:
            plot = self.bars.get(key) or self._make_bar(key)
            plot.clear_all()
            values = []
            for r in self.rows:
                if key == "rf":
                    rf = r.receptive_field
                    values.append(max(rf.size) if hasattr(rf, "size") else 0)
                else:
                    values.append(getattr(r, key))
            if not values:
                continue
            xs = np.arange(len(values))
            brushes = [PALETTE[i % len(PALETTE)] for i in range(len(values))]
            plot.addItem(pg.BarGraphItem(x=xs, height=values, width=0.7, brushes=brushes))
            top = max(values) or 1
            for x, v in zip(xs, values):
                plot.add_text(text_of(v).replace(" ", "\n", 1) if len(values) > 2 else text_of(v),
                              float(x), float(v), (0.5, 1.0))
            plot.setYRange(0, top * 1.45, padding=0)
            plot.setXRange(-0.55, len(values) - 0.45, padding=0)
            plot.restyle()

    def restyle(self, theme_colors=None) -> None:
        self._colors = theme_colors or self._colors
        for plot in self.bars.values():
            self._restyle_bar(plot)

    def _restyle_bar(self, plot: Plot) -> None:
        plot.restyle(self._colors)
        if self._colors is not None:
            plot.getPlotItem().titleLabel.setText(plot.getPlotItem().titleLabel.text, color=self._colors.text,
                                                  size=f"{point_size():.0f}pt")
