"""The drawing of a layer graph: ``GraphScene``, a QGraphicsScene that folds, measures, lays out and draws
a GraphData: nodes, edges, edge labels, the frames of unfolded blocks, the heading with its legend, and
the selection highlight.

Plain Qt items (rounded-rect path items, simple text items, one path item per layer of edges), so painting
runs in C++ with no Python per frame. This module holds the scene's state, reading, look and building; the
drawing steps are ``SceneDrawing`` in ``scene_drawing.py``, the sizes and path helpers in ``scene_parts.py``.
The layout is in ``layout.py``, the colours in ``theme.py``, every number as text from ``format.py``.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from contextlib import contextmanager

from PySide6.QtCore import QObject, QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFontMetricsF, QPainter, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsPathItem, QGraphicsScene, QGraphicsSimpleTextItem

from cnn_explorer.widgets.common import format
from cnn_explorer.widgets.common.steps import later
from cnn_explorer.widgets.graph.fold_state import FoldState
from cnn_explorer.widgets.graph.data import GraphData
from cnn_explorer.widgets.graph.layout import (BLOCK_KIND, FoldedGraph, GraphLayout, VisibleNode, fold_graph, fold_stages,
                                               layout_graph)
from cnn_explorer.widgets.graph.scene_drawing import SceneDrawing
from cnn_explorer.widgets.graph.scene_parts import (
    DETAIL_PX, FRAME_ROLE, HEADING_PX, KEY_ROLE, LABEL_PX, LAYERS, LINE_GAP, MAX_NODE_WIDTH, MIN_NODE_WIDTH,
    MIN_TEXT_PX, PAD_X, PAD_Y, SUMMARY_PX, TITLE_PX, NodeText, frame_padding, layer_item, rounded_path, scene_font)
from cnn_explorer.widgets.common.theme import GraphColors, graph_colors


class GraphScene(SceneDrawing, QGraphicsScene):
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
        self.heading_item = None  # the model's name and size above the graph
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
        self.skip_label_lines = None  # an encoder–decoder's skip labels (a TextLines), when drawn as a U
        self.export_cache: dict = {}  # what an export of this drawing computed (offscreen.py); emptied by a build

    # -- reading -----------------------------------------------------------------------------------------
    def node(self, key: str) -> VisibleNode | None:
        index = self.index_of_key.get(key)
        return None if index is None else self.graph.nodes[index]

    def graph_title(self) -> str:
        """The title of the graph drawn (a file's title), "graph" when none is."""
        return self._data.title if self._data is not None else "graph"

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
        font, small = scene_font(SUMMARY_PX * s, bold=True), scene_font((SUMMARY_PX - 2) * s)
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
        plate.setPath(rounded_path(QRectF(0, 0, width + 10 * s, y + 3 * s), 4 * s))
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
        """Draw ``source`` into ``target`` (for a file: ``offscreen.paint_region``, which a worker thread may use
        without holding Python's GIL for a whole page, as ``QGraphicsScene.render`` would)."""
        from cnn_explorer.widgets.graph.offscreen import paint_region

        painter.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.TextAntialiasing)
        painter.fillRect(target, QColor(self.colors.background))
        paint_region(self, painter, target, source)

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
        if role == "lines":  # TextLines takes its colours when it is painted
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
    def discard(self) -> None:
        """Delete this scene, no longer shown, in a turn of its own (``later``). Its items and their Python parts
        go at once: left to ``deleteLater`` alone, the parts stayed in a cycle (the scene holds its text items,
        which hold its colour function), and a later full collection of the garbage collector freed them in some
        other turn: 35-45 ms of DenseNet-201 unfolded (~21,000 objects), while the window answered a key."""
        later(self._discard_now, self)

    def _discard_now(self) -> None:
        self.clear_graph()
        self.deleteLater()

    def clear_graph(self) -> None:
        self._data = self._fold = None
        self.graph = self.layout = None
        self._layout_key = self._folding = None
        self._painted = []
        self._selection_items, self._layers, self._summaries = [], {}, []
        self.export_cache = {}
        self.clear()
        self.node_items, self.title_items, self.index_of_key = {}, {}, {}  # before the scene rect's signals
        self.heading_item = None
        self.setSceneRect(QRectF())

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

    def refold(self, data: GraphData, fold: FoldState, compact: bool) -> None:
        """Fold ``data`` as ``fold`` says (``graph``, ``index_of_key``), unless it already is (the folding
        depends on neither the text size nor the screen's shape). ``build`` does it first; a view that draws a
        scene over several turns does it at once, so that the nodes a fold change shows are known at once."""
        folding = (id(data), frozenset(fold.folded), compact)
        if folding != self._folding or self.graph is None:
            self._folding = folding
            self.graph = fold_graph(data, fold.folded, compact=compact)
            if compact:  # an encoder–decoder a stage a node, as its paper draws it
                self.graph = fold_stages(self.graph, data)
            self.index_of_key = {node.key: i for i, node in enumerate(self.graph.nodes)}

    def build_steps(self, data: GraphData, fold: FoldState, *, direction: str = "tb", compact: bool = False,
                    aspect: float | None = None) -> Iterator[None]:
        """``build`` as a generator that yields between its steps (the folding and measuring, the layout, the
        frames, the edges, the nodes NODES_PER_STEP at a time: 20-120 ms each for DenseNet-201 unfolded on a
        busy 2-core machine), for a scene that is built while another is shown and replaces it when the
        generator ends (``GraphView``: a new text size, arrangement or view shape)."""
        step_start, laying_out = time.perf_counter(), 0.0
        s = self.font_scale
        # The same graph, folding, text size and arrangement (a theme change, a selection redrawn): the layout
        # stands.
        layout_key = (id(data), frozenset(fold.folded), s, direction, compact, aspect)
        if layout_key != self._layout_key or self.layout is None:
            self._data, self._fold = data, fold
            self._pad_y, self._line_gap = (PAD_Y * 0.6, 0.0) if compact else (PAD_Y, LINE_GAP)
            self.refold(data, fold, compact)
            self._texts = self._measure(compact)
            laying_out += time.perf_counter() - step_start
            yield  # the folding and the measuring, then the layout: two steps
            step_start = time.perf_counter()
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
            label_metrics = QFontMetricsF(scene_font(DETAIL_PX * s))
            self.layout = layout_graph(self.graph, [(t.width, t.height) for t in self._texts],
                                       hgap=(max(28.0, vgap / s - 30) if across else 56) * s,
                                       vgap=(max(30.0, vgap / s - 26) if across else vgap / s) * s,
                                       port_gap=14 * s, groups=groups, direction=direction,
                                       aspect=aspect, reserve=self._heading_height(), data=data,
                                       text_width=label_metrics.horizontalAdvance,
                                       label_height=label_metrics.height())
            self._layout_key = layout_key
        laying_out += time.perf_counter() - step_start
        yield
        step_start = time.perf_counter()
        self._selection_items = []
        self._painted = []
        self._summaries = []
        self.skip_label_lines = None
        self.export_cache = {}
        self.clear()
        # The items just deleted are forgotten at once: the event loop runs between the steps of a build, and the
        # overview's placing (canvas.py) reads the nodes' rectangles meanwhile.
        self.node_items, self.title_items, self.heading_item = {}, {}, None
        self._layers = {name: layer_item(self, z) for name, z in LAYERS}
        drawing = 0.0
        # The frames, the edges and the nodes, a step per FRAMES_PER_STEP, EDGES_PER_STEP and NODES_PER_STEP.
        for part in (self._draw_frames(), self._draw_edges(), self._draw_nodes(self._texts)):
            for _ in itertools.chain(part, [None]):
                drawing += time.perf_counter() - step_start
                yield
                step_start = time.perf_counter()
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
        title_metrics = QFontMetricsF(scene_font(TITLE_PX * s, bold=True))
        detail_metrics = QFontMetricsF(scene_font(DETAIL_PX * s))
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
