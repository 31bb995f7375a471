"""The Charts tab's plots (pyqtgraph): ``Plot``, a plot whose tick labels, axis titles and text follow the
theme and the text scale, and the two lecture figures drawn with it: ``TimelineChart`` (ImageNet top-5 error
by year) and ``AccuracyChart`` (accuracy against MACs). ``PALETTE``: one colour per series.
"""

from __future__ import annotations

import math

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF
from PySide6.QtWidgets import QApplication

from cnn_explorer.widgets.common import format as fmt

# One colour per series, legible on white and on black (Okabe–Ito).
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442")
SYMBOLS = ("o", "s", "t", "d", "h")  # markers, when there are more series than colours
CHART_FONT_FACTOR = 1.15  # chart text against the application's font


def point_size(scale: float = 1.0) -> float:
    return max(QApplication.font().pointSizeF(), 9.0) * CHART_FONT_FACTOR * scale


class Plot(pg.PlotWidget):
    """A plot with large tick labels and axis titles that follow the theme and the text scale."""

    def __init__(self, parent=None):
        super().__init__(parent, enableMenu=False)
        self.hideButtons()
        self.setMouseEnabled(False, False)
        self.texts: list[pg.TextItem] = []
        self.points: list = []  # what is plotted (the app's data), empty until set_points
        self.text_scale = 1.0  # the labels' size against the chart font
        self._titles: dict[str, str] = {}
        self._fg = "#1b1e20"
        self._muted = "#5c6670"
        self.showGrid(x=True, y=True, alpha=0.25)

    def set_title(self, axis: str, text: str) -> None:
        self._titles[axis] = text
        self._apply_titles()

    def _apply_titles(self) -> None:
        size = f"{point_size():.0f}pt"
        for axis, text in self._titles.items():
            self.getPlotItem().setLabel(axis, text, color=self._fg, **{"font-size": size})

    def restyle(self, theme_colors=None) -> None:
        if theme_colors is not None:
            self.setBackground(theme_colors.base)
            self._fg, self._muted = theme_colors.text, theme_colors.muted
        font = QFont(QApplication.font())
        font.setPointSizeF(point_size(0.95))
        for name in ("left", "bottom"):
            axis = self.getPlotItem().getAxis(name)
            axis.setPen(self._fg)
            axis.setTextPen(self._fg)
            axis.setStyle(tickFont=font, tickTextOffset=6)
        self._apply_titles()
        label_font = QFont(QApplication.font())
        label_font.setPointSizeF(point_size(self.text_scale))
        for item in self.texts:
            item.setFont(label_font)
            item.setColor(self._fg)

    def add_text(self, text: str, x: float, y: float, anchor=(0, 1)) -> pg.TextItem:
        item = pg.TextItem(text, color=self._fg, anchor=anchor)
        font = QFont(QApplication.font())
        font.setPointSizeF(point_size(self.text_scale))
        item.setFont(font)
        item.setPos(x, y)
        self.addItem(item)
        self.texts.append(item)
        return item

    def clear_all(self) -> None:
        self.clear()
        self.texts = []


class TimelineChart(Plot):
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


