"""The lab's small views, fed numpy arrays: an image with boxes drawn on it (the input with a unit's receptive
field, the effective field, a tool's result), a histogram, and the enlarged channel with its statistics.
No torch."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsRectItem, QLabel, QSizePolicy, QVBoxLayout, QWidget

from cnn_explorer.widgets.lab.data import Box
from cnn_explorer.widgets.lab.mosaic import _PickImage, colormap_lut, image_view

BOX_COLOR = "#ff2b2b"
SUPPORT_COLOR = "#ffd500"


def _label(text: str, parent: QWidget, name: str = "", wrap: bool = True) -> QLabel:
    label = QLabel(text, parent)
    if name:
        label.setObjectName(name)
    label.setWordWrap(wrap)
    label.setTextInteractionFlags(Qt.TextSelectableByMouse)
    return label


class ImagePane(QWidget):
    """A title, an image (RGB, or one channel through a LUT) and up to two boxes drawn on it.
    ``clicked(row, column)`` in image pixels."""

    clicked = Signal(int, int)

    def __init__(self, title: str = "", parent: QWidget | None = None, name: str = ""):
        super().__init__(parent)
        if name:
            self.setObjectName(name)
        self.title = _label(title, self, wrap=True)
        self.title.setAlignment(Qt.AlignHCenter)
        self.view, self.box = image_view(self)
        self.item = _PickImage(lambda r, c: self.clicked.emit(int(r), int(c)), lambda r, c: None)
        self.box.addItem(self.item)
        self.rects: list[QGraphicsRectItem] = []
        for color, style in ((BOX_COLOR, Qt.SolidLine), (SUPPORT_COLOR, Qt.DashLine)):
            rect = QGraphicsRectItem()
            rect.setPen(pg.mkPen(color, width=2, style=style, cosmetic=True))
            rect.setZValue(10)
            rect.hide()
            self.box.addItem(rect)
            self.rects.append(rect)
        self.image: np.ndarray | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.title)
        layout.addWidget(self.view, 1)

    def set_background(self, color: str) -> None:
        self.view.setBackground(color)

    def set_title(self, text: str) -> None:
        self.title.setText(text)

    def set_image(self, image: np.ndarray | None, lut: np.ndarray | None = None) -> None:
        resized = self.image is None or image is None or self.image.shape[:2] != image.shape[:2]
        self.image = image
        if image is None:
            self.item.clear()
            self.set_box(None)
            self.set_box(None, 1)
            return
        image = np.ascontiguousarray(image)
        self.item.setImage(image, levels=(0, 255), lut=lut if image.ndim == 2 else None, autoLevels=False)
        if resized:
            self.box.autoRange(padding=0.01)

    def set_box(self, box: Box | None, which: int = 0) -> None:
        """Draw half-open box (top, left, bottom, right) in image pixels; None hides it."""
        rect = self.rects[which]
        if box is None:
            rect.hide()
            return
        top, left, bottom, right = box
        rect.setRect(QRectF(left, top, right - left, bottom - top))
        rect.show()

    def box_shown(self, which: int = 0) -> Box | None:
        rect = self.rects[which]
        if not rect.isVisible():
            return None
        r = rect.rect()
        return (round(r.top()), round(r.left()), round(r.bottom()), round(r.right()))


class HistogramPlot(QWidget):
    """Counts over bin edges, as filled steps; the x axis in the data's units (its two ends, and zero where it
    lies inside), in the window's font. Drawn with a QPainter: two open with the lab, and pyqtgraph's PlotWidget
    took 50-60 ms of the GUI thread to make each (its PlotItem builds its context menu's form even with the
    menu off), the Lab tab's longest turns."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setMinimumHeight(70)
        self.setMaximumHeight(140)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Preferred)
        self.counts: np.ndarray | None = None
        self.edges: np.ndarray | None = None
        self._background, self._foreground = QColor("#ffffff"), QColor("#202020")

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(240, 100)

    def set_histogram(self, counts: np.ndarray | None, edges: np.ndarray | None) -> None:
        empty = counts is None or len(counts) == 0
        self.counts = None if empty else np.asarray(counts, float)
        self.edges = None if empty else np.asarray(edges, float)
        self.update()

    def set_colors(self, background: str, foreground: str) -> None:
        self._background, self._foreground = QColor(background), QColor(foreground)
        self.update()

    def paintEvent(self, event) -> None:  # noqa: N802
        painter = QPainter(self)
        painter.fillRect(self.rect(), self._background)
        if self.counts is None:
            return
        metrics = self.fontMetrics()
        pad = 6.0
        plot = QRectF(pad, pad, self.width() - 2 * pad, self.height() - 2 * pad - metrics.height() - 4)
        low, high = float(self.edges[0]), float(self.edges[-1])
        span, top = (high - low) or 1.0, float(self.counts.max()) or 1.0

        def x(value: float) -> float:
            return plot.left() + (value - low) / span * plot.width()

        steps = QPainterPath(QPointF(x(low), plot.bottom()))
        for count, left, right in zip(self.counts, self.edges[:-1], self.edges[1:]):
            height = plot.bottom() - count / top * plot.height()
            steps.lineTo(x(left), height)
            steps.lineTo(x(right), height)
        steps.lineTo(x(high), plot.bottom())
        steps.closeSubpath()
        painter.setRenderHint(QPainter.Antialiasing, True)
        painter.fillPath(steps, QColor(53, 116, 212, 110))
        painter.setPen(QPen(QColor("#3574d4"), 1.5))
        painter.drawPath(steps)
        painter.setPen(QPen(self._foreground, 1))
        painter.drawLine(QPointF(plot.left(), plot.bottom()), QPointF(plot.right(), plot.bottom()))
        taken: list[tuple[float, float]] = []
        for value in [low, high] + ([0.0] if low < 0 < high else []):
            text = f"{value:.3g}"
            width = metrics.horizontalAdvance(text)
            left = min(max(x(value) - width / 2, 0.0), self.width() - width)
            if any(left < b + 8 and a < left + width + 8 for a, b in taken):
                continue  # zero too near an end: the ends say enough
            taken.append((left, left + width))
            painter.drawLine(QPointF(x(value), plot.bottom()), QPointF(x(value), plot.bottom() + 3))
            painter.drawText(QPointF(left, plot.bottom() + 4 + metrics.ascent()), text)


