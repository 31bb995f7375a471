"""The feature-map mosaic: every channel of a layer in one uint8 image, drawn by one pyqtgraph ``ImageItem``
with fixed levels and a 256-entry lookup table (pyqtgraph's fast path: 37× cheaper than an item per
channel). The mosaic's data is made on the worker thread (``app/lab_jobs.make_mosaic``, from
``models/lab/pictures``); ``MosaicView`` shows it, tells which unit is under the mouse and which was clicked.
No torch.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QColor, QLinearGradient, QPainter, QPen
from PySide6.QtWidgets import QGraphicsRectItem, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from cnn_explorer.widgets.lab.data import MosaicData

NORMALIZE = {"channel": "per channel", "layer": "per layer", "global": "global (all layers)"}
SORT = {"none": "channel order", "mean": "by mean activation", "max": "by max activation"}


def colormap_lut(name: str = "viridis", background: str | None = None) -> np.ndarray:
    """A 256×3 uint8 lookup table of matplotlib's colour map ``name`` (the table ``visualize`` draws with,
    ``models/lab/pictures.lut``); entry 0 is ``background`` (the gap between tiles) when given."""
    from matplotlib import colormaps

    table = colormaps[name](np.linspace(0.0, 1.0, 256))[:, :3]
    lut = np.clip(np.rint(table * 255), 0, 255).astype(np.uint8)
    if background is not None:
        color = QColor(background)
        lut[0] = (color.red(), color.green(), color.blue())
    return np.ascontiguousarray(lut)


class _PickImage(pg.ImageItem):
    """An ImageItem that reports clicks and hovers in image pixels (row, column)."""

    def __init__(self, on_click, on_hover):
        super().__init__(axisOrder="row-major")
        self._on_click, self._on_hover = on_click, on_hover
        self.setAcceptHoverEvents(True)

    def mouseClickEvent(self, event):  # noqa: N802
        if event.button() == Qt.LeftButton and self.image is not None:
            event.accept()
            pos = event.pos()
            self._on_click(pos.y(), pos.x())

    def hoverEvent(self, event):  # noqa: N802
        if self.image is None:
            return
        if event.isExit():
            self._on_hover(None, None)
        else:
            pos = event.pos()
            self._on_hover(pos.y(), pos.x())


def image_view(parent: QWidget | None = None) -> tuple[pg.GraphicsView, pg.ViewBox]:
    """A bare pyqtgraph view with one aspect-locked, y-down view box (no axes, no menu). Its owner frames each
    picture of a new size (``box.autoRange``): left on, pyqtgraph's automatic range framed the empty view again
    during its first paint, and each such change asked for another paint at once (the Lab tab's first opening:
    five paints in a row, no input or timer between)."""
    view = pg.GraphicsView(parent)
    box = pg.ViewBox(lockAspect=True, invertY=True, enableMenu=False)
    box.disableAutoRange()
    box.setDefaultPadding(0.01)
    view.setCentralItem(box)
    view.setMinimumSize(60, 60)
    return view, box


def _end(value: float, span: float) -> str:
    """An end of a colour bar to the precision of its span (0.000000453 … 1 reads "0.00 … 1.00")."""
    import math

    if not math.isfinite(value):
        return str(value)
    if span <= 0 or not math.isfinite(span) or abs(value) >= 1e5:
        return f"{value:.3g}"
    decimals = max(0, 2 - math.floor(math.log10(span) + 1e-4))  # 0.99999 counts as 1
    return f"{value:.{min(decimals, 8)}f}"


class ScaleBar(QWidget):
    """The colour bar of the mosaic: the LUT as a gradient, with the values at its ends."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("scale_bar")
        self._lut = colormap_lut()
        self.low_label, self.high_label = QLabel(self), QLabel(self)
        self.bar = QWidget(self)
        self.bar.setMinimumHeight(12)
        self.bar.setMinimumWidth(80)
        self.bar.paintEvent = self._paint_bar
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.low_label)
        layout.addWidget(self.bar, 1)
        layout.addWidget(self.high_label)

    def set_colormap(self, name: str) -> None:
        self._lut = colormap_lut(name)
        self.bar.update()

    def set_range(self, low: float, high: float, note: str = "") -> None:
        self.low_label.setText(_end(low, high - low) if not note else note)
        self.high_label.setText(_end(high, high - low) if not note else "max")

    def _paint_bar(self, event) -> None:
        painter = QPainter(self.bar)
        rect = self.bar.rect().adjusted(0, 2, -1, -2)
        gradient = QLinearGradient(rect.left(), 0, rect.right(), 0)
        for i in range(1, 256, 15):
            r, g, b = (int(v) for v in self._lut[i])
            gradient.setColorAt((i - 1) / 254, QColor(r, g, b))
        painter.fillRect(rect, gradient)
        painter.setPen(QPen(self.palette().windowText().color(), 1))
        painter.drawRect(rect)
        painter.end()