class AccuracyChart(Plot):
    """Top-1 accuracy against GFLOPS (log axis); bubble area ∝ parameters; one model per family named."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setLogMode(x=True, y=False)
        self.scatter = None

    def resizeEvent(self, event) -> None:  # noqa: N802 - the labels are placed for the plot's size
        super().resizeEvent(event)
        if getattr(self, "scatter", None) is not None and self.__dict__.get("points"):
            self.set_points(self.points)

    def set_points(self, points) -> None:
        self.clear_all()
        self.points = list(points)
        families = sorted({p.family for p in points})
        # a colour and a marker per family: more families than colours stay told apart, in the legend too
        style = {f: (PALETTE[i % len(PALETTE)], SYMBOLS[(i // len(PALETTE)) % len(SYMBOLS)])
                 for i, f in enumerate(families)}

        def brush(family: str):
            colour = QColor(style[family][0])
            return pg.mkBrush(colour.red(), colour.green(), colour.blue(), 150)

        largest = max((p.params for p in points), default=1)
        spots = [{"pos": (math.log10(p.gflops), p.acc1), "size": 10 + 46 * math.sqrt(p.params / largest),
                  "symbol": style[p.family][1], "brush": brush(p.family),
                  "pen": pg.mkPen(style[p.family][0], width=1.5), "data": p} for p in points]
        self.scatter = pg.ScatterPlotItem(hoverable=True, tip=self._tip)
        self.scatter.addPoints(spots)
        self.addItem(self.scatter)
        self._legend(families, style, brush)
        self.set_title("left", "ImageNet top-1 accuracy (%)")
        self.set_title("bottom", "GMACs per image (log scale) · bubble area ∝ parameters")
        if points:
            xs = [math.log10(p.gflops) for p in points]
            ys = [p.acc1 for p in points]
            self.setXRange(min(xs) - 0.15, max(xs) + 0.2, padding=0)
            self.setYRange(min(ys) - 2, max(ys) + 2.5, padding=0)
            self._place_labels(min(xs) - 0.15, max(xs) + 0.2, min(ys) - 2, max(ys) + 2.5)
        self.restyle()

    def _legend(self, families: list[str], style: dict, brush) -> None:
        """The families' colours and markers, in two columns at the lower right (few models are slow and weak)."""
        legend = self.__dict__.get("legend")
        if legend is None:  # made once; drawn again (a resize), it is refilled
            legend = pg.LegendItem(offset=(-8, -8), brush=pg.mkBrush(255, 255, 255, 200), pen=pg.mkPen(self._muted))
            legend.setParentItem(self.getPlotItem().vb)
            legend.anchor((1, 1), (1, 1), offset=(-8, -8))
            legend.setColumnCount(2)
        legend.clear()
        legend.setLabelTextColor(self._fg)
        legend.setLabelTextSize(f"{point_size(0.85):.0f}pt")
        for family in families:
            sample = pg.ScatterPlotItem(size=12, symbol=style[family][1], brush=brush(family),
                                        pen=pg.mkPen(style[family][0], width=1.5))
            legend.addItem(sample, family)
        self.legend = legend

    def _place_labels(self, x0: float, x1: float, y0: float, y1: float) -> None:
        """Name one model per family (the lecture's), most accurate first, where its label covers no other
        label, no bubble and not the legend (estimated from the font and the plot's size); a label that fits
        nowhere is left to the hover tip."""
        width = max(self.width() - 90, 300)
        height = max(self.height() - 80, 200)
        metrics = QFontMetricsF(QFont(QApplication.font()))
        char_w = metrics.averageCharWidth() * CHART_FONT_FACTOR * (x1 - x0) / width
        line_h = metrics.height() * CHART_FONT_FACTOR * (y1 - y0) / height
        per_px = ((x1 - x0) / width, (y1 - y0) / height)
        largest = max((p.params for p in self.points), default=1)
        bubbles = []
        for p in self.points:
            radius = (10 + 46 * math.sqrt(p.params / largest)) / 2
            x, y = math.log10(p.gflops), p.acc1
            bubbles.append((x - radius * per_px[0], y - radius * per_px[1], x + radius * per_px[0],
                            y + radius * per_px[1]))
        legend = self.__dict__.get("legend")
        if legend is not None:  # its corner, estimated from its entries
            rows = (len(legend.items) + 1) // 2
            longest = max((len(label.text) for _, label in legend.items), default=0)
            lw, lh = (2 * (longest + 5) * metrics.averageCharWidth() + 24) * per_px[0], (rows * metrics.height()
                                                                                           * 1.25 + 16) * per_px[1]
            bubbles.append((x1 - lw, y0, x1, y0 + lh))
        placed: list[tuple[float, float, float, float]] = []

        def clear(box) -> bool:
            return not any(box[0] < b[2] and b[0] < box[2] and box[1] < b[3] and b[1] < box[3]
                           for b in placed + bubbles)

        labelled = sorted((p for p in self.points if p.labelled),
                          key=lambda p: (not getattr(p, "lecture", False), -p.acc1))  # the lectures' models first
        for p in labelled:
            x, y = math.log10(p.gflops), p.acc1
            w = char_w * (len(p.model) + 1)
            radius = (10 + 46 * math.sqrt(p.params / largest)) / 2
            spots = []
            for reach in (1.0, 2.2, 3.6):  # beside its bubble, else a little further out, with a leader line
                gx, gy = (reach * radius + 3) * per_px[0], (reach * radius + 2) * per_px[1]
                spots += [(0, gy, 0.5, 1.0, reach), (0, -gy, 0.5, 0.0, reach), (gx, 0, 0.0, 0.5, reach),
                          (-gx, 0, 1.0, 0.5, reach), (gx, gy, 0.0, 1.0, reach), (-gx, gy, 1.0, 1.0, reach),
                          (gx, -gy, 0.0, 0.0, reach), (-gx, -gy, 1.0, 0.0, reach)]
            for dx, dy, ax, ay, reach in spots:
                tx, ty = x + dx, y + dy
                left, bottom = tx - ax * w, ty - (1 - ay) * line_h  # the anchor is a fraction from the text's top
                box = (left, bottom, left + w, bottom + line_h)
                if box[0] < x0 or box[2] > x1 or box[1] < y0 or box[3] > y1 or not clear(box):
                    continue
                placed.append(box)
                self.add_text(p.model, tx, ty, (ax, ay))
                if reach > 1.0:
                    self.addItem(pg.PlotCurveItem([x, tx], [y, ty], pen=pg.mkPen(self._muted, width=1)))
                break

    @staticmethod
    def _tip(x=None, y=None, data=None) -> str:
        p = data
        if p is None:
            return ""
        return (f"{p.model} ({p.year})\ntop-1 {fmt.fact(p.acc1)}% · top-5 {fmt.fact(p.acc5)}%\n"
                f"{fmt.fact(p.gflops)} GMACs · {fmt.count(p.params)} params\n{p.weights}")
