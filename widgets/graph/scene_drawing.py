"""``SceneDrawing``, the drawing half of ``GraphScene`` (scene.py): the nodes with their text and tooltips,
the edges (curves, buses, arrowheads) and their shape labels, the frames of unfolded blocks, the heading
with its legend, and the selection highlight. A mixin: it draws the scene's folded graph and layout in the
scene's look, into the scene's layers.
"""

from __future__ import annotations

from typing import Iterator

from PySide6.QtCore import QRectF
from PySide6.QtGui import QColor, QFontMetricsF, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsPathItem, QGraphicsSimpleTextItem

from cnn_explorer.widgets.common import format
from cnn_explorer.widgets.graph.data import KINDS
from cnn_explorer.widgets.graph.layout import BLOCK_KIND, VisibleNode
from cnn_explorer.widgets.graph.scene_parts import (
    ARROW_LENGTH, CORNER, DETAIL_PX, FRAME_ROLE, HEADING_PX, KEY_ROLE, KIND_LABELS, LABEL_PX, TITLE_PX, NodeText,
    TextLines, arrow_head, bus_route, edge_curve, frame_padding, rounded_path, route_path, scene_font)

NODES_PER_STEP = 150  # nodes drawn in one step of a scene built behind the one shown
FRAMES_PER_STEP = 40  # frames of unfolded blocks (with their labels) drawn in one step
EDGES_PER_STEP = 400  # edges drawn in one step