class MosaicView(QWidget):
    """Shows a ``MosaicData``. ``unit_clicked(c, y, x)`` on a click; the unit under the mouse and its value
    are written in ``value_label``."""

    unit_clicked = Signal(int, int, int)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("mosaic_view")
        self.data: MosaicData | None = None
        self.view, self.box = image_view(self)
        self.item = _PickImage(self._clicked, self._hovered)
        self.box.addItem(self.item)
        self.marker = QGraphicsRectItem()
        self.marker.setPen(pg.mkPen("#ff3030", width=2, cosmetic=True))
        self.marker.setZValue(10)
        self.marker.hide()
        self.box.addItem(self.marker)
        self.scale_bar = ScaleBar(self)
        self.value_label = QLabel("Hover a unit to read its value; click it for its receptive field.", self)
        self.value_label.setObjectName("mosaic_value")
        self.value_label.setWordWrap(True)
        self._lut = colormap_lut(background="#808080")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(3)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.scale_bar)
        layout.addWidget(self.value_label)

    def set_background(self, color: str) -> None:
        self._lut = colormap_lut(background=color)
        self.view.setBackground(color)
        if self.data is not None:
            self.item.setLookupTable(self._lut)

    def set_data(self, data: MosaicData) -> None:
        """Show ``data``; the view is framed anew only when the mosaic's size changed."""
        resized = self.data is None or self.data.image.shape != data.image.shape
        self.data = data
        self.item.setImage(data.image, levels=(0, 255), lut=self._lut, autoLevels=False)
        if resized:
            self.box.autoRange(padding=0.01)
        note = "per channel" if data.normalize == "channel" else ""
        self.scale_bar.set_range(data.low, data.high, note="min" if note else "")
        self.marker.hide()

    def clear(self) -> None:
        self.data = None
        self.item.clear()
        self.marker.hide()

    def mark(self, channel: int, y: int | None = None, x: int | None = None) -> None:
        """Frame ``channel``'s tile (and unit (y, x) in it)."""
        if self.data is None or (index := self.data.index_of(channel)) < 0:
            self.marker.hide()
            return
        top, left = self.data.tile_origin(index)
        h, w = self.data.tile
        if y is None or h * w <= 4:
            self.marker.setRect(QRectF(left - 0.5, top - 0.5, w + 1, h + 1))
        else:
            self.marker.setRect(QRectF(left + x, top + y, 1, 1))
        self.marker.show()

    def _clicked(self, row: float, column: float) -> None:
        unit = self.data.unit_at(row, column) if self.data is not None else None
        if unit is not None:
            self.unit_clicked.emit(*unit)

    def _hovered(self, row, column) -> None:
        unit = self.data.unit_at(row, column) if self.data is not None and row is not None else None
        if unit is None:
            return
        c, y, x = unit
        self.value_label.setText(f"channel {c}, unit ({y}, {x}): <b>{self.data.values[c, y, x]:.4g}</b>")
