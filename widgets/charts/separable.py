"""The Charts tab's depthwise separable page: ``SeparableView``, MobileNet v2's depthwise 3×3 + pointwise 1×1
pairs as built against a standard 3×3 conv with the same channels, a row each, and their MACs as bars.
The numbers come from ``models.charts.separable_costs`` (the recorded graph); nothing is counted here.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (QHBoxLayout, QHeaderView, QLabel, QSizePolicy, QTableWidget, QTableWidgetItem,
                               QVBoxLayout, QWidget)

from cnn_explorer.widgets.common import format as fmt
from cnn_explorer.widgets.charts.plots import Plot

COLUMNS = ("block", "map", "M → N", "params", "3×3 conv\nparams", "MACs", "3×3 conv\nMACs", "fewer\nMACs")
STANDARD_COLOR = "#9aa3ad"


def _millions(value: int) -> str:
    return f"{value / 1e6:.1f} M"


def _block(path: str) -> str:
    """``features.2.conv.1.0`` → ``2``: the inverted residual block the pair belongs to (its number in
    ``features``), short enough for the table and the bars' axis."""
    parts = path.split(".")
    return parts[1] if len(parts) > 2 and parts[0] == "features" else path


class SeparableView(QWidget):
    """The heading (the whole model's ratio), a table of the pairs and a bar pair each (MACs)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.heading = QLabel("Counting MobileNet v2's depthwise separable convs…", self)
        self.heading.setObjectName("separable_heading")
        self.heading.setTextFormat(Qt.RichText)
        self.heading.setWordWrap(True)
        self.table = QTableWidget(self)
        self.table.setObjectName("separable_table")
        self.table.setEditTriggers(QTableWidget.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.setColumnCount(len(COLUMNS))
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeToContents)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.Fixed)
        self.table.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.table.setSizeAdjustPolicy(QTableWidget.AdjustToContents)
        self.table.setSizePolicy(QSizePolicy.Fixed, QSizePolicy.Expanding)
        self.plot = Plot(self)
        self.plot.set_title("left", "block")
        self.plot.set_title("bottom", "MACs per image (millions)")
        self.plot.setMinimumWidth(240)
        self.note = QLabel(self)
        self.note.setWordWrap(True)
        body = QHBoxLayout()
        body.addWidget(self.table)
        body.addWidget(self.plot, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addLayout(body, 1)
        layout.addWidget(self.note)
        self.costs = None
        self._accent, self._muted = "#1f5fb8", "#5c6670"

    def set_costs(self, costs) -> None:
        self.costs = costs
        self._render()

    def _render(self) -> None:
        costs = self.costs
        if costs is None:
            return
        blocks = costs.blocks
        ratios = [b.paper_ratio for b in blocks]
        self.heading.setText(
            f"<div style='font-size:x-large'><b>{costs.model}: depthwise 3×3 + pointwise 1×1 takes "
            f"<span style='color:{self._accent}'>{costs.standard_macs / costs.macs:.1f}× fewer MACs</span></b> "
            f"than a 3×3 conv with the same channels would</div>"
            f"<div style='font-size:large'>{len(blocks)} pairs: {_millions(costs.macs)} MACs and "
            f"{fmt.count(costs.params)} parameters as built, against {_millions(costs.standard_macs)} MACs and "
            f"{fmt.count(costs.standard_params)} parameters. Per pair, the paper's 1/(1/N + 1/9): "
            f"{min(ratios):.1f}× to {max(ratios):.1f}×.</div>")
        rows = [[_block(b.depthwise), f"{b.size[0]}×{b.size[1]}", f"{b.in_channels} → {b.out_channels}",
                 fmt.count(b.params), fmt.count(b.standard_params), _millions(b.macs), _millions(b.standard_macs),
                 f"{b.ratio:.1f}×"] for b in blocks]
        rows.append(["all pairs", "", "", fmt.count(costs.params), fmt.count(costs.standard_params),
                     _millions(costs.macs), _millions(costs.standard_macs),
                     f"{costs.standard_macs / costs.macs:.1f}×"])
        self.table.setRowCount(len(rows))
        bold = QFont(self.table.font())
        bold.setBold(True)
        for r, row in enumerate(rows):
            for c, text in enumerate(row):
                item = QTableWidgetItem(text)
                item.setTextAlignment((Qt.AlignLeft if c == 0 else Qt.AlignRight) | Qt.AlignVCenter)
                if r == len(rows) - 1 or c == 7:
                    item.setFont(bold)
                self.table.setItem(r, c, item)
        self.table.verticalHeader().setDefaultSectionSize(self.table.fontMetrics().height() + 6)
        self.note.setText(f"M → N: the channels the depthwise 3×3 filters (one filter each), the 1×1's outputs. "
                          f"On an H×W map a 3×3 conv costs 3·3·M·N·H·W MACs, "
                          f"the pair 3·3·M·H·W + M·N·H·W. "
                          f"The whole model: {fmt.count(costs.total_params)} parameters, "
                          f"{_millions(costs.total_macs)} MACs.")
        self._draw_bars()

    def _draw_bars(self) -> None:
        plot, blocks = self.plot, self.costs.blocks
        plot.clear_all()
        ys = np.arange(len(blocks))[::-1].astype(float)
        plot.addItem(pg.BarGraphItem(x0=0, y=ys + 0.2, height=0.38, width=[b.standard_macs / 1e6 for b in blocks],
                                     brush=STANDARD_COLOR, pen=None))
        plot.addItem(pg.BarGraphItem(x0=0, y=ys - 0.2, height=0.38, width=[b.macs / 1e6 for b in blocks],
                                     brush=self._accent, pen=None))
        top = max(b.standard_macs for b in blocks) / 1e6
        for text, color, dy in (("■ 3×3 conv", STANDARD_COLOR, 1.3), ("■ depthwise + 1×1", self._accent, 0.7)):
            item = plot.add_text(text, top * 0.45, float(ys[0]) + dy, (0, 0.5))
            item.setHtml(f"<b style='color:{color}'>{text}</b>")  # the colour outlives restyle's setColor
        plot.setXRange(0, top * 1.02, padding=0)
        plot.setYRange(-0.7, len(blocks) + 1.0, padding=0)
        plot.getPlotItem().getAxis("left").setTicks([[(float(y), _block(b.depthwise)) for y, b in zip(ys, blocks)]])
        plot.restyle()

    def restyle(self, theme_colors) -> None:
        self._accent, self._muted = theme_colors.accent, theme_colors.muted
        self.plot.restyle(theme_colors)
        self._render()
