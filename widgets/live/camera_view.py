"""The Live view's picture: ``CameraView``, the camera image fitted into the widget with the model's findings
drawn over it and a HUD of the pipeline's figures, and ``paint_overlays``, which draws the boxes, labels,
skeletons and caption of a ``LiveFrame`` (its ``Detection``s) with QPainter, on the screen or into a snapshot.
No torch: it shows plain data (numpy arrays, strings, numbers).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QImage, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from cnn_explorer.widgets.common.placement import LabelPlacer

#: COCO's person skeleton (pairs of keypoint indices), as models/live/draw.py has it.
SKELETON = ((15, 13), (13, 11), (16, 14), (14, 12), (11, 12), (5, 11), (6, 12), (5, 6), (5, 7), (6, 8),
            (7, 9), (8, 10), (1, 2), (0, 1), (0, 2), (1, 3), (2, 4), (3, 5), (4, 6))
HUD_SCALE = 1.3  # the HUD's text against the window's: it is read from the back of a lecture hall


@dataclass
class Detection:
    """One box to draw: (x1, y1, x2, y2) in the frame's pixels, its text, colour (r, g, b), keypoints."""

    box: tuple[float, float, float, float]
    text: str
    color: tuple[int, int, int]
    keypoints: np.ndarray | None = None  # K×3 (x, y, visibility)


@dataclass
class LiveFrame:
    """What the view shows for one result."""

    image: np.ndarray  # H×W×3 uint8 RGB (masks / class map already blended in)
    detections: list[Detection] = field(default_factory=list)
    caption: str = ""  # a classifier's top-1, drawn at the bottom of the frame
    explain: np.ndarray | None = None  # h×w×4 uint8 RGBA heat map over the whole frame (Explain), any size
    explain_box: tuple[float, float, float, float] | None = None  # the box the map explains, where it was then


def _qimage(image: np.ndarray) -> QImage:
    image = np.ascontiguousarray(image[:, :, :3], dtype=np.uint8)
    h, w = image.shape[:2]
    qimage = QImage(image.data, w, h, 3 * w, QImage.Format_RGB888)
    qimage._keep = image  # the QImage does not own the buffer
    return qimage


def _rgba_qimage(image: np.ndarray) -> QImage:
    image = np.ascontiguousarray(image, dtype=np.uint8)
    h, w = image.shape[:2]
    qimage = QImage(image.data, w, h, 4 * w, QImage.Format_RGBA8888)
    qimage._keep = image
    return qimage


def paint_explain(painter: QPainter, frame: LiveFrame, rect: QRectF) -> None:
    """The frame's heat map (Explain) blended over its image in ``rect``: scaled smoothly (a CAM is coarse),
    each pixel as opaque as its alpha; the box it explains dashed, where it was in the frame explained (the map
    is a few frames older than the picture)."""
    if frame.explain is None:
        return
    painter.setRenderHint(QPainter.SmoothPixmapTransform, True)
    painter.drawImage(rect, _rgba_qimage(frame.explain))
    if frame.explain_box is not None:
        h, w = frame.image.shape[:2]
        sx, sy = rect.width() / w, rect.height() / h
        x1, y1, x2, y2 = frame.explain_box
        painter.setPen(QPen(QColor(255, 255, 255), max(1.5, min(rect.width(), rect.height()) / 300), Qt.DashLine))
        painter.setBrush(Qt.NoBrush)
        painter.drawRect(QRectF(rect.left() + x1 * sx, rect.top() + y1 * sy, (x2 - x1) * sx, (y2 - y1) * sy))


def _text_color(color: tuple[int, int, int]) -> QColor:
    r, g, b = color
    return QColor(0, 0, 0) if 0.299 * r + 0.587 * g + 0.114 * b > 140 else QColor(255, 255, 255)


