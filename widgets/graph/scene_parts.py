"""The parts that the graph scene draws with, in Qt: the sizes (scene pixels at font scale 1), the item roles
and layers, the legend's words, fonts, the path helpers (rounded boxes, curves, routes, arrowheads), a node's
measured text (``NodeText``) and ``TextLines``, the one item that draws many short lines of text.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QPointF, QRectF
from PySide6.QtGui import QFont, QFontMetricsF, QPainter, QPainterPath, QPolygonF
from PySide6.QtWidgets import QGraphicsItem, QGraphicsPathItem, QGraphicsScene

from cnn_explorer.widgets.graph.layout import BLOCK_KIND

KIND_LABELS = {"input": "input", "conv": "convolution", "pool": "pooling", "norm": "normalization",
               "activation": "activation", "linear": "fully connected", "merge": "add / concat",
               "reshape": "reshape", "upsample": "upsampling", "dropout": "dropout", "attention": "attention",
               "other": "other", BLOCK_KIND: "folded block"}

# Sizes in scene pixels at font scale 1 (15 px is 11 pt at 96 dpi).
TITLE_PX, DETAIL_PX, LABEL_PX, HEADING_PX = 15, 13, 12, 22
PAD_X, PAD_Y, LINE_GAP = 14.0, 8.0, 2.0
MIN_NODE_WIDTH, MAX_NODE_WIDTH = 128.0, 300.0
CORNER = 8.0
ARROW_LENGTH, ARROW_HALF_WIDTH = 9.0, 4.5

KEY_ROLE = 0  # item.data(KEY_ROLE): the key of the visible node an item draws
FRAME_ROLE = 1  # item.data(FRAME_ROLE): the path of the block a frame surrounds

# The items are kept in these groups (with their z values), to show or hide a kind of items at once.
LAYERS = (("frames", -3), ("edges", -1), ("shadows", 0), ("nodes", 1), ("labels", 1.5), ("titles", 2),
          ("details", 2), ("frame_labels", 2.5), ("summaries", 4))
# Text smaller than this on the screen is hidden (pixels); zoomed out so far, blocks show summary labels of
# SUMMARY_PX (on the screen, whatever the zoom) instead.
MIN_TEXT_PX = 6.0
SUMMARY_PX = 15


def frame_padding(depth: int) -> float:
    """Space between a block's frame and its nodes, for a frame holding ``depth`` levels of frames."""
    return 10.0 + 14.0 * max(depth, 0)


def scene_font(pixels: float, bold: bool = False) -> QFont:
    font = QFont()
    font.setPixelSize(max(1, round(pixels)))
    font.setBold(bold)
    return font


def layer_item(scene: QGraphicsScene, z: float) -> QGraphicsPathItem:
    """An empty item that holds a kind of items, so that they can be shown or hidden together."""
    item = QGraphicsPathItem()
    item.setFlag(QGraphicsItem.GraphicsItemFlag.ItemHasNoContents)
    item.setZValue(z)
    scene.addItem(item)
    return item


def rounded_path(rect: QRectF, radius: float = CORNER) -> QPainterPath:
    path = QPainterPath()
    path.addRoundedRect(rect, radius, radius)
    return path


def _curve(path: QPainterPath, points: list[tuple[float, float]]) -> None:
    """A smooth top-to-bottom curve through ``points`` with vertical tangents at each of them."""
    x0, y0 = points[0]
    path.moveTo(x0, y0)
    for x1, y1 in points[1:]:
        half = (y1 - y0) / 2
        path.cubicTo(x0, y0 + half, x1, y1 - half, x1, y1)
        x0, y0 = x1, y1


def _curve_across(path: QPainterPath, points: list[tuple[float, float]]) -> None:
    """A smooth left-to-right curve through ``points`` with horizontal tangents at each of them."""
    x0, y0 = points[0]
    path.moveTo(x0, y0)
    for x1, y1 in points[1:]:
        half = (x1 - x0) / 2
        path.cubicTo(x0 + half, y0, x1 - half, y1, x1, y1)
        x0, y0 = x1, y1


def _polyline(path: QPainterPath, points: list[tuple[float, float]], radius: float) -> None:
    """Straight runs through ``points`` with rounded corners."""
    path.moveTo(*points[0])
    for k in range(1, len(points) - 1):
        (ax, ay), (bx, by), (cx, cy) = points[k - 1], points[k], points[k + 1]
        r = min(radius, abs(bx - ax) / 2 + abs(by - ay) / 2, abs(cx - bx) / 2 + abs(cy - by) / 2)
        ux, uy = _unit(bx - ax, by - ay)
        vx, vy = _unit(cx - bx, cy - by)
        path.lineTo(bx - ux * r, by - uy * r)
        path.quadTo(bx, by, bx + vx * r, by + vy * r)
    path.lineTo(*points[-1])


