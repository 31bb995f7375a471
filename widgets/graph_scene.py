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

from . import format
from .fold_state import FoldState
from .graph_data import KINDS, GraphData
from .graph_layout import BLOCK_KIND, FoldedGraph, GraphLayout, VisibleNode, fold_graph, layout_graph
from .theme import GraphColors, graph_colors

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
          ("details", 2), ("frame_labels", 2.5))


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
        self._texts: list[NodeText] = []
        self._painted: list[tuple[QGraphicsItem, str]] = []  # every coloured item and its role, for restyle()
        self._styles: dict[str, tuple] = {}  # role -> (pen, brush) in the current look

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
        self._layers["details"].setVisible(pixels_per_px * DETAIL_PX >= 5)
        self._layers["titles"].setVisible(pixels_per_px * TITLE_PX >= 4)
        self._layers["frame_labels"].setVisible(pixels_per_px * LABEL_PX >= 5)

    @contextmanager
    def exporting(self) -> Iterator[None]:
        """Everything shown but the selection, for the time of an export."""
        shown = {name: layer.isVisible() for name, layer in self._layers.items()}
        for item in self._selection_items:
            item.setVisible(False)
        for layer in self._layers.values():
            layer.setVisible(True)
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

    def _apply(self, item: QGraphicsItem, role: str) -> None:
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
        self._layout_key = None
        self._painted = []
        self._selection_items, self._layers = [], {}
        self.clear()
        self.setSceneRect(QRectF())
        self.node_items, self.title_items, self.index_of_key = {}, {}, {}

    def build(self, data: GraphData, fold: FoldState) -> None:
        """Fold ``data`` as ``fold`` says, lay it out and draw it."""
        start = time.perf_counter()
        s = self.font_scale
        # The same graph, folding and text size (a theme change, a selection redrawn): the layout stands.
        layout_key = (id(data), frozenset(fold.folded), s)
        if layout_key != self._layout_key or self.layout is None:
            self._data, self._fold = data, fold
            self.graph = fold_graph(data, fold.folded)
            self.index_of_key = {node.key: i for i, node in enumerate(self.graph.nodes)}
            self._texts = self._measure()
            foldable = fold.foldable
            # Room between layers for the frames of nested blocks that end above and begin below.
            depth = max((sum(1 for p in n.blocks if p in foldable and p != n.key) for n in self.graph.nodes),
                        default=0)
            vgap = max(56.0, 2 * frame_padding(depth - 1) + 24) * s
            groups = [next((p for p in reversed(n.blocks) if p in foldable and p != n.key), None)
                      for n in self.graph.nodes]
            self.layout = layout_graph(self.graph, [(t.width, t.height) for t in self._texts], hgap=56 * s,
                                       vgap=vgap, port_gap=14 * s, groups=groups)
            self._layout_key = layout_key
        texts = self._texts
        laid_out = time.perf_counter()
        self._selection_items = []
        self._painted = []
        self.clear()
        self._layers = {name: _layer_item(self, z) for name, z in LAYERS}
        self._draw_frames()
        self._draw_edges()
        self._draw_nodes(texts)
        self._draw_heading()
        self.setSceneRect(self.itemsBoundingRect().adjusted(-40 * s, -30 * s, 40 * s, 40 * s))
        self.timings = {"layout": laid_out - start, "scene": time.perf_counter() - laid_out}

    def _measure(self) -> list[NodeText]:
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
        for node in self.graph.nodes:
            params = format.params(node.params)
            subtitle = self._short_path(node.subtitle) if node.subtitle else ""
            widths = [width(node.title, title_metrics, "t"), width(node.shape, detail_metrics, "d"),
                      width(params, detail_metrics, "d")]
            if subtitle:
                if detail_metrics.horizontalAdvance(subtitle) > max_width - 2 * PAD_X * s:
                    subtitle = detail_metrics.elidedText(subtitle, Qt.TextElideMode.ElideLeft,
                                                         max_width - 2 * PAD_X * s)
                widths.append(width(subtitle, detail_metrics, "d"))
            lines = 3 + bool(subtitle)
            node_width = min(max_width, max(MIN_NODE_WIDTH * s, max(widths) + 2 * PAD_X * s))
            height = 2 * PAD_Y * s + title_h + (lines - 1) * (detail_h + LINE_GAP * s)
            texts.append(NodeText(node.title, subtitle, node.shape, params, node_width, height))
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
        detail_h = QFontMetricsF(detail_font).height()
        nodes_layer, titles, details = self._layers["nodes"], self._layers["titles"], self._layers["details"]
        shadows = QPainterPath()
        stacks = QPainterPath()
        offset = 3 * s
        self.node_items, self.title_items = {}, {}
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

            cx, y = left + width / 2, top + PAD_Y * s
            title = QGraphicsSimpleTextItem(text.title, titles)
            title.setFont(title_font)
            self._paint(title, "text")
            title.setPos(cx - title.boundingRect().width() / 2, y)
            self.title_items[node.key] = title
            y += title_h + LINE_GAP * s
            for line, role in ((text.subtitle, "muted"), (text.shape, "text"), (text.params, "muted")):
                if not line:
                    continue
                item = QGraphicsSimpleTextItem(line, details)
                item.setFont(detail_font)
                self._paint(item, role)
                item.setPos(cx - item.boundingRect().width() / 2, y)
                y += detail_h + LINE_GAP * s
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

    def _draw_edges(self) -> None:
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
            label = QGraphicsSimpleTextItem(route.shape, labels)
            label.setFont(font)
            self._paint(label, "muted")
            label.setPos(left, y + 3 * s)
            plates.addRoundedRect(QRectF(left - 2 * s, y + 3 * s, width + 4 * s, metrics.height()), 3 * s, 3 * s)
        plate_item = self._paint(QGraphicsPathItem(plates, labels), "plate")
        plate_item.setZValue(-0.01)

    def _draw_frames(self) -> None:
        """A frame around every unfolded foldable block, with its type and name on the top border."""
        data, fold, layout, colors, s = self._data, self._fold, self.layout, self.colors, self.font_scale
        unfolded = fold.foldable - fold.folded
        boxes: dict[str, QRectF] = {}
        for index, node in enumerate(self.graph.nodes):
            rect = QRectF(*layout.rect(index))
            for around in node.blocks:
                if around in unfolded and around != node.key:
                    boxes[around] = boxes[around].united(rect) if around in boxes else rect
        if not boxes:
            return
        depth = dict.fromkeys(boxes, 0)  # levels of frames inside each frame
        for path in sorted(boxes, key=lambda p: -len(data.blocks[p].parents)):  # innermost first
            parent = next((q for q in reversed(data.blocks[path].parents) if q in boxes), None)
            if parent is not None:
                depth[parent] = max(depth[parent], depth[path] + 1)
        font = _font(LABEL_PX * s)
        metrics = QFontMetricsF(font)
        frames, frame_labels = self._layers["frames"], self._layers["frame_labels"]
        for path, box in boxes.items():
            pad = frame_padding(depth[path]) * s
            rect = box.adjusted(-pad, -pad, pad, pad)
            frame = self._paint(QGraphicsPathItem(_rounded(rect, 12 * s), frames), "frame")
            frame.setData(FRAME_ROLE, path)
            frame.setZValue(depth[path] * -0.01)
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

    def _draw_heading(self) -> None:
        """The model's name and size, and a legend of the kinds of layers it has, centred above the graph."""
        data, colors, s, layout = self._data, self.colors, self.font_scale, self.layout
        layers = len([n for n in data.nodes if n.kind != "input"])
        params = sum(n.params for n in data.nodes)
        heading = QGraphicsSimpleTextItem(f"{data.title}  ·  {format.count(layers)} layers  ·  "
                                          f"{format.params(params)}", self._layers["titles"])
        heading.setFont(_font(HEADING_PX * s, bold=True))
        self._paint(heading, "text")
        centre = layout.width / 2
        max_width = max(layout.width, 560 * s)
        font = _font(LABEL_PX * s)
        metrics = QFontMetricsF(font)
        row_h = metrics.height()
        present = {n.kind for n in self.graph.nodes}
        kinds = [k for k in (*KINDS, BLOCK_KIND) if k in present]
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
        legend_top = top - 28 * s - len(rows) * (row_h + 4 * s)
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
                if route.bus is None:
                    _edge_curve(edges, route.points, arrow_length)
                else:
                    _bus_route(edges, route.points, 10 * s, arrow_length)
        highlight = QGraphicsPathItem(edges)
        highlight.setPen(QPen(QColor(colors.accent), 2.2 * max(1.0, s ** 0.5)))
        highlight.setZValue(-0.5)
        self.addItem(highlight)
        self._selection_items = [ring, highlight]