class SceneDrawing:
    """The drawing steps of ``GraphScene``, which calls them from ``build_steps``, and ``draw_selection``. They
    read the scene's ``graph``, ``layout``, ``colors``, ``font_scale`` and fold state, and fill its layers."""

    def _draw_nodes(self, texts: list[NodeText]) -> Iterator[None]:
        """Draw the nodes, yielding after each NODES_PER_STEP of them (a scene built behind the one shown
        takes a turn of the event loop per step: DenseNet-201 unfolded's nodes in one took ~200 ms)."""
        colors, s, layout = self.colors, self.font_scale, self.layout
        title_font, detail_font = scene_font(TITLE_PX * s, bold=True), scene_font(DETAIL_PX * s)
        title_h = QFontMetricsF(title_font).height()
        nodes_layer, titles, details = self._layers["nodes"], self._layers["titles"], self._layers["details"]
        shadows = QPainterPath()
        stacks = QPainterPath()
        offset = 3 * s
        self.node_items, self.title_items = {}, {}
        lines = self._paint(TextLines(details, detail_font, self._text_colour), "lines")
        for index, node in enumerate(self.graph.nodes):
            if index and index % NODES_PER_STEP == 0:
                yield
            text = texts[index]
            left, top, width, height = layout.rect(index)
            rect = QRectF(left, top, width, height)
            shadows.addRoundedRect(rect.translated(0, offset), CORNER * s, CORNER * s)
            kind = node.kind if node.kind in colors.fills else "other"
            if kind == BLOCK_KIND:  # a folded block looks like a small stack of cards
                stacks.addRoundedRect(rect.translated(5 * s, 5 * s), CORNER * s, CORNER * s)
            item = self._paint(QGraphicsPathItem(rounded_path(rect, CORNER * s), nodes_layer), f"node:{kind}")
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

    def _draw_edges_across(self) -> Iterator[None]:
        """Left to right: smooth curves within a row, straight runs to the next row."""
        s, layout = self.font_scale, self.layout
        arrow_scale = self._arrow_scale()
        length = ARROW_LENGTH * arrow_scale
        curves, arrows = QPainterPath(), QPainterPath()
        for index, route in enumerate(layout.edges):
            if index and index % EDGES_PER_STEP == 0:
                yield
            dx, dy = route_path(curves, route, length, 10 * s)
            arrow_head(arrows, route.points[-1], dx, dy, arrow_scale)
        self._paint(QGraphicsPathItem(curves, self._layers["edges"]), "edge")
        self._paint(QGraphicsPathItem(arrows, self._layers["edges"]), "arrow")

    def _draw_edges(self) -> Iterator[None]:
        """Draw the edges, yielding after each EDGES_PER_STEP of them (see ``_draw_nodes``)."""
        if self.layout.direction == "lr" or self.layout.u_shape:  # each node shows its output shape
            yield from self._draw_edges_across()
            if self.layout.u_shape:
                self._draw_skip_labels()
            return
        s, layout = self.font_scale, self.layout
        edges_layer = self._layers["edges"]
        arrow_scale = self._arrow_scale()
        length = ARROW_LENGTH * arrow_scale
        radius = 10 * s
        curves: dict[int, QPainterPath] = {}  # by the layer of the source: one item per layer
        arrows: dict[int, QPainterPath] = {}
        stubs_done: set[tuple[int, int, str]] = set()
        for index, route in enumerate(layout.edges):
            if index and index % EDGES_PER_STEP == 0:
                yield
            row = layout.layers[route.src]
            curve = curves.setdefault(row, QPainterPath())
            arrow = arrows.setdefault(layout.layers[route.dst], QPainterPath())
            points = route.points
            if route.bus is None:
                edge_curve(curve, points, length)
                arrow_head(arrow, points[-1], 0.0, 1.0 if points[-1][1] >= points[-2][1] else -1.0, arrow_scale)
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
                arrow_head(arrow, (dx, dy), -1.0, 0.0, arrow_scale)
        for bus in layout.buses:
            path = curves.setdefault(-1, QPainterPath())
            path.moveTo(bus.x, bus.top + radius)
            path.lineTo(bus.x, bus.bottom - radius)
        for path in curves.values():
            self._paint(QGraphicsPathItem(path, edges_layer), "edge")
        for path in arrows.values():
            self._paint(QGraphicsPathItem(path, edges_layer), "arrow")
        self._draw_edge_labels()

    def _draw_skip_labels(self) -> None:
        """An encoder–decoder's skips (layout_u.py): what each carries above its line ("copy and crop"), the
        shape below it, on plates of the background's colour."""
        s = self.font_scale
        font = scene_font(DETAIL_PX * s)
        metrics = QFontMetricsF(font)
        labels = self._layers["details"]  # shown as long as the nodes' shapes are
        lines = self._paint(TextLines(labels, font, self._text_colour), "lines")
        plates = QPainterPath()
        gap = 3 * s
        for route in self.layout.edges:
            if not route.label or route.label_at is None:
                continue
            x, y = route.label_at
            for number, text in enumerate(route.label[:2]):
                top = y - gap - metrics.height() if number == 0 else y + gap
                width = metrics.horizontalAdvance(text)
                lines.add(text, "text" if number == 0 else "muted", x, top)
                plates.addRoundedRect(QRectF(x - width / 2 - 2 * s, top, width + 4 * s, metrics.height()),
                                      3 * s, 3 * s)
        plate_item = self._paint(QGraphicsPathItem(plates, labels), "plate")
        plate_item.setZValue(-0.01)
        self.skip_label_lines = lines

    def _draw_edge_labels(self) -> None:
        """The tensor shape once per source, just below it, beside its outgoing edges."""
        s, layout = self.font_scale, self.layout
        font = scene_font(LABEL_PX * s)
        metrics = QFontMetricsF(font)
        labels = self._layers["labels"]
        lines = self._paint(TextLines(labels, font, self._text_colour), "lines")
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

    def _draw_frames(self) -> Iterator[None]:
        """A frame around every unfolded foldable block, with its type and name on the top border; yields after
        each FRAMES_PER_STEP of them (see ``_draw_nodes``)."""
        data, fold, layout, s = self._data, self._fold, self.layout, self.font_scale
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
        font = scene_font(LABEL_PX * s)
        metrics = QFontMetricsF(font)
        frames, frame_labels = self._layers["frames"], self._layers["frame_labels"]
        self._summaries = []
        output_of: dict[str, str] = {}  # the shape that leaves each block: that of its last node
        for node in self.graph.nodes:
            output_of.update(dict.fromkeys(node.blocks, node.output or node.shape))
        for number, (piece, box) in enumerate(boxes.items()):
            if number and number % FRAMES_PER_STEP == 0:
                yield
            path = pieces[piece]
            pad = frame_padding(depth[piece]) * s
            rect = box.adjusted(-pad, -pad, pad, pad)
            frame = self._paint(QGraphicsPathItem(rounded_path(rect, 12 * s), frames), "frame")
            frame.setData(FRAME_ROLE, path)
            frame.setZValue(depth[piece] * -0.01)
            block = data.blocks[path]
            text = f"{block.type_name} {self._short_path(path)}"
            label_w, label_h = metrics.horizontalAdvance(text), metrics.height()
            if rect.width() < label_w + 28 * s:  # room for the name on the top border
                rect.setRight(rect.left() + label_w + 28 * s)
                frame.setPath(rounded_path(rect, 12 * s))
            frame.setToolTip(f"{block.type_name} {path}\ndouble-click to fold")
            plate = self._paint(QGraphicsPathItem(rounded_path(QRectF(rect.left() + 10 * s, rect.top() - label_h / 2,
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
        data, s, layout = self._data, self.font_scale, self.layout
        layers = len([n for n in data.nodes if n.kind != "input"])
        params = sum(n.params for n in data.nodes)
        # E1 (vocabulary): the paper's depth and, apart, the number of operations.
        counts = format.depth_and_ops(data.depth, data.ops or layers, short=True)
        heading = QGraphicsSimpleTextItem(f"{data.title}  ·  {counts}  ·  "
                                          f"{format.params(params)}", self._layers["titles"])
        heading.setFont(scene_font(HEADING_PX * s, bold=True))
        if layout.direction == "lr" and heading.boundingRect().width() > layout.width:
            # Made to fill a screen: the heading no wider than the graph (down to the size of a node's title).
            pixels = max(TITLE_PX * s, HEADING_PX * s * layout.width / heading.boundingRect().width())
            heading.setFont(scene_font(pixels, bold=True))
        self._paint(heading, "text")
        self.heading_item = heading
        centre = layout.width / 2
        max_width = max(layout.width, 560 * s)
        font = scene_font(LABEL_PX * s)
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
                swatch = rounded_path(QRectF(x, y + 2 * s, swatch_w, row_h - 4 * s), 3 * s)
                self._paint(QGraphicsPathItem(swatch, legend), f"swatch:{kind}")
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
        ring = QGraphicsPathItem(rounded_path(QRectF(*self.layout.rect(index)).adjusted(-4, -4, 4, 4), CORNER * s + 3))
        ring.setPen(pen)
        ring.setZValue(3)
        self.addItem(ring)
        edges = QPainterPath()
        arrow_length = ARROW_LENGTH * self._arrow_scale()
        for route in self.layout.edges:
            if route.src == index or route.dst == index:
                if self.layout.direction == "lr" or self.layout.u_shape:
                    route_path(edges, route, arrow_length, 10 * s)
                elif route.bus is None:
                    edge_curve(edges, route.points, arrow_length)
                else:
                    bus_route(edges, route.points, 10 * s, arrow_length)
        highlight = QGraphicsPathItem(edges)
        highlight.setPen(QPen(QColor(colors.accent), 2.2 * max(1.0, s ** 0.5)))
        highlight.setZValue(-0.5)
        self.addItem(highlight)
        self._selection_items = [ring, highlight]
