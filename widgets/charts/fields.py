"""The Charts tab's receptive fields page: ``FieldsView``, "two 3×3 convs see a 5×5, three see a 7×7" drawn on
the network's input (nested squares over a zoomed patch of the bundled cat), with VGG-16's parameter counts:
n·3·3·C² for the stack against (2n+1)²·C² for one conv that sees as far. The numbers come from
``models.charts.receptive_fields`` (the analysis's receptive fields); the widget gets numpy arrays only.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPen
from PySide6.QtWidgets import (QComboBox, QHBoxLayout, QHeaderView, QLabel, QSizePolicy, QTableWidget,
                               QTableWidgetItem, QVBoxLayout, QWidget)

from cnn_explorer.widgets.common import format as fmt

SQUARE_COLORS = ("#ffd400", "#ff7a00", "#e8175d")  # 3×3, 5×5, 7×7: warm, readable on a photo
MARGIN_CELLS = 2  # cells shown around the widest square
COLUMNS = ("stage", "field on the image\n(pixels, analysis)", "on the stage's\nmap (cells)", "C",
           "stack: n·3·3·C²", "one conv: (2n+1)²·C²", "one conv ÷ stack")


def _qimage(array: np.ndarray) -> tuple[QImage, np.ndarray]:
    a = np.ascontiguousarray(np.asarray(array)[:, :, :3].astype(np.uint8))
    return QImage(a.data, a.shape[1], a.shape[0], a.strides[0], QImage.Format_RGB888), a  # keep a: QImage borrows


class FieldPicture(QWidget):
    """The whole input with the zoomed region marked, and the zoom: the stage's cells as a grid, the field of
    each conv of the stage as a square around the centre cell, labelled beside it."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("fields_picture")
        self.setMinimumSize(420, 260)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
        self.image = None
        self.stage = None
        self._text = QColor("#1b1e20")

    def set_stage(self, image: np.ndarray, stage) -> None:
        self.image, self._array = _qimage(image)
        self.stage = stage
        self.update()

    def region(self) -> tuple[int, int, int]:
        """(top, left, side) in image pixels of the zoomed patch: the widest square and a margin, centred."""
        cells = self.stage.span + 2 * MARGIN_CELLS
        side = cells * self.stage.jump
        h, w = self.image.height(), self.image.width()
        centre = (h // 2 // self.stage.jump) * self.stage.jump, (w // 2 // self.stage.jump) * self.stage.jump
        top = min(max(centre[0] - (cells // 2) * self.stage.jump, 0), h - side)
        left = min(max(centre[1] - (cells // 2) * self.stage.jump, 0), w - side)
        return top, left, side

    def paintEvent(self, _event) -> None:  # noqa: N802
        if self.image is None or self.stage is None:
            return
        painter = QPainter(self)
        painter.setRenderHint(QPainter.Antialiasing)
        font = QFont(self.font())
        font.setPointSizeF(font.pointSizeF() * 1.25)
        font.setBold(True)
        painter.setFont(font)
        line = painter.fontMetrics().height()
        stage, jump = self.stage, self.stage.jump
        top, left, side = self.region()
        legend = [f"{layer.name}: {layer.cells}×{layer.cells}" + (" cells" if jump > 1 else " pixels")
                  + (f" ({layer.field} px)" if jump > 1 else "") for layer in stage.layers]
        legend_w = max(painter.fontMetrics().horizontalAdvance(text) for text in legend) + line + 24
        # the whole input, small, on the left, the zoomed patch marked on it
        h, w = self.image.height(), self.image.width()
        full = min(self.height() * 0.45, self.width() * 0.2)
        whole = QRectF(0, line + 4, full, full * h / w)
        painter.drawImage(whole, self.image)
        s = full / w
        painter.setPen(QPen(QColor(SQUARE_COLORS[-1]), 2.5))
        painter.drawRect(QRectF(whole.left() + left * s, whole.top() + top * s, max(side * s, 3), max(side * s, 3)))
        painter.setPen(self._text)
        small = QFont(font)
        small.setBold(False)
        small.setPointSizeF(font.pointSizeF() * 0.8)
        painter.setFont(small)
        painter.drawText(QRectF(0, whole.bottom() + 4, full, line * 3), Qt.AlignLeft | Qt.TextWordWrap,
                         f"the input, {w}×{h}: the zoomed patch is marked")
        painter.setFont(font)
        # the zoom: the stage's cells, big
        zx = full + 24
        zoom = min(self.width() - zx - legend_w, self.height() - line - 8)
        z = QRectF(zx, line + 4, zoom, zoom)
        unit = "1 square = 1 pixel" if jump == 1 else f"1 square = 1 cell of the stage's map = {jump}×{jump} pixels"
        painter.drawText(QRectF(zx, 0, self.width() - zx, line), Qt.AlignLeft, unit)
        painter.drawImage(z, self.image, QRectF(left, top, side, side))
        cells = side // jump
        step = zoom / cells
        painter.setPen(QPen(QColor(255, 255, 255, 110), 1))
        for i in range(1, cells):
            painter.drawLine(z.left() + i * step, z.top(), z.left() + i * step, z.bottom())
            painter.drawLine(z.left(), z.top() + i * step, z.right(), z.top() + i * step)
        c = cells // 2  # the centre cell; the squares grow around it
        for k, layer in enumerate(stage.layers):
            half = layer.cells // 2
            rect = QRectF(z.left() + (c - half) * step, z.top() + (c - half) * step, layer.cells * step,
                          layer.cells * step)
            color = QColor(SQUARE_COLORS[k % len(SQUARE_COLORS)])
            painter.setPen(QPen(QColor(0, 0, 0, 160), 6))
            painter.drawRect(rect)
            painter.setPen(QPen(color, 3.5))
            painter.drawRect(rect)
            y = z.top() + k * (line * 1.5)
            painter.fillRect(QRectF(z.right() + 14, y + 4, line - 8, line - 8), color)
            painter.setPen(self._text)
            painter.drawText(QRectF(z.right() + 14 + line, y, legend_w, line), Qt.AlignLeft | Qt.AlignVCenter,
                             legend[k])
        painter.setFont(small)
        y = z.top() + len(stage.layers) * line * 1.5 + line * 0.5
        explain = (f"{len(stage.layers)} stacked 3×3 convs of stride 1 see 2·{len(stage.layers)}+1 = {stage.span} "
                   f"squares of their input. Sizes in px: the analysis's receptive field on the image.")
        if jump > 1:
            explain += (f" Each cell of the stage's input map already sees {stage.input_field}×{stage.input_field} "
                        f"pixels, and its neighbour is {jump} pixels on.")
        painter.drawText(QRectF(z.right() + 14, y, self.width() - z.right() - 14, self.height() - y),
                         Qt.AlignLeft | Qt.AlignTop | Qt.TextWordWrap, explain)
        painter.setPen(QPen(QColor("#ffffff"), 2))
        painter.drawRect(QRectF(z.left() + c * step, z.top() + c * step, step, step))
        painter.end()


class FieldsView(QWidget):
    """A stage of the model chosen above (conv3 first: three 3×3 convs), its picture, and every stage's counts."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.heading = QLabel("Recording VGG-16's receptive fields…", self)
        self.heading.setObjectName("fields_heading")
        self.heading.setTextFormat(Qt.RichText)
        self.heading.setWordWrap(True)
        self.choice = QComboBox(self)
        self.choice.setObjectName("fields_stage")
        self.choice.setSizeAdjustPolicy(QComboBox.AdjustToContents)
        self.choice.currentIndexChanged.connect(lambda _i: self._render())
        self.picture = FieldPicture(self)
        self.table = QTableWidget(self)
        self.table.setObjectName("fields_table")
        self.table.setEditTriggers(QTableWidget.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.setColumnCount(len(COLUMNS))
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        top = QHBoxLayout()
        top.addWidget(self.heading, 1)
        top.addWidget(self.choice)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.picture, 1)
        layout.addWidget(self.table)
        self.fields = None
        self._accent = "#1f5fb8"

    def set_fields(self, fields) -> None:
        self.fields = fields
        self.choice.blockSignals(True)
        self.choice.clear()
        self.choice.addItems([f"{s.name}: {len(s.layers)} convs" for s in fields.stages])
        widest = max(range(len(fields.stages)), key=lambda i: (fields.stages[i].span, -i))
        self.choice.setCurrentIndex(widest)  # the first stage of three convs: the lecture's 7×7
        self.choice.blockSignals(False)
        rows = []
        for s in fields.stages:
            n = len(s.layers)
            rows.append([f"{s.name} ({n} convs)", " → ".join(str(layer.field) for layer in s.layers),
                         " → ".join(str(layer.cells) for layer in s.layers), str(s.channels),
                         f"{n}·3·3·{s.channels}² = {fmt.count(s.stacked_params)}",
                         f"{s.span}·{s.span}·{s.channels}² = {fmt.count(s.single_params)}",
                         f"{s.single_params / s.stacked_params:.2f}×"])
        self.table.setRowCount(len(rows))
        for r, row in enumerate(rows):
            for c, text in enumerate(row):
                item = QTableWidgetItem(text)
                item.setTextAlignment((Qt.AlignLeft if c in (0, len(row) - 1) else Qt.AlignRight) | Qt.AlignVCenter)
                self.table.setItem(r, c, item)
        self.table.resizeRowsToContents()
        self.table.setFixedHeight(self.table.horizontalHeader().height() + sum(
            self.table.rowHeight(r) for r in range(len(rows))) + 2 * self.table.frameWidth())
        self._render()

    def current(self):
        i = self.choice.currentIndex()
        return self.fields.stages[i] if self.fields is not None and 0 <= i < len(self.fields.stages) else None

    def _render(self) -> None:
        stage = self.current()
        if stage is None:
            return
        n = len(stage.layers)
        word = {1: "one", 2: "two", 3: "three", 4: "four"}.get(n, str(n))
        self.heading.setText(
            f"<div style='font-size:x-large'><b>{word.capitalize()} 3×3 convs see a {stage.span}×{stage.span}</b> "
            f"({self.fields.model} {stage.name}, C = {stage.channels}): {n}·3·3·C² = "
            f"<b style='color:{self._accent}'>{fmt.count(stage.stacked_params)}</b> weights against "
            f"{stage.span}·{stage.span}·C² = <b>{fmt.count(stage.single_params)}</b>, and {n} ReLUs instead of "
            f"one</div>")
        self.picture.set_stage(self.fields.image, stage)

    def restyle(self, theme_colors) -> None:
        self._accent = theme_colors.accent
        self.picture._text = QColor(theme_colors.text)
        self._render()
