"""The lecture's drawing of a network: a row of 3-D volumes, H×W×C, with each layer's kernel drawn on the
volume before it and projecting to a point of the next (Krizhevsky et al.'s AlexNet figure, the VGG figure).

Fed with plain data (``app/core/figure_data.py``'s ``FigureData``: volumes with their shapes and log-scale sizes);
drawn with a QPainter, so that the same code paints the tab, a PNG and an SVG (QSvgGenerator). No torch.
Sizes are in units of the text size, so the drawing follows the classroom text scale; a long network wraps
onto as many rows as make it largest.
"""

from __future__ import annotations

import math
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
ARC_ROOM = 1.8  # above a row whose volumes have residual arcs over them


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
        self.shape_font, self.small_font, self.title_font = _font(px, True), _font(0.93 * px), _font(1.2 * px, True)
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
        self.legend = legend_items(data)
        self.title_height = (3.9 if wraps else 2.4) * px + (1.7 * px if self.legend else 0)
        self.label_height = shape_m.height() + (2 * small_m.height() if details else 0) + 0.4 * px
        count = max(row_of, default=0) + 1
        heights = [max((d[1] + d[3] for d, r in zip(dims, row_of) if r == k), default=0) for k in range(count)]
        arcs = ARC_ROOM * px if any(s.dst == s.src + 1 for s in data.skips) else 0.0
        tops = [max((d[3] for d, r in zip(dims, row_of) if r == k), default=0) + arcs for k in range(count)]
        heights = [h + arcs for h in heights]
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
        what = {"stages": "block outputs", "u": "stage outputs"}.get(data.kind, "layer outputs")
        return f"{data.model}: {what} as H×W×C volumes (log scale)"

    @staticmethod
    def labels(volume) -> tuple[str, str, str]:
        shape = fmt.shape(volume.lecture_shape)
        title = "" if volume.kind == "input" else volume.title
        return shape, volume.name, title


def legend_items(data) -> list[tuple[str, str]]:
    """What the figure's marks mean, from its data: (mark, text) with mark "down", "up", "skip", "arc", "fork"."""
    items: list[tuple[str, str]] = []
    volumes = data.volumes
    for before, volume in zip(volumes, volumes[1:]):
        if volume.via and volume.level != before.level:
            item = ("down" if volume.level > before.level else "up", volume.via)
            if item not in items:
                items.append(item)
    for skip in data.skips:
        item = ("arc", "residual connection (input added, +)") if skip.dst == skip.src + 1 else ("skip", skip.label)
        if item not in items:
            items.append(item)
    if any(v.parts for v in volumes):
        items.append(("fork", "parallel branches, concatenated along C"))
    return items


def best_layout(data, px: float, size: QSizeF):
    """The layout (1 to MAX_ROWS rows) that can be drawn largest in ``size``, and its scale; with the shapes
    alone when the names and operations would make the text too small to read (a narrow tab). A U figure
    has its own layout (``u_layout.py``)."""
    if data.kind == "u":
        from cnn_explorer.widgets.figure.u_layout import best_u_layout

        return best_u_layout(data, px, size)
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
    if data.kind == "u":
        from cnn_explorer.widgets.figure.u_layout import draw_u

        draw_u(painter, layout, colors)
    else:
        _draw(painter, layout, colors)
    painter.restore()
    return layout, scale


def mark_color(mark: str, colors) -> QColor:
    """The colour of a legend's mark: pooling's for the way down, upsampling's for the way up."""
    if mark == "down":
        return QColor(colors.borders["pool"])
    if mark == "up":
        return QColor(colors.borders["linear"])  # not the pooling's green: the two ways must be told apart
    if mark in ("skip", "arc"):
        return QColor(colors.accent)
    return QColor(colors.edge)


def draw_heading(painter: QPainter, layout, colors) -> None:
    """The heading and, under it, the legend of the marks the figure uses."""
    px = layout.px
    painter.setPen(QColor(colors.text))
    painter.setFont(layout.title_font)
    heading_height = layout.title_height - (1.7 * px if layout.legend else 0)
    painter.drawText(QRectF(0.5 * px, 1.0 * px, layout.width - px, heading_height),
                     Qt.AlignHCenter | Qt.AlignTop | Qt.TextWordWrap, layout.heading())
    if not layout.legend:
        return
    metrics = QFontMetricsF(layout.small_font)
    sample, spacing = 1.8 * px, 1.2 * px
    widths = [sample + 0.4 * px + metrics.horizontalAdvance(text) for _, text in layout.legend]
    x = max(0.5 * px, (layout.width - sum(widths) - spacing * (len(widths) - 1)) / 2)
    y = heading_height + 0.2 * px
    painter.setFont(layout.small_font)
    for (mark, text), width in zip(layout.legend, widths):
        color, mid = mark_color(mark, colors), y + metrics.height() / 2
        if mark == "arc":
            path = QPainterPath(QPointF(x, mid + 0.35 * px))
            path.quadTo(QPointF(x + sample / 2, mid - 0.9 * px), QPointF(x + sample, mid + 0.35 * px))
            painter.setPen(QPen(color, 1.6))
            painter.setBrush(Qt.NoBrush)
            painter.drawPath(path)
        elif mark == "fork":
            _fork(painter, QPointF(x, mid), x + sample, mid - 0.4 * px, mid + 0.4 * px, 3, color, px)
        else:
            _arrow(painter, QPointF(x, mid + (-0.4 if mark == "up" else 0.4 if mark == "down" else 0) * px),
                   QPointF(x + sample, mid - (-0.4 if mark == "up" else 0.4 if mark == "down" else 0) * px),
                   color, px, dashed=mark == "skip")
        painter.setPen(QColor(colors.muted))
        painter.drawText(QRectF(x + sample + 0.4 * px, y, width, metrics.height()), Qt.AlignLeft | Qt.AlignTop,
                         text)
        x += width + spacing


