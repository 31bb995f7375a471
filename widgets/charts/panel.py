"""The Charts tab's widgets: the lectures' figures drawn from the app's data (no torch; the data comes from
``models/charts.py`` through the app). pyqtgraph for the plots, plain Qt painting for the number grids.

``ChartsPanel`` holds five pages: the ImageNet timeline, accuracy against MACs, a side-by-side comparison, the
convolution explained, and the 1×1 / GAP arithmetic. ``set_theme`` and ``set_font_scale`` follow the window.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QImage, QPainter, QPen
from PySide6.QtWidgets import (QApplication, QComboBox, QGridLayout, QHBoxLayout, QLabel, QProgressBar, QPushButton,
                               QScrollArea, QSizePolicy, QSpinBox, QTableWidget, QTableWidgetItem, QTabWidget, QToolTip,
                               QVBoxLayout, QWidget)

from cnn_explorer.widgets.common import format as fmt
from cnn_explorer.widgets.explorer.layer_info import Field
from cnn_explorer.widgets.common.theme import colors

# One colour per series, legible on white and on black (Okabe–Ito).
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442")
CHART_FONT_FACTOR = 1.15  # chart text against the application's font


def _point_size(scale: float = 1.0) -> float:
    return max(QApplication.font().pointSizeF(), 9.0) * CHART_FONT_FACTOR * scale


def _field(rf):
    if hasattr(rf, "size"):
        return Field(tuple(rf.size), tuple(rf.stride), tuple(rf.padding))
    return rf


class _Plot(pg.PlotWidget):
    """A plot with large tick labels and axis titles that follow the theme and the text scale."""

    def __init__(self, parent=None):
        super().__init__(parent, enableMenu=False)
        self.hideButtons()
        self.setMouseEnabled(False, False)
        self.texts: list[pg.TextItem] = []
        self.text_scale = 1.0  # the labels' size against the chart font
        self._titles: dict[str, str] = {}
        self._fg = "#1b1e20"
        self._muted = "#5c6670"
        self.showGrid(x=True, y=True, alpha=0.25)

    def set_title(self, axis: str, text: str) -> None:
        self._titles[axis] = text
        self._apply_titles()

    def _apply_titles(self) -> None:
        size = f"{_point_size():.0f}pt"
        for axis, text in self._titles.items():
            self.getPlotItem().setLabel(axis, text, color=self._fg, **{"font-size": size})

    def restyle(self, theme_colors=None) -> None:
        if theme_colors is not None:
            self.setBackground(theme_colors.base)
            self._fg, self._muted = theme_colors.text, theme_colors.muted
        font = QFont(QApplication.font())
        font.setPointSizeF(_point_size(0.95))
        for name in ("left", "bottom"):
            axis = self.getPlotItem().getAxis(name)
            axis.setPen(self._fg)
            axis.setTextPen(self._fg)
            axis.setStyle(tickFont=font, tickTextOffset=6)
        self._apply_titles()
        label_font = QFont(QApplication.font())
        label_font.setPointSizeF(_point_size(self.text_scale))
        for item in self.texts:
            item.setFont(label_font)
            item.setColor(self._fg)

    def add_text(self, text: str, x: float, y: float, anchor=(0, 1)) -> pg.TextItem:
        item = pg.TextItem(text, color=self._fg, anchor=anchor)
        font = QFont(QApplication.font())
        font.setPointSizeF(_point_size(self.text_scale))
        item.setFont(font)
        item.setPos(x, y)
        self.addItem(item)
        self.texts.append(item)
        return item

    def clear_all(self) -> None:
        self.clear()
        self.texts = []


class TimelineChart(_Plot):
    """ImageNet top-5 error by year: one point per model, labelled; an ensemble's lower figure hollow; the human
    reference as a dashed line."""

    def set_points(self, points, human: float | None = None) -> None:
        self.clear_all()
        self.points = list(points)
        years = [p.year for p in points]
        errors = [p.top5_error for p in points]
        best = {}  # the line joins each year's lowest error; every model is a point
        for p in points:
            best[p.year] = min(best.get(p.year, p.top5_error), p.top5_error)
        self.plot(sorted(best), [best[y] for y in sorted(best)], pen=pg.mkPen(PALETTE[0], width=3))
        self.plot(years, errors, pen=None, symbol="o", symbolSize=16, symbolBrush=PALETTE[0],
                  symbolPen=pg.mkPen("w", width=1.5))
        last = max(years, default=0)
        for p in points:
            tag = " (ensemble)" if p.ensemble_only else ""
            text = f"{p.family} {fmt.fact(p.top5_error)}%{tag}"
            if p.year == last:  # the last label goes below, to the left: it stays inside the plot
                self.add_text(text, p.year - 0.05, p.top5_error - 0.3, (1, 0))
            else:
                self.add_text(text, p.year + 0.08, p.top5_error + 0.2, (0, 1))
            if p.ensemble_error is not None:
                self.plot([p.year], [p.ensemble_error], pen=None, symbol="o", symbolSize=14,
                          symbolBrush=None, symbolPen=pg.mkPen(PALETTE[1], width=3))
                self.add_text(f"{fmt.fact(p.ensemble_error)}% (ensemble)", p.year + 0.08, p.ensemble_error, (0, 0.5))
        if human is not None and points:
            line = pg.InfiniteLine(pos=human, angle=0, pen=pg.mkPen(PALETTE[2], width=2.5, style=Qt.DashLine))
            self.addItem(line)
            self.add_text(f"human ≈ {fmt.fact(human)}%", min(years) - 0.35, human, (0, 1))
        self.setXRange(min(years, default=2012) - 0.4, max(years, default=2015) + 0.6, padding=0)
        self.setYRange(0, max(errors, default=16) * 1.12, padding=0)
        self.getPlotItem().getAxis("bottom").setTicks([[(y, str(y)) for y in range(min(years), max(years) + 1)]]
                                                      if years else None)
        self.set_title("left", "top-5 error (%)")
        self.set_title("bottom", "ILSVRC year")
        self.restyle()


class AccuracyChart(_Plot):
    """Top-1 accuracy against GFLOPS (log axis); bubble area ∝ parameters; one model per family named."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setLogMode(x=True, y=False)
        self.scatter = None
        self.points = []

    def resizeEvent(self, event) -> None:  # noqa: N802 - the labels are placed for the plot's size
        super().resizeEvent(event)
        if getattr(self, "scatter", None) is not None and self.__dict__.get("points"):
            self.set_points(self.points)

    def set_points(self, points) -> None:
        self.clear_all()
        self.points = list(points)
        families = sorted({p.family for p in points})
        colour = {f: PALETTE[i % len(PALETTE)] for i, f in enumerate(families)}
        largest = max((p.params for p in points), default=1)
        spots = [{"pos": (math.log10(p.gflops), p.acc1), "size": 10 + 46 * math.sqrt(p.params / largest),
                  "brush": pg.mkBrush(QColor(colour[p.family]).lighter(100).red(), QColor(colour[p.family]).green(),
                                      QColor(colour[p.family]).blue(), 150),
                  "pen": pg.mkPen(colour[p.family], width=1.5), "data": p} for p in points]
        self.scatter = pg.ScatterPlotItem(hoverable=True, tip=self._tip)
        self.scatter.addPoints(spots)
        self.addItem(self.scatter)
        self.set_title("left", "ImageNet top-1 accuracy (%)")
        self.set_title("bottom", "GMACs per image (log scale) · bubble area ∝ parameters")
        if points:
            xs = [math.log10(p.gflops) for p in points]
            ys = [p.acc1 for p in points]
            self.setXRange(min(xs) - 0.15, max(xs) + 0.2, padding=0)
            self.setYRange(min(ys) - 2, max(ys) + 2.5, padding=0)
            self._place_labels(min(xs) - 0.15, max(xs) + 0.2, min(ys) - 2, max(ys) + 2.5)
        self.restyle()

    def _place_labels(self, x0: float, x1: float, y0: float, y1: float) -> None:
        """Name one model per family, most accurate first, where its label overlaps no other (estimated from the
        font and the plot's size); a label that fits nowhere is left to the hover tip."""
        width = max(self.width() - 90, 300)
        height = max(self.height() - 80, 200)
        metrics = QFontMetricsF(QFont(QApplication.font()))
        char_w = metrics.averageCharWidth() * CHART_FONT_FACTOR * (x1 - x0) / width
        line_h = metrics.height() * CHART_FONT_FACTOR * (y1 - y0) / height
        placed: list[tuple[float, float, float, float]] = []
        for p in sorted((p for p in self.points if p.labelled), key=lambda p: -p.acc1):
            x, y = math.log10(p.gflops), p.acc1
            w = char_w * (len(p.model) + 1)
            for ax, ay in ((0.5, 1.1), (0.5, -0.1), (0.0, 0.5), (1.0, 0.5), (1.0, 1.1), (0.0, 1.1)):
                left, bottom = x - ax * w, y - (1 - ay) * line_h  # the anchor is a fraction from the text's top
                box = (left, bottom, left + w, bottom + line_h)
                if box[0] < x0 or box[2] > x1 or box[1] < y0 or box[3] > y1:
                    continue
                if any(box[0] < b[2] and b[0] < box[2] and box[1] < b[3] and b[1] < box[3] for b in placed):
                    continue
                placed.append(box)
                self.add_text(p.model, x, y, (ax, ay))
                break

    @staticmethod
    def _tip(x=None, y=None, data=None) -> str:
        p = data
        if p is None:
            return ""
        return (f"{p.model} ({p.year})\ntop-1 {fmt.fact(p.acc1)}% · top-5 {fmt.fact(p.acc5)}%\n"
                f"{fmt.fact(p.gflops)} GMACs · {fmt.count(p.params)} params\n{p.weights}")