def stats_text(values: np.ndarray) -> str:
    values = np.asarray(values, np.float32)
    zero = float((values == 0).mean()) * 100 if values.size else 0.0
    return (f"min {values.min():.4g} · max {values.max():.4g} · mean {values.mean():.4g} · "
            f"std {values.std():.4g} · zero {zero:.0f} %")


class ChannelView(QWidget):
    """One channel enlarged (its own range on the colour map), its histogram and statistics."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("channel_view")
        self.pane = ImagePane("Click a channel to enlarge it.", self, "channel_pane")
        self.histogram = HistogramPlot(self)
        self.stats = _label("", self, "channel_stats")
        self.channel = -1
        self._lut = colormap_lut()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.pane, 1)
        layout.addWidget(self.histogram)
        layout.addWidget(self.stats)

    def set_channel(self, values: np.ndarray | None, channel: int = -1, layer: str = "",
                    unit: tuple[int, int] | None = None) -> None:
        """Show channel ``channel`` (its H×W ``values``) of ``layer``, unit (y, x) framed; None clears."""
        self.channel = channel
        if values is None:
            self.pane.set_title("Click a channel to enlarge it.")
            self.pane.set_image(None)
            self.histogram.set_histogram(None, None)
            self.stats.setText("")
            return
        low, high = float(values.min()), float(values.max())
        scaled = (values - low) * (254.0 / (high - low)) + 1.5 if high > low else np.full(values.shape, 128.0)
        self.pane.set_title(f"<b>{layer}</b> channel {channel} ({values.shape[0]}×{values.shape[1]})")
        self.pane.set_image(np.clip(scaled, 0, 255).astype(np.uint8), self._lut)
        self.pane.set_box(None if unit is None else (unit[0], unit[1], unit[0] + 1, unit[1] + 1))
        counts, edges = np.histogram(values, bins=min(64, max(8, values.size // 4)))
        self.histogram.set_histogram(counts, edges)
        self.stats.setText(stats_text(values))