def draw_box(painter: QPainter, placed: Placed, volume, colors) -> None:
    kind = BLOCK_KIND if volume.kind == "block" else volume.kind
    _box(painter, placed, QColor(colors.fills.get(kind, colors.fills["other"])),
         QColor(colors.borders.get(kind, colors.borders["other"])), volume.parts)


def _draw(painter: QPainter, layout: FigureLayout, colors) -> None:
    px = layout.px
    text, muted = QColor(colors.text), QColor(colors.muted)
    draw_heading(painter, layout, colors)
    volumes = layout.data.volumes
    for placed in layout.placed:
        draw_box(painter, placed, volumes[placed.index], colors)
    edge = QColor(colors.edge)
    for before, placed in zip(layout.placed, layout.placed[1:]):
        volume = volumes[placed.index]
        if volume.parts:  # the branches: the arrow forks into one per branch
            start = QPointF(before.x + before.thickness + before.ox * 0.5 + 0.2 * px, placed.y + placed.height / 2)
            if before.row != placed.row:
                start = QPointF(placed.x - 1.6 * px, start.y())
            _fork(painter, start, placed.x - 0.15 * px, placed.y + 0.18 * placed.height,
                  placed.y + 0.82 * placed.height, len(volume.parts), edge, px)
            continue
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
    for skip in layout.data.skips:
        if skip.dst == skip.src + 1:
            _residual_arc(painter, layout.placed[skip.src], layout.placed[skip.dst], QColor(colors.accent), px)
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


def _box(painter: QPainter, p: Placed, fill: QColor, border: QColor, parts: tuple[int, ...] = ()) -> None:
    """A volume; with ``parts``, split along its thickness (C) into the concatenated branches' channels."""
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
    total, done = sum(parts), 0
    for part in parts[:-1]:
        done += part
        cut = x + t * done / total
        painter.drawLine(QPointF(cut, y + h), QPointF(cut, y))
        painter.drawLine(QPointF(cut, y), QPointF(cut + ox, y - oy))


def _fork(painter: QPainter, start: QPointF, end_x: float, top: float, bottom: float, count: int, color: QColor,
          px: float) -> None:
    """One arrow that forks into ``count`` parallel ones (an Inception module's branches)."""
    split = end_x - 0.9 * px
    if split - start.x() > 0.2 * px:
        painter.setPen(QPen(color, 1.3))
        painter.drawLine(start, QPointF(split, start.y()))
    painter.setPen(QPen(color, 1.3))
    painter.drawLine(QPointF(split, top), QPointF(split, bottom))
    for i in range(count):
        y = top + (bottom - top) * i / max(count - 1, 1)
        _arrow(painter, QPointF(split, y), QPointF(end_x, y), color, px, head=0.32)


def _residual_arc(painter: QPainter, before: Placed, after: Placed, color: QColor, px: float) -> None:
    """The residual connection: an arc from the volume before over the block to its output, where it is added."""
    end = QPointF(after.x + 0.5 * after.thickness + 0.5 * after.ox, after.y - after.oy - 0.1 * px)
    if before.row == after.row:
        start = QPointF(before.x + 0.5 * before.thickness + 0.5 * before.ox, before.y - before.oy - 0.1 * px)
    else:
        start = QPointF(after.x - 1.6 * px, end.y())
    top = min(start.y(), end.y()) - 1.4 * px
    path = QPainterPath(start)
    path.cubicTo(QPointF(start.x(), top), QPointF(end.x(), top), end)
    painter.setPen(QPen(color, 1.6))
    painter.setBrush(Qt.NoBrush)
    painter.drawPath(path)
    head = QPainterPath(end)
    head.lineTo(end.x() - 0.26 * px, end.y() - 0.45 * px)
    head.lineTo(end.x() + 0.26 * px, end.y() - 0.45 * px)
    head.closeSubpath()
    painter.setPen(Qt.NoPen)
    painter.setBrush(color)
    painter.drawPath(head)


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


def _arrow(painter: QPainter, start: QPointF, end: QPointF, color: QColor, px: float, head: float = 0.5,
           dashed: bool = False, width: float = 1.3) -> None:
    """A straight arrow, its head ``head`` text sizes long, pointing along it."""
    dx, dy = end.x() - start.x(), end.y() - start.y()
    length = math.hypot(dx, dy)
    if dx < 0.4 * px or length < 1e-6:
        return
    painter.setPen(QPen(color, width, Qt.DashLine if dashed else Qt.SolidLine))
    painter.drawLine(start, end)
    ux, uy = dx / length, dy / length
    back = QPointF(end.x() - head * px * ux, end.y() - head * px * uy)
    side = 0.56 * head * px
    path = QPainterPath(end)
    path.lineTo(back.x() - side * uy, back.y() + side * ux)
    path.lineTo(back.x() + side * uy, back.y() - side * ux)
    path.closeSubpath()
    head = path
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
