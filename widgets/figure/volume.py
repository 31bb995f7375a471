"""The lecture's drawing of a network: a row of 3-D volumes, H×W×C, with each layer's kernel drawn on the
volume before it and projecting to a point of the next (Krizhevsky et al.'s AlexNet figure, the VGG figure).

Fed with plain data (``app/core/figure_data.py``'s ``FigureData``: volumes with their shapes and log-scale sizes);
drawn with a QPainter, so that the same code paints the tab, a PNG and an SVG (QSvgGenerator). No torch.
Sizes are in units of the text size, so the drawing follows the classroom text scale; a long network wraps
onto as many rows as make it largest.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QPointF, QRectF, QSize, QSizeF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QImage, QPainter, QPainterPath, QPen, QPolygonF
from PySide6.QtWidgets import QSizePolicy, QWidget

from cnn_explorer.widgets.common import format as fmt
from cnn_explorer.widgets.common.files import check_writable
from cnn_explorer.widgets.common.picture import write_png, write_svg
from cnn_explorer.widgets.graph.layout import BLOCK_KIND
from cnn_explorer.widgets.common.theme import graph_colors

TEXT_PX = 15.0  # the shape labels at text scale 1 (the graph's node titles are 15 px too)
MAX_ROWS = 8  # a narrow tab gets more, shorter rows rather than smaller text
MAX_SCALE = 4.0
SMALLEST_SCALE = 0.8  # below this the names and operations are left out (a 12 px label would be under 10 px)
# Drawn sizes, in units of the text size: the tallest face, the deepest oblique side, the thickest volume.
FACE, DEPTH, THICK, BAR = 8.0, 4.5, 3.2, 0.8
OBLIQUE_X, OBLIQUE_Y = 0.62, 0.42  # the receding axis (W), per unit of depth
GAP = 2.2  # between two cells, for the kernel's projection lines


@dataclass
class Placed:
    """One volume placed on the page (figure pixels, before scaling to the target)."""

    index: int
    row: int
    x: float  # left of the front face
    y: float  # top of the front face
    thickness: float
    height: float
    ox: float  # the oblique offset of the back faces
    oy: float
    label_x: float  # centre of the labels
    label_y: float  # top of the labels

    def right_face(self, u: float, v: float) -> QPointF:
        """The point of the right face (the H×W face) at ``u`` of the depth and ``v`` of the height."""
        return QPointF(self.x + self.thickness + u * self.ox, self.y + v * self.height - u * self.oy)


def _font(px: float, bold: bool = False) -> QFont:
    font = QFont()
    font.setPixelSize(max(1, round(px)))
    font.setBold(bold)
    return font


class FigureLayout:
    """Where everything goes for ``data`` at text size ``px`` in ``rows`` rows (figure pixels); without
    ``details`` only the shapes are written (the layer names and operations are left out)."""

    def __init__(self, data, px: float, rows: int, details: bool = True):
        self.data, self.px, self.rows, self.details = data, px, rows, details
        self.shape_font, self.small_font, self.title_font = _font(px, True), _font(0.82 * px), _font(1.2 * px, True)
        shape_m, small_m = QFontMetricsF(self.shape_font), QFontMetricsF(self.small_font)
        title_m = QFontMetricsF(self.title_font)
        self.texts = [self.labels(v) if details else (self.labels(v)[0], "", "") for v in data.volumes]
        dims, cells = [], []
        for volume, (shape, name, title) in zip(data.volumes, self.texts):
            if volume.is_bar:
                t, d = BAR * px, BAR * px
            else:
                t, d = volume.thickness * THICK * px, volume.depth * DEPTH * px
            h = volume.height * FACE * px
            ox, oy = d * OBLIQUE_X, d * OBLIQUE_Y
            dims.append((t, h, ox, oy))
            label = max(shape_m.horizontalAdvance(shape), small_m.horizontalAdvance(name),
                        small_m.horizontalAdvance(title))
            cells.append(max(t + ox, label))
        gap = GAP * px
        # Rows of about equal width, in order.
        total = sum(cells) + gap * (len(cells) - 1)
        row_of, row, width = [], 0, 0.0
        for i, cell in enumerate(cells):
            if width > 0 and width + cell / 2 > total * (row + 1) / rows and row < rows - 1:
                row += 1
            row_of.append(row)
            width += cell + gap
        content = max(sum(c for c, r in zip(cells, row_of) if r == k) + gap * (sum(1 for r in row_of if r == k) - 1)
                      for k in range(max(row_of, default=0) + 1))
        # The heading wraps onto a second line rather than widen the figure.
        wraps = title_m.horizontalAdvance(self.heading()) > content
        self.title_height = (3.9 if wraps else 2.4) * px
        self.label_height = shape_m.height() + (2 * small_m.height() if details else 0) + 0.4 * px
        count = max(row_of, default=0) + 1
        heights = [max((d[1] + d[3] for d, r in zip(dims, row_of) if r == k), default=0) for k in range(count)]
        tops = [max((d[3] for d, r in zip(dims, row_of) if r == k), default=0) for k in range(count)]
        faces = [max((d[1] for d, r in zip(dims, row_of) if r == k), default=0) for k in range(count)]
        margin = 1.2 * px
        self.placed: list[Placed] = []
        y = margin + self.title_height
        row_y = []
        for k in range(count):
            row_y.append(y)
            y += heights[k] + 0.6 * px + self.label_height + 1.4 * px
        self.height = y - 1.4 * px + margin
        x_of_row = [margin] * count
        for i, ((t, h, ox, oy), cell, k) in enumerate(zip(dims, cells, row_of)):
            left = x_of_row[k]
            centre_y = row_y[k] + tops[k] + faces[k] / 2
            x = left + (cell - (t + ox)) / 2
            self.placed.append(Placed(i, k, x, centre_y - h / 2, t, h, ox, oy, left + cell / 2,
                                      row_y[k] + heights[k] + 0.6 * px))
            x_of_row[k] = left + cell + gap
        self.width = max(max(x_of_row, default=margin) - gap + margin, 14 * px)

    def heading(self) -> str:
        data = self.data
        if not data.ok:
            return data.model
        what = "block outputs" if data.kind == "stages" else "layer outputs"
        return f"{data.model}: {what} as H×W×C volumes (log scale)"

    @staticmethod
    def labels(volume) -> tuple[str, str, str]:
        shape = fmt.shape(volume.lecture_shape)
        title = "" if volume.kind == "input" else volume.title
        return shape, volume.name, title


def best_layout(data, px: float, size: QSizeF) -> tuple[FigureLayout, float]:
    """The layout (1 to MAX_ROWS rows) that can be drawn largest in ``size``, and its scale; with the shapes
    alone when the names and operations would make the text too small to read (a narrow tab)."""
    best, best_scale = None, -1.0
    for details in (True, False):
        if best is not None and best_scale >= SMALLEST_SCALE:
            break
        for rows in range(1, min(MAX_ROWS, max(len(data.volumes), 1)) + 1):
            layout = FigureLayout(data, px, rows, details)
            scale = min(size.width() / layout.width, size.height() / layout.height, MAX_SCALE)
            if best is None or scale > best_scale * 1.08:  # another row only for a clearly larger figure
                best, best_scale = layout, scale
    return best, best_scale


def paint_figure(painter: QPainter, data, size: QSizeF, theme: str = "light", font_scale: float = 1.0):
    """Draw ``data`` fitted into ``size`` (centred); returns the layout and its scale."""
    colors = graph_colors(theme)
    painter.fillRect(QRectF(QPointF(0, 0), size), QColor(colors.background))
    painter.setRenderHint(QPainter.Antialiasing, True)
    painter.setRenderHint(QPainter.TextAntialiasing, True)
    px = TEXT_PX * font_scale
    if data is None or not data.ok:
        painter.setPen(QColor(colors.text))
        painter.setFont(_font(1.2 * px))
        message = "No model yet." if data is None else data.message
        painter.drawText(QRectF(QPointF(0, 0), size).adjusted(px, px, -px, -px),
                         Qt.AlignCenter | Qt.TextWordWrap, message)
        return None, 1.0
    layout, scale = best_layout(data, px, size)
    painter.save()
    painter.translate((size.width() - layout.width * scale) / 2, (size.height() - layout.height * scale) / 2)
    painter.scale(scale, scale)
    _draw(painter, layout, colors)
    painter.restore()
    return layout, scale


def _draw(painter: QPainter, layout: FigureLayout, colors) -> None:
    px = layout.px
    text, muted = QColor(colors.text), QColor(colors.muted)
    painter.setPen(text)
    painter.setFont(layout.title_font)
    painter.drawText(QRectF(0.5 * px, 1.0 * px, layout.width - px, layout.title_height),
                     Qt.AlignHCenter | Qt.AlignTop | Qt.TextWordWrap, layout.heading())
    volumes = layout.data.volumes
    for placed in layout.placed:
        volume = volumes[placed.index]
        kind = BLOCK_KIND if volume.kind == "block" else volume.kind
        _box(painter, placed, QColor(colors.fills.get(kind, colors.fills["other"])),
             QColor(colors.borders.get(kind, colors.borders["other"])))
    edge = QColor(colors.edge)
    for before, placed in zip(layout.placed, layout.placed[1:]):
        volume = volumes[placed.index]
        if before.row != placed.row:
            _arrow(painter, QPointF(placed.x - 1.1 * px, placed.y + placed.height / 2),
                   QPointF(placed.x - 0.2 * px, placed.y + placed.height / 2), edge, px)  # from the row above
            if volume.kernel_frac is not None:
                _kernel(painter, before, None, volume, colors, px)
            continue
        if volume.kernel_frac is not None:
            _kernel(painter, before, placed, volume, colors, px)
        else:
            y = placed.y + placed.height / 2
            _arrow(painter, QPointF(before.x + before.thickness + before.ox * 0.5 + 0.2 * px, y),
                   QPointF(placed.x - 0.2 * px, y), edge, px)
    for placed, (shape, name, title) in zip(layout.placed, layout.texts):
        y = placed.label_y
        for line, font, color in ((shape, layout.shape_font, text), (name, layout.small_font, muted),
                                  (title, layout.small_font, muted)):
            if not line:
                continue
            painter.setFont(font)
            painter.setPen(color)
            height = QFontMetricsF(font).height()
            painter.drawText(QRectF(placed.label_x - 50 * px, y, 100 * px, height), Qt.AlignHCenter | Qt.AlignTop,
                             line)
            y += height


def _box(painter: QPainter, p: Placed, fill: QColor, border: QColor) -> None:
    x, y, t, h, ox, oy = p.x, p.y, p.thickness, p.height, p.ox, p.oy
    pen = QPen(border, 1.2)
    pen.setJoinStyle(Qt.RoundJoin)
    painter.setPen(pen)
    top = QPolygonF([QPointF(x, y), QPointF(x + ox, y - oy), QPointF(x + t + ox, y - oy), QPointF(x + t, y)])
    side = QPolygonF([QPointF(x + t, y), QPointF(x + t + ox, y - oy), QPointF(x + t + ox, y + h - oy),
                      QPointF(x + t, y + h)])
    painter.setBrush(fill.lighter(108))
    painter.drawPolygon(top)
    painter.setBrush(fill.darker(112))
    painter.drawPolygon(side)
    painter.setBrush(fill)
    painter.drawRect(QRectF(x, y, t, h))


def _kernel(painter: QPainter, before: Placed, after: Placed | None, volume, colors, px: float) -> None:
    """The window (kernel) on the H×W face of the volume before, and its projection to a point of the next."""
    kh, kw = volume.kernel_frac
    min_v = 0.7 * px / max(before.height, 1e-6)
    min_u = 0.7 * px / max(before.ox / OBLIQUE_X, 1e-6) if before.ox > 0 else 1.0
    dv, du = max(kh, min(min_v, 0.5)), max(kw, min(min_u, 0.5))
    v0, u0 = 0.32 - dv / 2 if dv < 0.6 else (1 - dv) / 2, 0.5 - du / 2
    v0 = max(0.04, min(v0, 1 - dv))
    corners = [before.right_face(u0, v0), before.right_face(u0 + du, v0), before.right_face(u0 + du, v0 + dv),
               before.right_face(u0, v0 + dv)]
    accent = QColor(colors.accent)
    if after is not None:
        point = QPointF(after.x + 0.35 * after.thickness, after.y + 0.3 * after.height)
        painter.setPen(QPen(accent, 1.0, Qt.DashLine))
        for corner in corners:
            painter.drawLine(corner, point)
        painter.setPen(Qt.NoPen)
        painter.setBrush(accent)
        painter.drawEllipse(point, 0.18 * px, 0.18 * px)
    fill = QColor(accent)
    fill.setAlpha(110)
    painter.setPen(QPen(accent, 1.4))
    painter.setBrush(fill)
    painter.drawPolygon(QPolygonF(corners))


def _arrow(painter: QPainter, start: QPointF, end: QPointF, color: QColor, px: float) -> None:
    if end.x() - start.x() < 0.4 * px:
        return
    painter.setPen(QPen(color, 1.3))
    painter.drawLine(start, end)
    head = QPainterPath(end)
    head.lineTo(end.x() - 0.5 * px, end.y() - 0.28 * px)
    head.lineTo(end.x() - 0.5 * px, end.y() + 0.28 * px)
    head.closeSubpath()
    painter.setPen(Qt.NoPen)
    painter.setBrush(color)
    painter.drawPath(head)


def export_figure(data, path: str | Path, size: tuple[int, int] = (1920, 1080), theme: str = "light",
                  font_scale: float = 1.0) -> Path:
    """Write the figure as .png (``size`` pixels) or .svg (``size`` as its view box)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".png", ".svg"):
        raise ValueError(f"cannot write {path.name}: the figure must be .png or .svg")
    check_writable(path)
    target = QSizeF(*size)
    if suffix == ".svg":
        write_svg(path, QSize(*size), QRectF(0, 0, *size), data.model if data is not None else "figure",
                  "The network as a row of volumes, drawn by CNN Explorer",
                  lambda painter: paint_figure(painter, data, target, theme, font_scale))
    else:
        image = QImage(QSize(*size), QImage.Format.Format_ARGB32_Premultiplied)
        painter = QPainter(image)
        paint_figure(painter, data, target, theme, font_scale)
        painter.end()
        write_png(image, path)
    return path


class VolumeFigure(QWidget):
    """The figure, fitted to the widget; follows the theme and the text scale."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("volume_figure")
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
        self.setMinimumSize(200, 150)
        self._data = None
        self._theme = "light"
        self._font_scale = 1.0
        self.last_layout: FigureLayout | None = None
        self.last_scale = 1.0

    def set_data(self, data) -> None:
        self._data = data
        self.update()

    def figure_data(self):
        return self._data

    def set_theme(self, name: str) -> None:
        self._theme = name
        self.update()

    def theme(self) -> str:
        return self._theme

    def set_font_scale(self, scale: float) -> None:
        self._font_scale = max(0.5, min(4.0, float(scale)))
        self.update()

    def export_image(self, path: str | Path, size: tuple[int, int] | None = None) -> Path:
        return export_figure(self._data, path, size or (1920, 1080), self._theme, self._font_scale)

    def paintEvent(self, event) -> None:  # noqa: N802
        painter = QPainter(self)
        self.last_layout, self.last_scale = paint_figure(painter, self._data, QSizeF(self.size()), self._theme,
                                                         self._font_scale)
        painter.end()
