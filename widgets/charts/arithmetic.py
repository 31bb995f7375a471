"""The Charts tab's 1×1 bottleneck and global-average-pooling arithmetic: ``ArithmeticView``, one comparison
at a time, its modules' weights as products, the totals and a bar each.
"""

from __future__ import annotations


import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QLabel, QScrollArea, QVBoxLayout, QWidget

from cnn_explorer.widgets.common import format as fmt
from cnn_explorer.widgets.charts.plots import PALETTE, Plot

def _term(m) -> str:
    """A module's weight as a product: ``3×3×256×256`` for a conv (kh×kw×in×out), ``25088×4096`` for a linear."""
    if len(m.shape) == 4:
        out, cin, kh, kw = m.shape
        text = f"{kh}×{kw}×{cin}×{out}"
    else:
        out, cin = m.shape
        text = f"{cin}×{out}"
    bias = m.params - int(np.prod(m.shape))
    return text + (f" + {fmt.count(bias)}" if bias else "")


class ArithmeticView(QWidget):
    """One comparison at a time (chosen above): the modules, their counts as products, totals, and a bar each."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.choice = QComboBox(self)
        self.choice.setObjectName("arithmetic_choice")
        self.choice.currentIndexChanged.connect(lambda _i: self._render())
        self.text = QLabel(self)
        self.text.setObjectName("arithmetic_text")
        self.text.setTextFormat(Qt.RichText)
        self.text.setWordWrap(True)
        self.text.setAlignment(Qt.AlignTop | Qt.AlignLeft)
        scroll = QScrollArea(self)
        scroll.setWidget(self.text)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.NoFrame)
        self.plot = Plot(self)
        self.plot.getPlotItem().hideAxis("bottom")
        self.plot.getPlotItem().hideAxis("left")
        self.plot.showGrid(x=False, y=False)
        self.plot.setMinimumHeight(150)
        layout = QVBoxLayout(self)
        layout.addWidget(self.choice)
        layout.addWidget(scroll, 3)
        layout.addWidget(self.plot, 2)
        self.comparisons = []
        self._accent = "#1f5fb8"
        self._muted = "#5c6670"

    def set_comparisons(self, comparisons) -> None:
        self.comparisons = list(comparisons)
        self.choice.blockSignals(True)
        self.choice.clear()
        self.choice.addItems([c.title for c in self.comparisons])
        self.choice.blockSignals(False)
        self._render()

    def current(self):
        i = self.choice.currentIndex()
        return self.comparisons[i] if 0 <= i < len(self.comparisons) else None

    def _block(self, title, modules, total, summed=True) -> str:
        rows = "".join(f"<tr><td style='color:{self._muted}'>{m.path}</td></tr>"
                       f"<tr><td>&nbsp;&nbsp;{_term(m)} = <b>{fmt.count(m.params)}</b></td></tr>" for m in modules)
        foot = (f"<tr><td>total = <b style='color:{self._accent}'>{fmt.count(total)}</b></td></tr>"
                if summed else "")
        return (f"<td valign='top' style='padding-right:28px'><b>{title}</b>"
                f"<table cellspacing='2'>{rows}{foot}</table></td>")

    def _render(self) -> None:
        cmp = self.current()
        if cmp is None:
            self.text.setText("")
            self.plot.clear_all()
            return
        cells = self._block(cmp.left_title, cmp.left, cmp.left_total) + self._block(cmp.right_title, cmp.right,
                                                                                    cmp.right_total)
        if cmp.aside:
            cells += self._block(cmp.aside_title, cmp.aside, cmp.aside_total, cmp.aside_summed)
        ratio = cmp.left_total / max(cmp.right_total, 1)
        self.text.setText(f"<div style='font-size:large'><h2 style='margin:0'>{fmt.fact(round(ratio, 1))}× fewer "
                          f"parameters</h2><table><tr>{cells}</tr></table>"
                          f"<p style='color:{self._muted}'>{cmp.note}</p></div>")
        self._draw_bars(cmp)

    def _draw_bars(self, cmp) -> None:
        plot = self.plot
        plot.clear_all()
        bars = [(cmp.left_title, cmp.left_total), (cmp.right_title, cmp.right_total)]
        if cmp.aside and cmp.aside_summed:
            bars.append((cmp.aside_title, cmp.aside_total))
        elif cmp.aside:
            bars += [(m.path, m.params) for m in cmp.aside]
        values = [v for _, v in bars]
        ys = np.arange(len(values))[::-1].astype(float)
        plot.addItem(pg.BarGraphItem(x0=0, y=ys, height=0.72, width=values,
                                     brushes=[PALETTE[i % len(PALETTE)] for i in range(len(values))]))
        for y, (label, v) in zip(ys, bars):
            plot.add_text(f"{label}: {fmt.count(v)}", 0, float(y), (0, 0.5))
        plot.setXRange(0, max(values) * 1.02, padding=0)
        plot.setYRange(-0.6, len(values) - 0.4, padding=0)
        plot.restyle()

    def restyle(self, theme_colors) -> None:
        self._accent, self._muted = theme_colors.accent, theme_colors.muted
        self.plot.restyle(theme_colors)
        self._render()
