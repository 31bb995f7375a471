"""The Charts tab's convolution explained: ``ConvExplainView`` steps a kernel over an image, showing the
patch, the kernel and their products as ``NumberGrid``s and where it is on the image (``ImageWithBox``).
"""

from __future__ import annotations


import numpy as np
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QImage, QPainter, QPen
from PySide6.QtWidgets import (QComboBox, QGridLayout, QHBoxLayout, QLabel, QPushButton, QSizePolicy, QSpinBox,
                               QToolTip, QVBoxLayout, QWidget)

from cnn_explorer.widgets.common import format as fmt

def _diverging(value: float, limit: float) -> QColor:
    t = 0.0 if limit <= 0 else max(-1.0, min(1.0, value / limit))
    if t >= 0:
        return QColor(int(255 - 200 * t), int(255 - 120 * t), 255)  # white → blue
    return QColor(255, int(255 + 140 * t), int(255 + 200 * t))  # white → red


class _Drawn(QWidget):
    """A widget that paints itself: a title and text of a colour the theme sets."""

    def set_text_color(self, color: str) -> None:
        self._text = QColor(color)
        self.update()


class NumberGrid(_Drawn):
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


class ImageWithBox(_Drawn):
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
