"""The drawing of a layer graph: ``GraphScene``, a QGraphicsScene that folds, measures, lays out and draws
a GraphData: nodes, edges, edge labels, the frames of unfolded blocks, the heading with its legend, and
the selection highlight.

Plain Qt items (rounded-rect path items, simple text items, one path item per layer of edges), so painting
runs in C++ with no Python per frame. The layout is in ``graph_layout.py``, the colours in ``theme.py``,
every number as text from ``format.py``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from PySide6.QtCore import QObject, QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetricsF, QPainter, QPainterPath, QPen, QPolygonF
from PySide6.QtWidgets import QGraphicsItem, QGraphicsPathItem, QGraphicsScene, QGraphicsSimpleTextItem

from cnn_explorer.widgets.common import format
from cnn_explorer.widgets.graph.fold_state import FoldState
from cnn_explorer.widgets.graph.data import KINDS, GraphData
from cnn_explorer.widgets.graph.layout import BLOCK_KIND, FoldedGraph, GraphLayout, VisibleNode, fold_graph, layout_graph
from cnn_explorer.widgets.common.theme import GraphColors, graph_colors

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


def _font(pixels: float, bold: bool = False) -> QFont:
    font = QFont()
    font.setPixelSize(max(1, round(pixels)))
    font.setBold(bold)
    return font


def _layer_item(scene: QGraphicsScene, z: float) -> QGraphicsPathItem:
    """An empty item that holds a kind of items, so that they can be shown or hidden together."""
    item = QGraphicsPathItem()
    item.setFlag(QGraphicsItem.GraphicsItemFlag.ItemHasNoContents)
    item.setZValue(z)
    scene.addItem(item)
    return item


def _rounded(rect: QRectF, radius: float = CORNER) -> QPainterPath:
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


def _route_path(path: QPainterPath, route, arrow_length: float, radius: float) -> tuple[float, float]:
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


def _edge_curve(path: QPainterPath, points: list[tuple[float, float]], arrow_length: float) -> None:
    """A Sugiyama-routed edge, stopping where its arrowhead begins."""
    tip, before = points[-1], points[-2]
    end = (tip[0], tip[1] - arrow_length if tip[1] >= before[1] else tip[1] + arrow_length)
    _curve(path, points[:-1] + [end])


def _bus_route(path: QPainterPath, points: list[tuple[float, float]], radius: float, arrow_length: float) -> None:
    """A concentrated edge in full: out of the source's side, along the bus, into the target's side."""
    (sx, sy), (bx, _), (_, dy), (dx, _) = points
    down = 1.0 if dy >= sy else -1.0
    path.moveTo(sx, sy)
    path.lineTo(bx - radius, sy)
    path.quadTo(bx, sy, bx, sy + down * radius)
    path.lineTo(bx, dy - down * radius)
    path.quadTo(bx, dy, bx - radius, dy)
    path.lineTo(dx + arrow_length, dy)


def _arrow(path: QPainterPath, tip: tuple[float, float], dx: float, dy: float, scale: float) -> None:
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


class _TextLines(QGraphicsItem):
    """Many short lines of text in one font, drawn by one item: the detail lines of the nodes (block path, output
    shape, parameters), ~3,200 in DenseNet-201 unfolded, and the shapes beside the edges. As an item each, they took a third of the rebuild that a
    change of font scale makes (~30 ms on the 2-core machine); here they are a list, and a repaint draws only
    those in the area exposed. Their colours are the scene's "text" and "muted" at the time of painting."""

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