def _unit(dx: float, dy: float) -> tuple[float, float]:
    length = (dx * dx + dy * dy) ** 0.5
    return (dx / length, dy / length) if length else (0.0, 0.0)


def route_path(path: QPainterPath, route, arrow_length: float, radius: float) -> tuple[float, float]:
    """A left-to-right route, stopping where its arrowhead begins; returns the arrow's direction."""
    points = list(route.points)
    tip, before = points[-1], points[-2]
    dx, dy = _unit(tip[0] - before[0], tip[1] - before[1])
    if not route.orthogonal and abs(tip[1] - before[1]) > 0.5:
        dx, dy = 1.0, 0.0  # a curve ends horizontally
    points[-1] = (tip[0] - dx * arrow_length, tip[1] - dy * arrow_length)
    if route.orthogonal:
        _polyline(path, points, radius)
    else:
        _curve_across(path, points)
    return dx, dy


def edge_curve(path: QPainterPath, points: list[tuple[float, float]], arrow_length: float) -> None:
    """A Sugiyama-routed edge, stopping where its arrowhead begins."""
    tip, before = points[-1], points[-2]
    end = (tip[0], tip[1] - arrow_length if tip[1] >= before[1] else tip[1] + arrow_length)
    _curve(path, points[:-1] + [end])


def bus_route(path: QPainterPath, points: list[tuple[float, float]], radius: float, arrow_length: float) -> None:
    """A concentrated edge in full: out of the source's side, along the bus, into the target's side."""
    (sx, sy), (bx, _), (_, dy), (dx, _) = points
    down = 1.0 if dy >= sy else -1.0
    path.moveTo(sx, sy)
    path.lineTo(bx - radius, sy)
    path.quadTo(bx, sy, bx, sy + down * radius)
    path.lineTo(bx, dy - down * radius)
    path.quadTo(bx, dy, bx - radius, dy)
    path.lineTo(dx + arrow_length, dy)


def arrow_head(path: QPainterPath, tip: tuple[float, float], dx: float, dy: float, scale: float) -> None:
    """A filled arrowhead with its tip at ``tip`` pointing along (dx, dy) (a unit axis direction)."""
    x, y = tip
    length, half = ARROW_LENGTH * scale, ARROW_HALF_WIDTH * scale
    bx, by = x - dx * length, y - dy * length
    path.addPolygon(QPolygonF([QPointF(x, y), QPointF(bx - dy * half, by + dx * half),
                               QPointF(bx + dy * half, by - dx * half), QPointF(x, y)]))


@dataclass
class NodeText:
    """The lines of a node's box and the box's size."""

    title: str
    subtitle: str
    shape: str
    params: str
    width: float
    height: float


class TextLines(QGraphicsItem):
    """Many short lines of text in one font, drawn by one item: the detail lines of the nodes (block path, output
    shape, parameters), ~3,200 in DenseNet-201 unfolded, and the shapes beside the edges. As an item each, they
    took a third of the rebuild that a change of font scale makes (~30 ms on the 2-core machine); here they are
    a list, and a repaint draws only those in the area exposed. Their colours are the scene's "text" and
    "muted" at the time of painting."""

    def __init__(self, parent: QGraphicsItem, font: QFont, colour_of):
        super().__init__(parent)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption)  # exposedRect is the area to draw
        self._font, self._metrics, self._colour_of = font, QFontMetricsF(font), colour_of
        self._lines: list[tuple[QRectF, str, str]] = []  # where, what, role
        self._bounds = QRectF()

    def add(self, text: str, role: str, centre_x: float, top: float) -> float:
        """A line centred on ``centre_x`` from ``top``; returns its height."""
        width, height = self._metrics.horizontalAdvance(text), self._metrics.height()
        rect = QRectF(centre_x - width / 2, top, width, height)
        self._lines.append((rect, text, role))
        self._bounds = self._bounds.united(rect)
        return height

    def lines(self) -> list[str]:
        return [text for _, text, _ in self._lines]

    def boundingRect(self) -> QRectF:  # noqa: N802 (Qt's name)
        return self._bounds

    def paint(self, painter: QPainter, option, widget=None) -> None:
        exposed, ascent = option.exposedRect, self._metrics.ascent()
        painter.setFont(self._font)
        colours = {role: self._colour_of(role) for role in ("text", "muted")}
        for rect, text, role in self._lines:
            if rect.intersects(exposed):
                painter.setPen(colours[role])
                painter.drawText(QPointF(rect.left(), rect.top() + ascent), text)