class CameraView(QWidget):
    """The frame, fitted into the widget keeping its aspect, with boxes, labels, skeletons and the HUD."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("live_camera_view")
        self.setMinimumSize(160, 120)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
        self.frame: LiveFrame | None = None
        self._qimage: QImage | None = None
        self.hud: list[str] = []
        self.hud_warning = ""
        self.placeholder = "Starting…"
        self.hud_corner = 0  # 0 top left, 1 top right, 2 bottom left, 3 bottom right: where it hides least
        self.painted_boxes = 0  # boxes drawn by the last paint (tests and a status line read it)
        self.paints = 0

    def show_frame(self, frame: LiveFrame) -> None:
        self.frame = frame
        self._qimage = _qimage(frame.image)
        self.update()

    def clear(self, placeholder: str = "") -> None:
        self.frame, self._qimage = None, None
        self.placeholder = placeholder
        self.update()

    def set_hud(self, lines: list[str], warning: str = "") -> None:
        if lines != self.hud or warning != self.hud_warning:
            self.hud, self.hud_warning = lines, warning
            self.update()

    def image_rect(self) -> QRectF:
        """Where the frame is drawn in the widget."""
        if self._qimage is None:
            return QRectF()
        w, h = self._qimage.width(), self._qimage.height()
        scale = min(self.width() / w, self.height() / h)
        return QRectF((self.width() - w * scale) / 2, (self.height() - h * scale) / 2, w * scale, h * scale)

    # -- painting -----------------------------------------------------------------------------------------
    def paintEvent(self, event) -> None:  # noqa: N802
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(16, 16, 18))
        font = QFont(self.font())
        if self._qimage is None:
            painter.setPen(QColor(235, 235, 235))
            font.setPointSizeF(font.pointSizeF() * HUD_SCALE)
            painter.setFont(font)
            painter.drawText(self.rect().adjusted(20, 20, -20, -20), Qt.AlignCenter | Qt.TextWordWrap,
                             self.placeholder)
        else:
            rect = self.image_rect()
            painter.setRenderHint(QPainter.SmoothPixmapTransform, True)
            painter.drawImage(rect, self._qimage)
            paint_explain(painter, self.frame, rect)
            self.painted_boxes = paint_overlays(painter, self.frame, rect, font)
        self._paint_hud(painter, font)
        painter.end()
        self.paints += 1

    def _paint_hud(self, painter: QPainter, font: QFont) -> None:
        lines = list(self.hud) + ([self.hud_warning] if self.hud_warning else [])
        if not lines:
            return
        base = font.pointSizeF()
        font = QFont(font)
        font.setBold(True)
        scale = HUD_SCALE
        while True:  # large, but never cut: smaller (down to 0.75 of the window's text) when the view is narrow
            font.setPointSizeF(base * scale)
            metrics = QFontMetricsF(font)
            widest = max(metrics.horizontalAdvance(line) for line in lines) + 1.4 * metrics.height()
            if widest <= self.width() or scale <= 0.75:
                break
            scale -= 0.05
        painter.setFont(font)
        pad = metrics.height() * 0.35
        width = min(self.width() - 2 * pad, max(metrics.horizontalAdvance(line) for line in lines) + 2 * pad)
        height = metrics.height() * len(lines) + 2 * pad
        box = self._hud_place(width, height, pad)
        painter.setPen(Qt.NoPen)
        painter.setBrush(QColor(0, 0, 0, 175))
        painter.drawRoundedRect(box, pad, pad)
        y = box.top() + pad + metrics.ascent()
        for i, line in enumerate(lines):
            warning = bool(self.hud_warning) and i == len(lines) - 1
            painter.setPen(QColor(255, 200, 60) if warning else QColor(255, 255, 255))
            painter.drawText(QPointF(box.left() + pad, y), metrics.elidedText(line, Qt.ElideRight, width - 2 * pad))
            y += metrics.height()

    def _hud_place(self, width: float, height: float, pad: float) -> QRectF:
        """The HUD's rectangle: in the corner where it covers the least of the boxes found (the one it is in
        while that covers none, so that it does not jump about), top left when nothing is found."""
        corners = [QRectF(pad if c % 2 == 0 else self.width() - pad - width,
                          pad if c < 2 else self.height() - pad - height, width, height) for c in range(4)]
        boxes = []
        if self.frame is not None and self.frame.detections and self._qimage is not None:
            rect = self.image_rect()
            h, w = self.frame.image.shape[:2]
            sx, sy = rect.width() / w, rect.height() / h
            boxes = [QRectF(rect.left() + x1 * sx, rect.top() + y1 * sy, (x2 - x1) * sx, (y2 - y1) * sy)
                     for x1, y1, x2, y2 in (d.box for d in self.frame.detections)]

        def hidden(corner: QRectF) -> float:
            return sum((corner & b).width() * (corner & b).height() for b in boxes if corner.intersects(b))

        covered = [hidden(c) for c in corners]
        if covered[self.hud_corner] > 0:
            self.hud_corner = min(range(4), key=lambda c: (covered[c], c))
        return corners[self.hud_corner]

    def render_image(self) -> QImage | None:
        """The frame at its own resolution with its boxes and labels drawn in (a snapshot)."""
        if self._qimage is None:
            return None
        image = self._qimage.convertToFormat(QImage.Format_RGB888)
        painter = QPainter(image)
        font = QFont(self.font())
        font.setPointSizeF(max(8.0, image.height() / 40))
        paint_explain(painter, self.frame, QRectF(0, 0, image.width(), image.height()))
        paint_overlays(painter, self.frame, QRectF(0, 0, image.width(), image.height()), font, screen=False)
        painter.end()
        return image


def paint_overlays(painter: QPainter, frame: LiveFrame, rect: QRectF, font: QFont, screen: bool = True) -> int:
    """Boxes, labels, skeletons and the caption of ``frame`` over its image drawn in ``rect``; how many
    boxes were drawn."""
    h, w = frame.image.shape[:2]
    sx, sy = rect.width() / w, rect.height() / h
    label_font = QFont(font)
    label_font.setBold(True)
    if screen:
        label_font.setPointSizeF(font.pointSizeF() * 1.1)
    metrics = QFontMetricsF(label_font)
    painter.setFont(label_font)
    line = max(2.0, min(rect.width(), rect.height()) / 220)
    labels = LabelPlacer((rect.left(), rect.top(), rect.width(), rect.height()))  # none covers another
    for det in frame.detections:
        x1, y1, x2, y2 = det.box
        box = QRectF(rect.left() + x1 * sx, rect.top() + y1 * sy, (x2 - x1) * sx, (y2 - y1) * sy)
        color = QColor(*det.color)
        painter.setPen(QPen(color, line))
        painter.setBrush(Qt.NoBrush)
        # A box's sides are straight: drawn without antialiasing, 300 boxes (a random-weight detector at
        # threshold 0) take 10 ms of the GUI thread instead of 120.
        painter.setRenderHint(QPainter.Antialiasing, False)
        painter.drawRect(box)
        painter.setRenderHint(QPainter.Antialiasing, True)
        if det.keypoints is not None:
            points = det.keypoints
            painter.setPen(QPen(color, line, Qt.SolidLine, Qt.RoundCap))
            for a, b in SKELETON if len(points) == 17 else ():  # a face's five landmarks: points only
                if a < len(points) and b < len(points) and points[a, 2] > 0 and points[b, 2] > 0:
                    painter.drawLine(QPointF(rect.left() + points[a, 0] * sx, rect.top() + points[a, 1] * sy),
                                     QPointF(rect.left() + points[b, 0] * sx, rect.top() + points[b, 1] * sy))
            painter.setBrush(QColor(255, 255, 255))
            painter.setPen(QPen(QColor(0, 0, 0), 1))
            for x, y, v in points:
                if v > 0:
                    painter.drawEllipse(QPointF(rect.left() + x * sx, rect.top() + y * sy), line * 1.5, line * 1.5)
        if det.text:
            size = (metrics.horizontalAdvance(det.text) + 8, metrics.height() + 2)
            spot = labels.place((box.left() - line / 2, box.top(), box.width(), box.height()), size)
            label = QRectF(*spot)
            painter.fillRect(label, color)
            painter.setPen(_text_color(det.color))
            painter.drawText(label, Qt.AlignCenter, det.text)
    if frame.caption:
        font2 = QFont(label_font)
        font2.setPointSizeF(label_font.pointSizeF() * 1.2)
        painter.setFont(font2)
        m2 = QFontMetricsF(font2)
        tw, th = m2.horizontalAdvance(frame.caption) + 16, m2.height() + 8
        box = QRectF(rect.left() + 8, rect.bottom() - th - 8, min(tw, rect.width() - 16), th)
        painter.fillRect(box, QColor(0, 0, 0, 180))
        painter.setPen(QColor(255, 255, 255))
        painter.drawText(box, Qt.AlignCenter, m2.elidedText(frame.caption, Qt.ElideRight, box.width() - 8))
    return len(frame.detections)