class GraphScene(QGraphicsScene):
    """The items that draw one folding of a GraphData in one look (colours and font scale).

    ``build(data, fold)`` replaces everything; afterwards ``graph`` (the folded graph), ``layout``,
    ``node_items``/``title_items`` (by visible key) and ``index_of_key`` describe what is drawn."""

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.colors: GraphColors = graph_colors("light")
        self.font_scale = 1.0
        self.graph: FoldedGraph | None = None
        self.layout: GraphLayout | None = None
        self.node_items: dict[str, QGraphicsPathItem] = {}
        self.title_items: dict[str, QGraphicsSimpleTextItem] = {}
        self.index_of_key: dict[str, int] = {}
        self.timings: dict[str, float] = {}
        self._data: GraphData | None = None
        self._fold: FoldState | None = None
        self._layers: dict[str, QGraphicsPathItem] = {}
        self._selection_items: list[QGraphicsItem] = []
        self._layout_key: tuple | None = None
        self._folding: tuple | None = None  # what self.graph was folded from
        self._texts: list[NodeText] = []
        self._painted: list[tuple[QGraphicsItem, str]] = []  # every coloured item and its role, for restyle()
        self._styles: dict[str, tuple] = {}  # role -> (pen, brush) in the current look
        self._summaries: list[tuple[QGraphicsItem, QRectF, float]] = []  # label, what it sums up, its area
        self._pad_y, self._line_gap = PAD_Y, LINE_GAP  # compact mode: tighter

    # -- reading -----------------------------------------------------------------------------------------
    def node(self, key: str) -> VisibleNode | None:
        index = self.index_of_key.get(key)
        return None if index is None else self.graph.nodes[index]

    def node_rect(self, key: str) -> QRectF | None:
        item = self.node_items.get(key)
        return item.sceneBoundingRect() if item else None

    def first_visible_in(self, path: str) -> str | None:
        """The first visible node (in recording order) inside the block at ``path``."""
        if self.graph is None:
            return None
        return next((n.key for n in self.graph.nodes if not path or path in n.blocks), None)

    def node_at(self, scene_point: QPointF) -> str | None:
        for item in self.items(scene_point):
            key = item.data(KEY_ROLE)
            if key is not None:
                return key
        return None

    def frame_at(self, scene_point: QPointF) -> str | None:
        """The innermost frame (unfolded block) at the point."""
        frames = [item for item in self.items(scene_point) if item.data(FRAME_ROLE) is not None]
        if not frames:
            return None
        smallest = min(frames, key=lambda item: item.boundingRect().width() * item.boundingRect().height())
        return smallest.data(FRAME_ROLE)

    def node_nearest(self, point: QPointF) -> str | None:
        if not self.node_items:
            return None
        return min(self.node_items,
                   key=lambda k: (self.node_items[k].sceneBoundingRect().center() - point).manhattanLength())

    # -- look --------------------------------------------------------------------------------------------
    def set_look(self, colors: GraphColors, font_scale: float) -> None:
        """Colours and font scale for the next ``build``."""
        self.colors, self.font_scale = colors, font_scale
        self._styles = {}

    def set_detail_level(self, pixels_per_px: float) -> None:
        """Hide text too small to read at ``pixels_per_px`` (zoom × font scale): it would only cost time
        to draw."""
        if not self._layers:
            return
        self._layers["labels"].setVisible(pixels_per_px * LABEL_PX >= 7.5)
        self._layers["details"].setVisible(pixels_per_px * DETAIL_PX >= MIN_TEXT_PX)
        titles = pixels_per_px * TITLE_PX >= MIN_TEXT_PX
        self._layers["titles"].setVisible(titles)
        self._layers["frame_labels"].setVisible(pixels_per_px * LABEL_PX >= MIN_TEXT_PX)
        # Semantic zoom: the layers' text is too small, so the blocks say what they are, in large type; the
        # largest first, none over another.
        self._layers["summaries"].setVisible(not titles)
        if titles or not self._summaries:
            return
        zoom = pixels_per_px / max(self.font_scale, 1e-6)
        shown: list[QRectF] = []
        for item, target, _ in self._summaries:
            size = item.boundingRect().size() / max(zoom, 1e-6)
            rect = QRectF(item.pos(), size)
            fits = not any(rect.intersects(r) for r in shown)
            item.setVisible(fits)
            if fits:
                shown.append(rect)

    def _summary(self, lines: list[str], target: QRectF) -> None:
        """A label of constant size on the screen for the block or folded block drawn in ``target``, shown
        when the layers' text is too small to read (``set_detail_level``)."""
        s = self.font_scale
        font, small = _font(SUMMARY_PX * s, bold=True), _font((SUMMARY_PX - 2) * s)
        plate = QGraphicsPathItem(self._layers["summaries"])
        plate.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
        y, width = 3 * s, 0.0
        for number, line in enumerate(lines):
            text = QGraphicsSimpleTextItem(line, plate)
            text.setFont(font if number == 0 else small)
            self._paint(text, "text" if number == 0 else "muted")
            text.setPos(5 * s, y)
            y += text.boundingRect().height()
            width = max(width, text.boundingRect().width())
        plate.setPath(_rounded(QRectF(0, 0, width + 10 * s, y + 3 * s), 4 * s))
        self._paint(plate, "frame_plate")
        plate.setPos(target.topLeft() + QPointF(4 * s, 4 * s))
        self._summaries.append((plate, target, target.width() * target.height()))

    def _heading_height(self) -> float:
        """About the height of the heading and legend above the graph."""
        s = self.font_scale
        return (HEADING_PX * 1.35 + 20) * s

    @contextmanager
    def exporting(self) -> Iterator[None]:
        """Everything shown but the selection, for the time of an export."""
        shown = {name: layer.isVisible() for name, layer in self._layers.items()}
        for item in self._selection_items:
            item.setVisible(False)
        for layer in self._layers.values():
            layer.setVisible(True)
        if self._layers:
            self._layers["summaries"].setVisible(False)
        try:
            yield
        finally:
            for name, visible in shown.items():
                self._layers[name].setVisible(visible)
            for item in self._selection_items:
                item.setVisible(True)

    def render_into(self, painter: QPainter, target: QRectF, source: QRectF) -> None:
        painter.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.TextAntialiasing)
        painter.fillRect(target, QColor(self.colors.background))
        self.render(painter, target, source, Qt.AspectRatioMode.KeepAspectRatio)

    def can_restyle(self, colors: GraphColors) -> bool:
        """Whether ``colors`` changes only colours: a theme with thicker edges also draws larger arrows."""
        return bool(self._painted) and (colors.edge_width > 2) == (self.colors.edge_width > 2)

    def restyle(self, colors: GraphColors) -> None:
        """Recolour what is drawn (a theme change): the items stay, only their pens and brushes change."""
        self.colors = colors
        self._styles = {}
        for item, role in self._painted:
            self._apply(item, role)

    def _paint(self, item: QGraphicsItem, role: str) -> QGraphicsItem:
        """Colour ``item`` for its ``role`` in the current colours, and remember it for ``restyle``."""
        self._apply(item, role)
        self._painted.append((item, role))
        return item

    def _text_colour(self, role: str) -> QColor:
        return QColor(self.colors.text if role == "text" else self.colors.muted)

    def _apply(self, item: QGraphicsItem, role: str) -> None:
        if role == "lines":  # _TextLines takes its colours when it is painted
            item.update()
            return
        style = self._styles.get(role)
        if style is None:
            style = self._styles[role] = self._style(role)
        pen, brush = style
        if pen is not None:
            item.setPen(pen)
        if brush is not None:
            item.setBrush(brush)

    def _style(self, role: str) -> tuple[QPen | Qt.PenStyle | None, QBrush | None]:
        """The pen and brush of ``role`` in the current colours (None: not set): made once per look."""
        colors, s = self.colors, self.font_scale
        thick = max(1.0, s ** 0.5)
        kind = role.partition(":")[2]
        if role in ("text", "muted"):
            return None, QBrush(QColor(colors.text if role == "text" else colors.muted))
        if role.startswith("node:") or role.startswith("swatch:"):
            width = colors.border_width * (thick if role.startswith("node:") else 1.0)
            return QPen(QColor(colors.borders[kind]), width), QBrush(QColor(colors.fills[kind]))
        if role == "stack":
            return (QPen(QColor(colors.borders[BLOCK_KIND]), colors.border_width * thick),
                    QBrush(QColor(colors.fills[BLOCK_KIND]).darker(108)))
        if role == "shadow":
            return QPen(Qt.PenStyle.NoPen), QBrush(QColor(*colors.shadow))
        if role == "edge":
            pen = QPen(QColor(colors.edge), colors.edge_width * thick)
            pen.setCapStyle(Qt.PenCapStyle.RoundCap)
            return pen, None
        if role == "arrow":
            return QPen(Qt.PenStyle.NoPen), QBrush(QColor(colors.edge))
        if role in ("plate", "frame_plate"):
            color = QColor(colors.background)
            if role == "plate":
                color.setAlpha(200)
            return QPen(Qt.PenStyle.NoPen), QBrush(color)
        if role == "frame":
            return (QPen(QColor(colors.frame_line), 1.0 * thick, Qt.PenStyle.DashLine),
                    QBrush(QColor(*colors.frame_fill)))
        raise ValueError(f"unknown paint role {role!r}")

    # -- building ----------------------------------------------------------------------------------------
    def clear_graph(self) -> None:
        self._data = self._fold = None
        self.graph = self.layout = None
        self._layout_key = self._folding = None
        self._painted = []
        self._selection_items, self._layers, self._summaries = [], {}, []
        self.clear()
        self.setSceneRect(QRectF())
        self.node_items, self.title_items, self.index_of_key = {}, {}, {}

    def build(self, data: GraphData, fold: FoldState, *, direction: str = "tb", compact: bool = False,
              aspect: float | None = None) -> None:
        """Fold ``data`` as ``fold`` says, lay it out and draw it. ``direction``: "tb" (top to bottom) or
        "lr" (left to right, wrapped into rows for a screen of ``aspect`` = width / height); ``compact``:
        a conv and the norm, activation and pool after it drawn as one node."""
        for _ in self.build_steps(data, fold, direction=direction, compact=compact, aspect=aspect):
            pass

    def adopt_folding(self, other: "GraphScene") -> None:
        """Take the folded graph of ``other`` (a scene of the same graph and folding in another look)."""
        self._data, self._fold, self._folding = other._data, other._fold, other._folding
        self.graph, self.index_of_key = other.graph, other.index_of_key

    def build_steps(self, data: GraphData, fold: FoldState, *, direction: str = "tb", compact: bool = False,
                    aspect: float | None = None) -> Iterator[None]:
        """``build`` as a generator that yields between its steps (the layout, the frames, the edges, the
        nodes: 10-20 ms each for DenseNet-201 unfolded), for a scene that is built while another is shown and
        replaces it when the generator ends (``GraphView``: a new text size)."""
        step_start = time.perf_counter()
        s = self.font_scale
        # The same graph, folding, text size and arrangement (a theme change, a selection redrawn): the layout
        # stands.
        layout_key = (id(data), frozenset(fold.folded), s, direction, compact, aspect)
        if layout_key != self._layout_key or self.layout is None:
            self._data, self._fold = data, fold
            self._pad_y, self._line_gap = (PAD_Y * 0.6, 0.0) if compact else (PAD_Y, LINE_GAP)
            folding = (id(data), frozenset(fold.folded), compact)  # not the text size, nor the screen's shape
            if folding != self._folding or self.graph is None:
                self._folding = folding
                self.graph = fold_graph(data, fold.folded, compact=compact)
                self.index_of_key = {node.key: i for i, node in enumerate(self.graph.nodes)}
            self._texts = self._measure(compact)
            foldable = fold.foldable
            # Room between layers for the frames of nested blocks that end above and begin below.
            depth = max((sum(1 for p in n.blocks if p in foldable and p != n.key) for n in self.graph.nodes),
                        default=0)
            vgap = max(56.0, 2 * frame_padding(depth - 1) + 24) * s
            groups = [next((p for p in reversed(n.blocks) if p in foldable and p != n.key), None)
                      for n in self.graph.nodes]
            across = direction == "lr"
            # Left to right, the shapes are in the nodes, not beside the edges: the gaps only hold arrows
            # and the frames of blocks.
            self.layout = layout_graph(self.graph, [(t.width, t.height) for t in self._texts],
                                       hgap=(max(28.0, vgap / s - 30) if across else 56) * s,
                                       vgap=(max(30.0, vgap / s - 26) if across else vgap / s) * s,
                                       port_gap=14 * s, groups=groups, direction=direction,
                                       aspect=aspect, reserve=self._heading_height())
            self._layout_key = layout_key
        laying_out = time.perf_counter() - step_start
        yield
        step_start = time.perf_counter()
        self._selection_items = []
        self._painted = []
        self._summaries = []
        self.clear()
        self._layers = {name: _layer_item(self, z) for name, z in LAYERS}
        self._draw_frames()
        drawing = time.perf_counter() - step_start
        yield
        step_start = time.perf_counter()
        self._draw_edges()
        drawing += time.perf_counter() - step_start
        yield
        step_start = time.perf_counter()
        self._draw_nodes(self._texts)
        self._draw_heading()
        self._summaries.sort(key=lambda entry: -entry[2])
        margin = (12 if self.layout.direction == "lr" else 40) * s  # left to right: made to fill the screen
        drawn = QRectF()  # what is drawn, but the summary labels (their size on the screen is fixed)
        for name, layer in self._layers.items():
            if name != "summaries":
                drawn = drawn.united(layer.childrenBoundingRect())
        self.setSceneRect(drawn.adjusted(-margin, -min(margin, 30 * s), margin, margin))
        self.timings = {"layout": laying_out, "scene": drawing + time.perf_counter() - step_start}

    def _measure(self, compact: bool = False) -> list[NodeText]:
        s = self.font_scale
        title_metrics = QFontMetricsF(_font(TITLE_PX * s, bold=True))
        detail_metrics = QFontMetricsF(_font(DETAIL_PX * s))
        title_h, detail_h = title_metrics.height(), detail_metrics.height()
        texts = []
        cache: dict[str, float] = {}

        def width(text: str, metrics: QFontMetricsF, key: str) -> float:
            found = cache.get(key + text)
            if found is None:
                found = cache[key + text] = metrics.horizontalAdvance(text)
            return found

        max_width = MAX_NODE_WIDTH * s
        pad_x, min_width = (PAD_X * 0.7 * s, MIN_NODE_WIDTH * 0.75 * s) if compact else (PAD_X * s, MIN_NODE_WIDTH * s)
        for node in self.graph.nodes:
            params = format.params(node.params)
            # Compact, a folded block's title says enough (its path is in its tooltip and the inspector).
            subtitle = self._short_path(node.subtitle) if node.subtitle and not compact else ""
            shape = node.shape
            if node.merged:  # compact mode: the layers drawn inside this one
                subtitle = "+ " + " + ".join(node.merged)
            if compact and not node.params:  # one line fewer: no "0 params"
                params = ""
            widths = [width(node.title, title_metrics, "t"), width(shape, detail_metrics, "d"),
                      width(params, detail_metrics, "d")]
            if subtitle:
                if detail_metrics.horizontalAdvance(subtitle) > max_width - 2 * pad_x:
                    subtitle = detail_metrics.elidedText(subtitle, Qt.TextElideMode.ElideLeft,
                                                         max_width - 2 * pad_x)
                widths.append(width(subtitle, detail_metrics, "d"))
            lines = 1 + bool(subtitle) + bool(shape) + bool(params)
            node_width = min(max_width, max(min_width, max(widths) + 2 * pad_x))
            height = 2 * self._pad_y * s + title_h + (lines - 1) * (detail_h + self._line_gap * s)
            texts.append(NodeText(node.title, subtitle, shape, params, node_width, height))
        return texts

    def _short_path(self, path: str) -> str:
        """``path`` relative to the innermost unfolded block around it, which has a frame that names it:
        ``features.denseblock1.denselayer2`` → ``denselayer2`` inside the frame of ``features.denseblock1``."""
        fold = self._fold
        for around in reversed(fold.enclosing(path)[:-1]):
            if fold.is_foldable(around) and not fold.is_folded(around):
                return path.removeprefix(around).lstrip(".")
        return path

    def _draw_nodes(self, texts: list[NodeText]) -> None:
        colors, s, layout = self.colors, self.font_scale, self.layout
        title_font, detail_font = _font(TITLE_PX * s, bold=True), _font(DETAIL_PX * s)
        title_h = QFontMetricsF(title_font).height()
        nodes_layer, titles, details = self._layers["nodes"], self._layers["titles"], self._layers["details"]
        shadows = QPainterPath()
        stacks = QPainterPath()
        offset = 3 * s
        self.node_items, self.title_items = {}, {}
        lines = self._paint(_TextLines(details, detail_font, self._text_colour), "lines")
        for index, node in enumerate(self.graph.nodes):
            text = texts[index]
            left, top, width, height = layout.rect(index)
            rect = QRectF(left, top, width, height)
            shadows.addRoundedRect(rect.translated(0, offset), CORNER * s, CORNER * s)
            kind = node.kind if node.kind in colors.fills else "other"
            if kind == BLOCK_KIND:  # a folded block looks like a small stack of cards
                stacks.addRoundedRect(rect.translated(5 * s, 5 * s), CORNER * s, CORNER * s)
            item = self._paint(QGraphicsPathItem(_rounded(rect, CORNER * s), nodes_layer), f"node:{kind}")
            item.setData(KEY_ROLE, node.key)
            item.setToolTip(self._tooltip(node))
            self.node_items[node.key] = item
            if kind == BLOCK_KIND:
                self._summary([f"{node.title} {self._short_path(node.key)}", node.shape], rect)

            cx, y = left + width / 2, top + self._pad_y * s
            title = QGraphicsSimpleTextItem(text.title, titles)
            title.setFont(title_font)
            self._paint(title, "text")
            title.setPos(cx - title.boundingRect().width() / 2, y)
            self.title_items[node.key] = title
            y += title_h + self._line_gap * s
            for line, role in ((text.subtitle, "muted"), (text.shape, "text"), (text.params, "muted")):
                if line:
                    y += lines.add(line, role, cx, y) + self._line_gap * s
        if not stacks.isEmpty():
            self._paint(QGraphicsPathItem(stacks, self._layers["shadows"]), "stack")
        shadow_item = self._paint(QGraphicsPathItem(shadows, self._layers["shadows"]), "shadow")
        shadow_item.setZValue(-0.1)

    def _tooltip(self, node: VisibleNode) -> str:
        if node.kind == BLOCK_KIND:
            return (f"{node.title} {node.key}\n{format.count(len(node.members))} layers, "
                    f"{format.count(node.params)} parameters\noutput {node.shape}\ndouble-click to unfold")
        text = f"{node.key}\n{node.title}\noutput {node.shape}\n{format.count(node.params)} parameters"
        if self._fold.fold_target(node.key):
            text += "\ndouble-click to fold its block"
        return text

    def _arrow_scale(self) -> float:
        return max(1.0, self.font_scale ** 0.5) * (1.2 if self.colors.edge_width > 2 else 1.0)

    def _draw_edges_across(self) -> None:
        """Left to right: smooth curves within a row, straight runs to the next row."""
        s, layout = self.font_scale, self.layout
        arrow_scale = self._arrow_scale()
        length = ARROW_LENGTH * arrow_scale
        curves, arrows = QPainterPath(), QPainterPath()
        for route in layout.edges:
            dx, dy = _route_path(curves, route, length, 10 * s)
            _arrow(arrows, route.points[-1], dx, dy, arrow_scale)
        self._paint(QGraphicsPathItem(curves, self._layers["edges"]), "edge")
        self._paint(QGraphicsPathItem(arrows, self._layers["edges"]), "arrow")

    def _draw_edges(self) -> None:
        if self.layout.direction == "lr":  # each node shows its output shape: no labels on the edges
            self._draw_edges_across()
            return
        colors, s, layout = self.colors, self.font_scale, self.layout
        edges_layer = self._layers["edges"]
        arrow_scale = self._arrow_scale()
        length = ARROW_LENGTH * arrow_scale
        radius = 10 * s
        curves: dict[int, QPainterPath] = {}  # by the layer of the source: one item per layer
        arrows: dict[int, QPainterPath] = {}
        stubs_done: set[tuple[int, int, str]] = set()
        for route in layout.edges:
            row = layout.layers[route.src]
            curve = curves.setdefault(row, QPainterPath())
            arrow = arrows.setdefault(layout.layers[route.dst], QPainterPath())
            points = route.points
            if route.bus is None:
                _edge_curve(curve, points, length)
                _arrow(arrow, points[-1], 0.0, 1.0 if points[-1][1] >= points[-2][1] else -1.0, arrow_scale)
                continue
            (sx, sy), (bx, _), (_, dy), (dx, _) = points
            down = 1.0 if dy >= sy else -1.0
            if (route.src, route.bus, "out") not in stubs_done:
                stubs_done.add((route.src, route.bus, "out"))
                curve.moveTo(sx, sy)
                curve.lineTo(bx - radius, sy)
                curve.quadTo(bx, sy, bx, sy + down * radius)
            if (route.dst, route.bus, "in") not in stubs_done:
                stubs_done.add((route.dst, route.bus, "in"))
                curve.moveTo(bx, dy - down * radius)
                curve.quadTo(bx, dy, bx - radius, dy)
                curve.lineTo(dx + length, dy)
                _arrow(arrow, (dx, dy), -1.0, 0.0, arrow_scale)
        for bus in layout.buses:
            path = curves.setdefault(-1, QPainterPath())
            path.moveTo(bus.x, bus.top + radius)
            path.lineTo(bus.x, bus.bottom - radius)
        for path in curves.values():
            self._paint(QGraphicsPathItem(path, edges_layer), "edge")
        for path in arrows.values():
            self._paint(QGraphicsPathItem(path, edges_layer), "arrow")
        self._draw_edge_labels()

    def _draw_edge_labels(self) -> None:
        """The tensor shape once per source, just below it, beside its outgoing edges."""
        colors, s, layout = self.colors, self.font_scale, self.layout
        font = _font(LABEL_PX * s)
        metrics = QFontMetricsF(font)
        labels = self._layers["labels"]
        lines = self._paint(_TextLines(labels, font, self._text_colour), "lines")
        plates = QPainterPath()
        # Which way the edges of each source go, to put its label on the other side.
        rightwards: dict[int, bool] = {}
        leftwards: dict[int, bool] = {}
        for route in layout.edges:
            if route.bus is None and len(route.points) > 1:
                dx = route.points[1][0] - route.points[0][0]
                rightwards[route.src] = rightwards.get(route.src, False) or dx > 1
                leftwards[route.src] = leftwards.get(route.src, False) or dx < -1
        done: set[int] = set()
        for route in layout.edges:
            if route.bus is not None or route.src in done or not route.shape:
                continue
            done.add(route.src)
            x, y = route.points[0]
            if self.graph.nodes[route.src].kind == BLOCK_KIND:
                y += 5 * s  # below the stack of cards
            width = metrics.horizontalAdvance(route.shape)
            left = x - 7 * s - width if rightwards.get(route.src) and not leftwards.get(route.src) else x + 7 * s
            lines.add(route.shape, "muted", left + width / 2, y + 3 * s)
            plates.addRoundedRect(QRectF(left - 2 * s, y + 3 * s, width + 4 * s, metrics.height()), 3 * s, 3 * s)
        plate_item = self._paint(QGraphicsPathItem(plates, labels), "plate")
        plate_item.setZValue(-0.01)

    def _draw_frames(self) -> None:
        """A frame around every unfolded foldable block, with its type and name on the top border."""
        data, fold, layout, colors, s = self._data, self._fold, self.layout, self.colors, self.font_scale
        unfolded = fold.foldable - fold.folded
        boxes: dict[str, QRectF] = {}  # by path; left to right, a block over two rows has a frame in each
        pieces: dict[str, str] = {}  # key in boxes -> the block's path
        for index, node in enumerate(self.graph.nodes):
            rect = QRectF(*layout.rect(index))
            for around in node.blocks:
                if around in unfolded and around != node.key:
                    piece = f"{around}\0{layout.bands[index]}" if layout.bands and layout.bands[index] else around
                    pieces[piece] = around
                    boxes[piece] = boxes[piece].united(rect) if piece in boxes else rect
        if not boxes:
            return
        depth = dict.fromkeys(boxes, 0)  # levels of frames inside each frame
        for piece in sorted(boxes, key=lambda p: -len(data.blocks[pieces[p]].parents)):  # innermost first
            suffix = piece[len(pieces[piece]):]
            parent = next((q + suffix for q in reversed(data.blocks[pieces[piece]].parents) if q + suffix in boxes),
                          None)
            if parent is not None:
                depth[parent] = max(depth[parent], depth[piece] + 1)
        font = _font(LABEL_PX * s)
        metrics = QFontMetricsF(font)
        frames, frame_labels = self._layers["frames"], self._layers["frame_labels"]
        self._summaries = []
        output_of: dict[str, str] = {}  # the shape that leaves each block: that of its last node
        for node in self.graph.nodes:
            output_of.update(dict.fromkeys(node.blocks, node.shape))
        for piece, box in boxes.items():
            path = pieces[piece]
            pad = frame_padding(depth[piece]) * s
            rect = box.adjusted(-pad, -pad, pad, pad)
            frame = self._paint(QGraphicsPathItem(_rounded(rect, 12 * s), frames), "frame")
            frame.setData(FRAME_ROLE, path)
            frame.setZValue(depth[piece] * -0.01)
            block = data.blocks[path]
            text = f"{block.type_name} {self._short_path(path)}"
            label_w, label_h = metrics.horizontalAdvance(text), metrics.height()
            if rect.width() < label_w + 28 * s:  # room for the name on the top border
                rect.setRight(rect.left() + label_w + 28 * s)
                frame.setPath(_rounded(rect, 12 * s))
            frame.setToolTip(f"{block.type_name} {path}\ndouble-click to fold")
            plate = self._paint(QGraphicsPathItem(_rounded(QRectF(rect.left() + 10 * s, rect.top() - label_h / 2,
                                                                  label_w + 8 * s, label_h), 4 * s), frame_labels),
                                "frame_plate")
            label = QGraphicsSimpleTextItem(text, plate)
            label.setFont(font)
            self._paint(label, "muted")
            label.setPos(rect.left() + 14 * s, rect.top() - label_h / 2)
            output = output_of.get(path, "")
            self._summary([text, output] if output else [text], rect)

    def _draw_heading(self) -> None:
        """The model's name and size, and a legend of the kinds of layers it has, centred above the graph."""
        data, colors, s, layout = self._data, self.colors, self.font_scale, self.layout
        layers = len([n for n in data.nodes if n.kind != "input"])
        params = sum(n.params for n in data.nodes)
        # E1 (vocabulary): the paper's depth and, apart, the number of operations.
        counts = format.depth_and_ops(data.depth, data.ops or layers, short=True)
        heading = QGraphicsSimpleTextItem(f"{data.title}  ·  {counts}  ·  "
                                          f"{format.params(params)}", self._layers["titles"])
        heading.setFont(_font(HEADING_PX * s, bold=True))
        if layout.direction == "lr" and heading.boundingRect().width() > layout.width:
            # Made to fill a screen: the heading no wider than the graph (down to the size of a node's title).
            pixels = max(TITLE_PX * s, HEADING_PX * s * layout.width / heading.boundingRect().width())
            heading.setFont(_font(pixels, bold=True))
        self._paint(heading, "text")
        centre = layout.width / 2
        max_width = max(layout.width, 560 * s)
        font = _font(LABEL_PX * s)
        metrics = QFontMetricsF(font)
        row_h = metrics.height()
        present = {n.kind for n in self.graph.nodes}
        # Left to right (made to fit one screen), the titles say the kinds: no legend, more room for the graph.
        kinds = [k for k in (*KINDS, BLOCK_KIND) if k in present] if layout.direction == "tb" else []
        # Lay the legend out in rows no wider than the graph (or a minimum), each row centred.
        swatch_w, gap = row_h * 1.4, 16 * s
        widths = [swatch_w + 5 * s + metrics.horizontalAdvance(KIND_LABELS[k]) for k in kinds]
        rows: list[list[int]] = [[]]
        row_width = 0.0
        for index, width in enumerate(widths):
            if rows[-1] and row_width + gap + width > max_width:
                rows.append([])
                row_width = 0.0
            row_width += (gap if rows[-1] else 0) + width
            rows[-1].append(index)
        top = min((layout.rect(i)[1] for i in range(len(self.graph.nodes))), default=0.0)
        legend_top = top - (28 * s + len(rows) * (row_h + 4 * s) if kinds else 12 * s)
        heading.setPos(centre - heading.boundingRect().width() / 2,
                       legend_top - 8 * s - heading.boundingRect().height())
        legend = self._layers["details"]
        for row_number, row in enumerate(rows):
            total = sum(widths[i] for i in row) + gap * (len(row) - 1)
            x, y = centre - total / 2, legend_top + row_number * (row_h + 4 * s)
            for index in row:
                kind = kinds[index]
                self._paint(QGraphicsPathItem(_rounded(QRectF(x, y + 2 * s, swatch_w, row_h - 4 * s), 3 * s), legend),
                            f"swatch:{kind}")
                label = QGraphicsSimpleTextItem(KIND_LABELS[kind], legend)
                label.setFont(font)
                self._paint(label, "muted")
                label.setPos(x + swatch_w + 5 * s, y)
                x += widths[index] + gap

    def draw_selection(self, key: str | None) -> None:
        """A ring around the visible node ``key`` and its edges in the accent colour (None: no selection)."""
        for item in self._selection_items:
            if item.scene() is self:
                self.removeItem(item)
        self._selection_items = []
        if key is None or key not in self.node_items or self.layout is None:
            return
        colors, s = self.colors, self.font_scale
        index = self.index_of_key[key]
        pen = QPen(QColor(colors.accent), 3.0 * max(1.0, s ** 0.5))
        ring = QGraphicsPathItem(_rounded(QRectF(*self.layout.rect(index)).adjusted(-4, -4, 4, 4), CORNER * s + 3))
        ring.setPen(pen)
        ring.setZValue(3)
        self.addItem(ring)
        edges = QPainterPath()
        arrow_length = ARROW_LENGTH * self._arrow_scale()
        for route in self.layout.edges:
            if route.src == index or route.dst == index:
                if self.layout.direction == "lr":
                    _route_path(edges, route, arrow_length, 10 * s)
                elif route.bus is None:
                    _edge_curve(edges, route.points, arrow_length)
                else:
                    _bus_route(edges, route.points, 10 * s, arrow_length)
        highlight = QGraphicsPathItem(edges)
        highlight.setPen(QPen(QColor(colors.accent), 2.2 * max(1.0, s ** 0.5)))
        highlight.setZValue(-0.5)
        self.addItem(highlight)
        self._selection_items = [ring, highlight]