# -- the comparison ------------------------------------------------------------------------------------------------

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
        self.bars: dict[str, _Plot] = {}
        for i, (key, title, _) in enumerate(MEASURES):
            plot = _Plot(self)
            plot.setMinimumHeight(150)
            plot.setMinimumWidth(60)
            plot.text_scale = 0.8
            plot.getPlotItem().setTitle(title)
            plot.getPlotItem().hideAxis("left")
            plot.getPlotItem().hideAxis("bottom")
            plot.showGrid(x=False, y=False)
            self.bars[key] = plot
            self.bars_row.addWidget(plot, 0, i)
        layout = QVBoxLayout(self)
        layout.addLayout(controls)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addWidget(self.table, 0)
        layout.addLayout(self.bars_row, 1)
        self.rows = []
        self._colors = None

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
            cells = [str(r.year), fmt.shape(r.input_size), fmt.count(r.params), fmt.macs(r.macs), str(r.depth),
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
            plot = self.bars[key]
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
            plot.restyle(self._colors)
            if self._colors is not None:
                plot.getPlotItem().titleLabel.setText(plot.getPlotItem().titleLabel.text, color=self._colors.text,
                                                      size=f"{_point_size():.0f}pt")


# -- convolution explained ----------------------------------------------------------------------------------------------

def _diverging(value: float, limit: float) -> QColor:
    t = 0.0 if limit <= 0 else max(-1.0, min(1.0, value / limit))
    if t >= 0:
        return QColor(int(255 - 200 * t), int(255 - 120 * t), 255)  # white → blue
    return QColor(255, int(255 + 140 * t), int(255 + 200 * t))  # white → red


class NumberGrid(QWidget):
    """A small matrix: each cell coloured by sign and size, with its number when the cell is wide enough."""

    def __init__(self, title: str, parent=None, decimals: int = 2):
        super().__init__(parent)
        self.title = title
        self.decimals = decimals
        self.values = np.zeros((0, 0), np.float32)
        self.setMinimumSize(150, 150)
        self.setMouseTracking(True)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
        self._text = QColor("#1b1e20")

    def set_values(self, values: np.ndarray, title: str | None = None) -> None:
        self.values = np.asarray(values, np.float32)
        if title is not None:
            self.title = title
        self.update()

    def set_text_color(self, color: str) -> None:
        self._text = QColor(color)
        self.update()

    def _geometry(self):
        h, w = self.values.shape if self.values.ndim == 2 else (0, 0)
        head = self.fontMetrics().height() + 6
        if not h or not w:
            return 0.0, 0.0, head
        cell = min((self.width() - 2) / w, (self.height() - head - 2) / h)
        return cell, (self.width() - cell * w) / 2, head

    def paintEvent(self, _event) -> None:  # noqa: N802
        painter = QPainter(self)
        painter.setRenderHint(QPainter.Antialiasing, False)
        painter.setPen(self._text)
        font = QFont(self.font())
        font.setBold(True)
        painter.setFont(font)
        painter.drawText(QRectF(0, 0, self.width(), self.fontMetrics().height() + 4), Qt.AlignCenter, self.title)
        cell, left, top = self._geometry()
        if cell <= 0:
            return
        limit = float(np.abs(self.values).max()) or 1.0
        number_font = QFont(self.font())
        size = self.font().pointSizeF() * 1.2
        number_font.setPointSizeF(size)
        widest = "-0." + "0" * self.decimals
        while size > 7.0 and QFontMetricsF(number_font).horizontalAdvance(widest) > cell - 4:
            size -= 0.5
            number_font.setPointSizeF(size)
        painter.setFont(number_font)
        show = QFontMetricsF(number_font).horizontalAdvance(widest) <= cell - 4
        for (i, j), v in np.ndenumerate(self.values):
            rect = QRectF(left + j * cell, top + i * cell, cell, cell)
            painter.fillRect(rect, _diverging(float(v), limit))
            painter.setPen(QPen(QColor("#888888"), 1))
            painter.drawRect(rect)
            if show:
                painter.setPen(QColor("#000000"))
                painter.drawText(rect, Qt.AlignCenter, fmt.fact(round(float(v), self.decimals) + 0.0))

    def mouseMoveEvent(self, event) -> None:  # noqa: N802
        cell, left, top = self._geometry()
        if cell <= 0:
            return
        j, i = int((event.position().x() - left) // cell), int((event.position().y() - top) // cell)
        if 0 <= i < self.values.shape[0] and 0 <= j < self.values.shape[1]:
            QToolTip.showText(event.globalPosition().toPoint(), f"[{i}, {j}] = {fmt.fact(float(self.values[i, j]))}", self)


class ImageWithBox(QWidget):
    """An image (H×W×3 uint8, or H×W values shown grey) scaled to fit, with a rectangle over it."""

    def __init__(self, title: str, parent=None):
        super().__init__(parent)
        self.title = title
        self.image: QImage | None = None
        self.box: tuple[float, float, float, float] | None = None  # top, left, height, width in image pixels
        self.setMinimumSize(150, 150)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
        self._text = QColor("#1b1e20")

    def set_image(self, array: np.ndarray, box=None, title: str | None = None) -> None:
        a = np.asarray(array)
        if a.ndim == 2:
            lo, hi = float(a.min()), float(a.max())
            a = ((a - lo) / (hi - lo or 1.0) * 255).astype(np.uint8)
            a = np.repeat(a[:, :, None], 3, axis=2)
        a = np.ascontiguousarray(a[:, :, :3].astype(np.uint8))
        self._array = a  # QImage does not own the buffer
        self.image = QImage(a.data, a.shape[1], a.shape[0], a.strides[0], QImage.Format_RGB888)
        self.box = box
        if title is not None:
            self.title = title
        self.update()

    def set_text_color(self, color: str) -> None:
        self._text = QColor(color)
        self.update()

    def paintEvent(self, _event) -> None:  # noqa: N802
        painter = QPainter(self)
        head = self.fontMetrics().height() + 6
        painter.setPen(self._text)
        font = QFont(self.font())
        font.setBold(True)
        painter.setFont(font)
        painter.drawText(QRectF(0, 0, self.width(), head - 2), Qt.AlignCenter, self.title)
        if self.image is None:
            return
        h, w = self.image.height(), self.image.width()
        scale = min((self.width() - 2) / w, (self.height() - head - 2) / h)
        left = (self.width() - w * scale) / 2
        target = QRectF(left, head, w * scale, h * scale)
        painter.drawImage(target, self.image)
        if self.box is not None:
            top, bleft, bh, bw = self.box
            painter.setPen(QPen(QColor("#ffcc00"), 3))
            painter.drawRect(QRectF(left + bleft * scale, head + top * scale, bw * scale, bh * scale))
            painter.setPen(QPen(QColor("#d00000"), 1.5))
            painter.drawRect(QRectF(left + bleft * scale, head + top * scale, bw * scale, bh * scale))


class ConvExplainView(QWidget):
    """One output unit of a conv layer: the input patch, the kernel, their element-wise products, and the sum."""

    step_requested = Signal(int)  # -1 previous, +1 next
    channel_chosen = Signal(int)
    model_chosen = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setFocusPolicy(Qt.StrongFocus)
        self.model_box = QComboBox(self)
        self.model_box.setObjectName("conv_model")
        self.model_box.textActivated.connect(self.model_chosen.emit)
        self.channel = QSpinBox(self)
        self.channel.setObjectName("conv_channel")
        self.channel.setPrefix("filter ")
        self.channel.valueChanged.connect(self.channel_chosen.emit)
        self.previous = QPushButton("◀ Previous", self)
        self.next = QPushButton("Next ▶", self)
        self.play = QPushButton("Play", self)
        self.play.setCheckable(True)
        self.previous.clicked.connect(lambda: self.step_requested.emit(-1))
        self.next.clicked.connect(lambda: self.step_requested.emit(1))
        controls = QHBoxLayout()
        for w in (self.model_box, self.channel, self.previous, self.next, self.play):
            controls.addWidget(w)
        controls.addStretch(1)
        self.input_view = ImageWithBox("input (window)", self)
        self.output_view = ImageWithBox("output map (unit)", self)
        self.patch = NumberGrid("input patch", self)
        self.kernel = NumberGrid("kernel", self)
        self.products = NumberGrid("patch × kernel", self, decimals=3)
        grids = QGridLayout()
        grids.addWidget(self.input_view, 0, 0)
        grids.addWidget(self.patch, 0, 1)
        grids.addWidget(self.kernel, 0, 2)
        grids.addWidget(self.output_view, 1, 0)
        grids.addWidget(self.products, 1, 1)
        self.equation = QLabel(self)
        self.equation.setObjectName("conv_equation")
        self.equation.setWordWrap(True)
        self.equation.setTextFormat(Qt.RichText)
        self.equation.setAlignment(Qt.AlignCenter)
        self.equation.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Ignored)
        self.heading = QLabel(self)
        self.heading.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addLayout(controls)
        layout.addWidget(self.heading)
        grids.addWidget(self.equation, 1, 2)
        for i in range(3):
            grids.setColumnStretch(i, 1)
        grids.setRowStretch(0, 1)
        grids.setRowStretch(1, 1)
        layout.addLayout(grids, 1)
        self.step = None
        self._accent = "#1f5fb8"

    def keyPressEvent(self, event) -> None:  # noqa: N802
        if event.key() in (Qt.Key_Right, Qt.Key_Down):
            self.step_requested.emit(1)
        elif event.key() in (Qt.Key_Left, Qt.Key_Up):
            self.step_requested.emit(-1)
        else:
            super().keyPressEvent(event)

    def set_models(self, names: list[str], current: str) -> None:
        self.model_box.blockSignals(True)
        self.model_box.clear()
        self.model_box.addItems(names)
        self.model_box.setCurrentText(current)
        self.model_box.blockSignals(False)

    def set_step(self, step) -> None:
        self.step = step
        c, y, x = step.unit
        kh, kw = step.kernel_size
        self.channel.blockSignals(True)
        self.channel.setRange(0, step.out_shape[0] - 1)
        self.channel.setValue(c)
        self.channel.blockSignals(False)
        cin = step.patch.shape[0]
        self.heading.setText(
            f"<b>{step.model}</b> · {step.layer}: {cin} in × {kh}×{kw} kernel, stride {step.stride[0]}, padding "
            f"{step.padding[0]} → {fmt.shape(step.out_shape)} · image “{step.image}” · unit (filter {c}, row {y}, "
            f"column {x})")
        top, left = step.window
        self.input_view.set_image(step.input_display, (top, left, kh, kw))
        self.output_view.set_image(step.output_map, (y, x, 1, 1), f"output map, filter {c}")
        if cin == 1:
            self.patch.set_values(step.patch[0], "input patch")
            self.kernel.set_values(step.kernel[0], "kernel")
            self.products.set_values(step.products[0], "patch × kernel")
        else:  # colour input: one channel's grids; the sums of all channels are in the equation
            self.patch.set_values(step.patch[0], f"patch, channel 0 of {cin}")
            self.kernel.set_values(step.kernel[0], f"kernel, channel 0 of {cin}")
            self.products.set_values(step.products[0], "products, channel 0")
        per_channel = " + ".join(fmt.fact(round(float(v), 4)) for v in step.products.reshape(cin, -1).sum(1))
        sums = f"Σ over channels ({per_channel})" if cin > 1 else f"Σ of the {kh * kw} products"
        agrees = abs(step.total - step.activation) <= 1e-4 * max(1.0, abs(step.activation))
        mark = "✓ equal" if agrees else "✗ differs"
        self.equation.setText(
            f"<div style='font-size:x-large'>{sums}<br>= <b>{fmt.fact(round(step.product_sum, 4))}</b><br>"
            f"+ bias {fmt.fact(round(step.bias, 4))}<br>= <b style='color:{self._accent}'>"
            f"{fmt.fact(round(step.total, 4))}</b></div><p style='font-size:large'>the forward pass gives<br><b>"
            f"{fmt.fact(round(step.activation, 4))}</b> ({mark})</p>")

    def restyle(self, theme_colors) -> None:
        self._accent = theme_colors.accent
        for w in (self.patch, self.kernel, self.products, self.input_view, self.output_view):
            w.set_text_color(theme_colors.text)
        if self.step is not None:
            self.set_step(self.step)


# -- 1×1 bottlenecks and GAP ------------------------------------------------------------------------------------------------

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
        self.plot = _Plot(self)
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


class ChartsPanel(QTabWidget):
    """The five charts as pages."""

    PAGES = ("timeline", "accuracy", "compare", "convolution", "arithmetic")

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("charts_panel")
        self.timeline = TimelineChart(self)
        self.accuracy = AccuracyChart(self)
        self.compare = CompareView(self)
        self.convolution = ConvExplainView(self)
        self.arithmetic = ArithmeticView(self)
        self.status = {}
        for page, title in zip((self.timeline, self.accuracy, self.compare, self.convolution, self.arithmetic),
                               ("ImageNet timeline", "Accuracy vs MACs", "Compare", "Convolution",
                                "1×1 and GAP")):
            self.addTab(page, title)

    def set_theme(self, theme: str) -> None:
        c = colors(theme)
        self.timeline.restyle(c)
        self.accuracy.restyle(c)
        self.compare.restyle(c)
        self.convolution.restyle(c)
        self.arithmetic.restyle(c)

    def set_font_scale(self, _scale: float) -> None:
        """The application font changed (the classroom's scale): chart text follows it."""
        for plot in (self.timeline, self.accuracy, *self.compare.bars.values(), self.arithmetic.plot):
            plot.restyle()
        self.compare.restyle()

