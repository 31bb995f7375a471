"""The layer graph of a network, top to bottom, with foldable blocks: ``GraphView``.

Scene building is plain Qt items (rounded-rect path items, simple text items, one path item per layer of
edges), so painting runs in C++ with no Python per frame. The layout is in ``graph_layout.py``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QPointF, QRectF, QSize, QSizeF, Qt, Signal
from PySide6.QtGui import (
    QAction,
    QBrush,
    QColor,
    QFont,
    QFontMetricsF,
    QImage,
    QPainter,
    QPainterPath,
    QPen,
    QPixmap,
    QPolygonF,
)
from PySide6.QtSvg import QSvgGenerator
from PySide6.QtWidgets import (
    QFrame,
    QGraphicsItem,
    QGraphicsPathItem,
    QGraphicsScene,
    QGraphicsSimpleTextItem,
    QGraphicsView,
    QMenu,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from .graph_data import KINDS, GraphData
from .graph_layout import (
    BLOCK_KIND,
    FoldedGraph,
    GraphLayout,
    contains,
    fold_graph,
    foldable_paths,
    innermost_foldable,
    layout_graph,
    node_counts,
    outermost_foldable,
    scope_prefixes,
)



# -- themes ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Theme:
    background: str
    text: str
    muted: str
    edge: str
    accent: str  # selection
    shadow: QColor
    frame_fill: QColor
    frame_line: str
    fills: dict[str, str]
    borders: dict[str, str]
    border_width: float = 1.4
    edge_width: float = 1.3


_LIGHT_FILLS = {"input": "#e9ecef", "conv": "#d6e4ff", "pool": "#d3f9d8", "norm": "#fff3bf",
                "activation": "#ffe3e3", "linear": "#e5dbff", "merge": "#c5f6fa", "reshape": "#f1f3f5",
                "upsample": "#e9fac8", "dropout": "#f3d9fa", "attention": "#ffdeeb", "other": "#f1f3f5",
                BLOCK_KIND: "#ffe8cc"}
_LIGHT_BORDERS = {"input": "#495057", "conv": "#3b5bdb", "pool": "#2f9e44", "norm": "#e67700",
                  "activation": "#e03131", "linear": "#6741d9", "merge": "#0c8599", "reshape": "#868e96",
                  "upsample": "#66a80f", "dropout": "#ae3ec9", "attention": "#c2255c", "other": "#868e96",
                  BLOCK_KIND: "#e8590c"}
_DARK_FILLS = {"input": "#343a40", "conv": "#1f3269", "pool": "#1b4d2c", "norm": "#5c4813",
               "activation": "#6b2226", "linear": "#3b2a73", "merge": "#0d4a55", "reshape": "#3a3f45",
               "upsample": "#3a5212", "dropout": "#55245f", "attention": "#641c3c", "other": "#3a3f45",
               BLOCK_KIND: "#6b3512"}
_DARK_BORDERS = {"input": "#adb5bd", "conv": "#748ffc", "pool": "#69db7c", "norm": "#ffd43b",
                 "activation": "#ff8787", "linear": "#b197fc", "merge": "#66d9e8", "reshape": "#adb5bd",
                 "upsample": "#a9e34b", "dropout": "#e599f7", "attention": "#f783ac", "other": "#adb5bd",
                 BLOCK_KIND: "#ffa94d"}
_HC_BORDERS = {"input": "#ffffff", "conv": "#4dabf7", "pool": "#51cf66", "norm": "#ffd43b",
               "activation": "#ff6b6b", "linear": "#cc5de8", "merge": "#22d3ee", "reshape": "#ced4da",
               "upsample": "#a9e34b", "dropout": "#f783ac", "attention": "#ff8787", "other": "#ced4da",
               BLOCK_KIND: "#ff922b"}

THEMES = {
    "light": Theme(background="#f8f9fb", text="#1a1e26", muted="#545c69", edge="#7a8291", accent="#f76707",
                   shadow=QColor(20, 30, 50, 38), frame_fill=QColor(60, 80, 120, 14), frame_line="#a3acb9",
                   fills=_LIGHT_FILLS, borders=_LIGHT_BORDERS),
    "dark": Theme(background="#1b1e24", text="#f1f3f5", muted="#b4bcc8", edge="#8c95a3", accent="#ffa94d",
                  shadow=QColor(0, 0, 0, 110), frame_fill=QColor(255, 255, 255, 10), frame_line="#5c6370",
                  fills=_DARK_FILLS, borders=_DARK_BORDERS),
    "high_contrast": Theme(background="#000000", text="#ffffff", muted="#f1f3f5", edge="#ffffff",
                           accent="#ffff00", shadow=QColor(0, 0, 0, 0), frame_fill=QColor(255, 255, 255, 0),
                           frame_line="#ffffff", fills={k: "#000000" for k in _HC_BORDERS}, borders=_HC_BORDERS,
                           border_width=3.0, edge_width=2.2),
}

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
MIN_ZOOM, MAX_ZOOM = 0.01, 6.0
# A graph opens fitted to the view when that zoom is at least this (labels stay legible), else at the top.
READABLE_FIT_SCALE = 0.75

KEY_ROLE = 0  # item.data(KEY_ROLE): the key of the visible node an item draws
FRAME_ROLE = 1  # item.data(FRAME_ROLE): the path of the block a frame surrounds


def format_params(count: int) -> str:
    """``34944`` → ``34.9k params``, ``61100840`` → ``61.1M params``."""
    for unit, size in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if count >= size:
            value = count / size
            text = f"{value:.3g}" if value < 100 else f"{value:.0f}"
            return f"{text}{unit} params"
    return f"{count} params"


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
class _NodeText:
    title: str
    subtitle: str
    shape: str
    params: str
    width: float
    height: float


class _Canvas(QGraphicsView):
    """The QGraphicsView inside GraphView: zoom, pan and mouse handling, forwarded to the GraphView."""

    def __init__(self, owner: GraphView):
        super().__init__(owner)
        self.owner = owner
        self.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.TextAntialiasing)
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.SmartViewportUpdate)
        self.setOptimizationFlag(QGraphicsView.OptimizationFlag.DontSavePainterState, True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.viewport().setCursor(Qt.CursorShape.ArrowCursor)
        self._press_pos = None

    def wheelEvent(self, event):
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            steps = event.angleDelta().y() / 120
            if steps:
                self.owner.zoom_by(1.2 ** steps)
            event.accept()
            return
        super().wheelEvent(event)

    def keyPressEvent(self, event):
        key, modifiers = event.key(), event.modifiers()
        if not modifiers & Qt.KeyboardModifier.ControlModifier:
            if key in (Qt.Key.Key_Plus, Qt.Key.Key_Equal):
                self.owner.zoom_by(1.25, around_center=True)
                return
            if key == Qt.Key.Key_Minus:
                self.owner.zoom_by(1 / 1.25, around_center=True)
                return
            if key == Qt.Key.Key_0:
                self.owner.fit()
                return
        super().keyPressEvent(event)

    def mousePressEvent(self, event):
        if event.button() == Qt.MouseButton.LeftButton:
            self._press_pos = event.position()
        super().mousePressEvent(event)

    def mouseReleaseEvent(self, event):
        super().mouseReleaseEvent(event)
        self.viewport().setCursor(Qt.CursorShape.ArrowCursor)
        if event.button() == Qt.MouseButton.LeftButton and self._press_pos is not None:
            moved = (event.position() - self._press_pos).manhattanLength()
            self._press_pos = None
            if moved < 5:
                self.owner._clicked(self.mapToScene(event.position().toPoint()))

    def mouseDoubleClickEvent(self, event):
        if event.button() == Qt.MouseButton.LeftButton:
            self.owner._double_clicked(self.mapToScene(event.position().toPoint()))
            event.accept()
            return
        super().mouseDoubleClickEvent(event)

    def contextMenuEvent(self, event):
        self.owner._context_menu(self.mapToScene(event.pos()), event.globalPos())

    def scrollContentsBy(self, dx, dy):
        super().scrollContentsBy(dx, dy)
        self.owner._minimap.update()

    def resizeEvent(self, event):
        super().resizeEvent(event)
        self.owner._view_resized()


class _Minimap(QWidget):
    """The whole graph in a corner, with the visible rectangle; a click or drag recentres the view."""

    MAX_SIZE = QSize(170, 240)
    MAX_SCALE = 0.12

    def __init__(self, owner: GraphView):
        super().__init__(owner)
        self.owner = owner
        self.pixmap: QPixmap | None = None
        self.scale = 1.0
        self.origin = QPointF()
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setToolTip("Overview: click or drag to move the view")

    def rebuild(self) -> None:
        """Draw the graph small: coloured boxes and straight edges, no text."""
        owner = self.owner
        layout, rect = owner._layout, owner._scene.sceneRect()
        if layout is None or rect.isEmpty():
            self.pixmap = None
            self.hide()
            return
        # At most MAX_SIZE, and at most a quarter of the view's width and a third of its height, so that it
        # never hides much of the graph in a small window.
        viewport = owner._canvas.viewport().size()
        width = min(self.MAX_SIZE.width(), max(60, viewport.width() // 4))
        height = min(self.MAX_SIZE.height(), max(80, viewport.height() // 3))
        # A small graph is drawn smaller still: an overview as large as the graph itself would only hide it.
        self.scale = min(width / rect.width(), height / rect.height(), self.MAX_SCALE)
        self.origin = rect.topLeft()
        size = QSize(max(24, round(rect.width() * self.scale)), max(24, round(rect.height() * self.scale)))
        self.resize(size + QSize(4, 4))
        pixmap = QPixmap(size)
        theme = owner._theme
        pixmap.fill(QColor(theme.background))
        painter = QPainter(pixmap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.scale(self.scale, self.scale)
        painter.translate(-self.origin)
        pen = QPen(QColor(theme.edge), 0)
        painter.setPen(pen)
        for route in layout.edges:
            points = [QPointF(x, y) for x, y in route.points]
            painter.drawPolyline(points)
        painter.setPen(Qt.PenStyle.NoPen)
        for index, node in enumerate(owner._graph.nodes):
            left, top, width, height = layout.rect(index)
            painter.setBrush(QColor(theme.borders.get(node.kind, theme.borders["other"])))
            painter.drawRect(QRectF(left, top, width, height))
        painter.end()
        self.pixmap = pixmap
        self.update()

    def visible_rect(self) -> QRectF:
        canvas = self.owner._canvas
        return canvas.mapToScene(canvas.viewport().rect()).boundingRect()

    def paintEvent(self, event):
        if self.pixmap is None:
            return
        painter = QPainter(self)
        theme = self.owner._theme
        painter.setPen(QPen(QColor(theme.muted), 1))
        painter.setBrush(QColor(theme.background))
        painter.drawRect(QRectF(0.5, 0.5, self.width() - 1, self.height() - 1))
        painter.drawPixmap(2, 2, self.pixmap)
        view = self.visible_rect()
        box = QRectF((view.left() - self.origin.x()) * self.scale + 2, (view.top() - self.origin.y()) * self.scale + 2,
                     view.width() * self.scale, view.height() * self.scale)
        painter.setClipRect(QRectF(1, 1, self.width() - 2, self.height() - 2))
        accent = QColor(theme.accent)
        painter.setPen(QPen(accent, 2))
        accent.setAlpha(40)
        painter.setBrush(accent)
        painter.drawRect(box)

    def _recentre(self, position: QPointF) -> None:
        scene_point = QPointF((position.x() - 2) / self.scale + self.origin.x(),
                              (position.y() - 2) / self.scale + self.origin.y())
        self.owner._canvas.centerOn(scene_point)
        self.update()

    def mousePressEvent(self, event):
        self._recentre(event.position())

    def mouseMoveEvent(self, event):
        if event.buttons() & Qt.MouseButton.LeftButton:
            self._recentre(event.position())


class GraphView(QWidget):
    """A zoomable, foldable drawing of a GraphData, top to bottom.

    Signals:
        node_selected(str): the user selected a node (click, search, double-click fold); the layer name, or
            the block path for a folded block. ``select_node`` does not emit it.
        folding_changed(): the set of folded blocks changed.
    """

    node_selected = Signal(str)
    folding_changed = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._scene = QGraphicsScene(self)
        self._minimap = _Minimap(self)
        self._minimap.hide()
        self._canvas = _Canvas(self)
        self._canvas.setScene(self._scene)
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(self._canvas)
        self._data: GraphData | None = None
        self._folded: set[str] = set()
        self._counts: dict[str, int] = {}
        self._foldable: set[str] = set()
        self._theme_name = "light"
        self._theme = THEMES["light"]
        self._font_scale = 1.0
        self._graph: FoldedGraph | None = None
        self._layout: GraphLayout | None = None
        self._node_items: dict[str, QGraphicsPathItem] = {}
        self._title_items: dict[str, QGraphicsSimpleTextItem] = {}
        self._index_of_key: dict[str, int] = {}
        self._selected: str | None = None
        self._selection_items: list[QGraphicsItem] = []
        self._search_text = ""
        self._search_position = -1
        self._layers: dict[str, QGraphicsPathItem] = {}
        self._needs_initial_view = False
        self._timings: dict[str, float] = {}
        self._canvas.setBackgroundBrush(QColor(self._theme.background))

    # -- data --------------------------------------------------------------------------------------------
    def set_data(self, data: GraphData | None, folded=None) -> None:
        """Show ``data``. ``folded``: the block paths to fold; None folds every outermost foldable block."""
        self._data = data
        self._selected = None
        self._search_text = ""
        if data is None:
            self._folded = set()
            self._counts = {}
            self._foldable = set()
            self._graph = self._layout = None
            self._selection_items, self._layers = [], {}
            self._scene.clear()
            self._scene.setSceneRect(QRectF())
            self._node_items, self._title_items, self._index_of_key = {}, {}, {}
            self._minimap.rebuild()
            return
        self._counts = dict(node_counts(data))
        self._foldable = foldable_paths(data)
        if folded is None:
            self._folded = set(outermost_foldable(data))
        else:
            self._folded = {p for p in folded if p in data.blocks and data.blocks[p].foldable}
        self._rebuild()
        self._needs_initial_view = True
        self._initial_view()

    def graph_data(self) -> GraphData | None:
        return self._data

    def visible_nodes(self) -> list[str]:
        """Keys of the nodes shown, in recording order: layer names, and block paths of folded blocks."""
        return [node.key for node in self._graph.nodes] if self._graph else []

    def node_rect(self, key: str) -> QRectF | None:
        """Scene rectangle of the visible node ``key``."""
        item = self._node_items.get(key)
        return item.sceneBoundingRect() if item else None

    def title_item(self, key: str) -> QGraphicsSimpleTextItem | None:
        return self._title_items.get(key)

    # -- folding -----------------------------------------------------------------------------------------
    def folded_blocks(self) -> set[str]:
        """Paths of the folded blocks (a folded block inside a folded block counts too)."""
        return set(self._folded)

    def is_foldable(self, path: str) -> bool:
        return path in self._foldable

    def fold(self, path: str) -> bool:
        """Fold the block at ``path`` into one node. False when it is no foldable block or already folded."""
        if not self.is_foldable(path) or path in self._folded:
            return False
        self._folded.add(path)
        self._changed_folding(anchor=self._first_visible_in(path), new_anchor=path)
        return True

    def unfold(self, path: str) -> bool:
        """Unfold the block at ``path`` (and the folded blocks around it) by one level: the foldable blocks
        directly inside it come folded. False when nothing changed."""
        if not self.is_foldable(path):
            return False
        anchor = self._visible_key_of_block(path)
        if not self._open(path):
            return False
        self._changed_folding(anchor=anchor, new_anchor=self._first_visible_in(path))
        return True

    def fold_all(self) -> None:
        """Fold every outermost foldable block."""
        if self._data is None:
            return
        folded = set(outermost_foldable(self._data))
        if folded != self._folded:
            self._folded = folded
            self._changed_folding()

    def unfold_all(self) -> None:
        if self._folded:
            self._folded = set()
            self._changed_folding()

    def _open(self, path: str) -> bool:
        """Unfold ``path`` and every folded block around it, one level each."""
        changed = False
        for prefix in scope_prefixes(path):
            if prefix in self._folded:
                self._folded.discard(prefix)
                changed = True
                for inner in self._next_level(prefix):
                    self._folded.add(inner)
        return changed

    def _next_level(self, path: str) -> list[str]:
        """The outermost foldable blocks inside ``path`` that hold fewer nodes than it (a block that only
        wraps another of the same nodes is skipped)."""
        found = []
        for inner in outermost_foldable(self._data, path):
            if self._counts.get(inner, 0) < self._counts.get(path, 0):
                found.append(inner)
            else:
                found.extend(self._next_level(inner))
        return found

    def _reveal(self, name: str) -> bool:
        """Unfold the blocks that hide the layer ``name``. True when the folding changed."""
        node = self._data.node_by_name(name) if self._data else None
        if node is None:
            return False
        changed = False
        while True:
            hiding = next((p for p in scope_prefixes(node.scope) if p in self._folded), None)
            if hiding is None:
                return changed
            self._open(hiding)
            changed = True

    def _visible_key_of_block(self, path: str) -> str | None:
        hiding = next((p for p in scope_prefixes(path) if p in self._folded), None)
        return hiding if hiding is not None else self._first_visible_in(path)

    def _first_visible_in(self, path: str) -> str | None:
        if not self._graph:
            return None
        return next((n.key for n in self._graph.nodes if contains(path, n.scope)), None)

    def _changed_folding(self, anchor: str | None = None, new_anchor: str | None = None) -> None:
        """Rebuild after a folding change, keeping ``new_anchor`` where ``anchor`` was on the screen."""
        old_point = None
        if anchor and anchor in self._node_items:
            old_point = self._canvas.mapFromScene(self._node_items[anchor].sceneBoundingRect().center())
        selected = self._selected
        self._rebuild()
        if selected is not None and selected not in self._node_items:
            self._selected = self._key_showing(selected)
            self._draw_selection()
        if new_anchor in self._node_items and old_point is not None:
            new_point = self._canvas.mapFromScene(self._node_items[new_anchor].sceneBoundingRect().center())
            hbar, vbar = self._canvas.horizontalScrollBar(), self._canvas.verticalScrollBar()
            hbar.setValue(hbar.value() + new_point.x() - old_point.x())
            vbar.setValue(vbar.value() + new_point.y() - old_point.y())
        self._minimap.update()
        self.folding_changed.emit()

    def _key_showing(self, key: str) -> str | None:
        """The visible node that shows the layer or block ``key``."""
        if self._graph is None or self._data is None:
            return None
        if key in self._index_of_key:
            return key
        node = self._data.node_by_name(key)
        scope = node.scope if node else key
        if not node and key not in self._data.blocks:
            return None
        hiding = next((p for p in scope_prefixes(scope) if p in self._folded), None)
        return hiding if hiding in self._index_of_key else None

    # -- selection and search ----------------------------------------------------------------------------
    def selected_node(self) -> str | None:
        return self._selected

    def select_node(self, name: str) -> bool:
        """Select and centre the layer (or folded block) ``name``, unfolding what hides it. Does not emit
        node_selected. False when there is no such layer or block."""
        return self._select(name, emit=False)

    def clear_selection(self) -> None:
        self._selected = None
        self._draw_selection()

    def search(self, text: str) -> bool:
        """Find a layer whose name holds ``text`` (case-insensitive; an exact name first, then names that
        start with it, then the rest); select and centre it, unfolding its block if needed, and emit
        node_selected. Searching the same text again goes to the next match. False when nothing matches."""
        if self._data is None or not text.strip():
            return False
        needle = text.strip().lower()
        names = [n.name for n in self._data.nodes]
        matches = [n for n in names if n.lower() == needle] + \
                  [n for n in names if n.lower().startswith(needle) and n.lower() != needle] + \
                  [n for n in names if needle in n.lower() and not n.lower().startswith(needle)]
        if not matches:
            return False
        if needle == self._search_text:
            self._search_position = (self._search_position + 1) % len(matches)
        else:
            self._search_text, self._search_position = needle, 0
        return self._select(matches[self._search_position], emit=True)

    def _select(self, name: str, emit: bool) -> bool:
        if self._data is None:
            return False
        node = self._data.node_by_name(name)
        if node is None and not self.is_foldable(name):
            return False
        if name not in self._index_of_key:
            hidden_by = [p for p in scope_prefixes(node.scope if node else name)[:None if node else -1]
                         if p in self._folded]
            if hidden_by:
                if node:
                    self._reveal(name)
                else:
                    self._open(hidden_by[-1])
                self._changed_folding()
        key = self._key_showing(name)
        if key is None:
            return False
        self._selected = key
        self._draw_selection()
        self._canvas.centerOn(self._node_items[key])
        if emit:
            self.node_selected.emit(key)
        return True

    def _clicked(self, scene_point: QPointF) -> None:
        key = self._node_at(scene_point)
        if key is None:
            self.clear_selection()
            return
        self._selected = key
        self._draw_selection()
        self.node_selected.emit(key)

    def _double_clicked(self, scene_point: QPointF) -> None:
        key = self._node_at(scene_point)
        if key is not None:
            node = self._graph.nodes[self._index_of_key[key]]
            if node.kind == BLOCK_KIND:
                self.unfold(key)
                self._select_after_fold(self._first_visible_in(key))
                return
            block = innermost_foldable(self._data, node.scope, self._foldable)
            if block:
                self.fold(block)
                self._select_after_fold(block)
            return
        frame = self._frame_at(scene_point)
        if frame:
            self.fold(frame)
            self._select_after_fold(frame)

    def _select_after_fold(self, key: str | None) -> None:
        if key and key in self._node_items:
            self._selected = key
            self._draw_selection()
            self.node_selected.emit(key)

    def _node_at(self, scene_point: QPointF) -> str | None:
        for item in self._scene.items(scene_point):
            key = item.data(KEY_ROLE)
            if key is not None:
                return key
        return None

    def _frame_at(self, scene_point: QPointF) -> str | None:
        frames = [item for item in self._scene.items(scene_point) if item.data(FRAME_ROLE) is not None]
        if not frames:
            return None
        smallest = min(frames, key=lambda item: item.boundingRect().width() * item.boundingRect().height())
        return smallest.data(FRAME_ROLE)

    def _context_menu(self, scene_point: QPointF, global_pos) -> None:
        if self._data is None:
            return
        menu = QMenu(self)
        key = self._node_at(scene_point)
        if key is not None:
            node = self._graph.nodes[self._index_of_key[key]]
            if node.kind == BLOCK_KIND:
                menu.addAction(f"Unfold {node.title} {key}", lambda: self.unfold(key))
            else:
                block = innermost_foldable(self._data, node.scope, self._foldable)
                if block:
                    menu.addAction(f"Fold {self._data.blocks[block].type_name} {block}", lambda: self.fold(block))
        else:
            frame = self._frame_at(scene_point)
            if frame:
                menu.addAction(f"Fold {self._data.blocks[frame].type_name} {frame}", lambda: self.fold(frame))
        if menu.actions():
            menu.addSeparator()
        menu.addAction("Fold all blocks", self.fold_all)
        menu.addAction("Unfold all blocks", self.unfold_all)
        menu.addSeparator()
        fit = QAction("Fit to window", menu)
        fit.triggered.connect(self.fit)
        menu.addAction(fit)
        menu.exec(global_pos)

    # -- look --------------------------------------------------------------------------------------------
    def set_theme(self, name: str) -> None:
        """"light", "dark" or "high_contrast"."""
        if name not in THEMES:
            raise ValueError(f"unknown theme {name!r}; themes are: {', '.join(THEMES)}")
        self._theme_name, self._theme = name, THEMES[name]
        self._canvas.setBackgroundBrush(QColor(self._theme.background))
        if self._data is not None:
            self._rebuild_keeping_view()

    def theme(self) -> str:
        return self._theme_name

    def set_font_scale(self, scale: float) -> None:
        """Scale every text of the graph (and the boxes with it): 1.0 is the default ~11 pt."""
        scale = max(0.5, min(4.0, float(scale)))
        if scale == self._font_scale:
            return
        self._font_scale = scale
        if self._data is not None:
            self._rebuild_keeping_view()

    def font_scale(self) -> float:
        return self._font_scale

    def _rebuild_keeping_view(self) -> None:
        anchor = self._selected or self._node_at_view_centre()
        self._rebuild()
        if anchor in self._node_items:
            self._canvas.centerOn(self._node_items[anchor])

    def _node_at_view_centre(self) -> str | None:
        if not self._node_items:
            return None
        centre = self._canvas.mapToScene(self._canvas.viewport().rect().center())
        return min(self._node_items, key=lambda k: (self._node_items[k].sceneBoundingRect().center() - centre)
                   .manhattanLength())

    # -- zoom --------------------------------------------------------------------------------------------
    def zoom(self) -> float:
        return self._canvas.transform().m11()

    def set_zoom(self, factor: float) -> None:
        self.zoom_by(factor / self.zoom(), around_center=True)

    def zoom_by(self, factor: float, around_center: bool = False) -> None:
        current = self.zoom()
        factor = max(MIN_ZOOM / current, min(MAX_ZOOM / current, factor))
        anchor = self._canvas.transformationAnchor()
        if around_center:
            self._canvas.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self._canvas.scale(factor, factor)
        self._canvas.setTransformationAnchor(anchor)
        self._apply_detail_level()
        self._minimap.update()

    def zoom_in(self) -> None:
        self.zoom_by(1.25, around_center=True)

    def zoom_out(self) -> None:
        self.zoom_by(1 / 1.25, around_center=True)

    def fit(self) -> None:
        """Show the whole graph."""
        rect = self._scene.sceneRect()
        if rect.isEmpty():
            return
        # Small enough to fit beside scroll bars too, so that they surely go away.
        bar = self._canvas.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent) + 2
        area = self._canvas.contentsRect().adjusted(0, 0, -bar, -bar)
        scale = min(1.0, area.width() / rect.width(), area.height() / rect.height())
        self._canvas.resetTransform()
        self._canvas.scale(scale, scale)
        self._canvas.centerOn(rect.center())
        self._apply_detail_level()
        self._minimap.update()

    def _initial_view(self) -> None:
        """Whole graph when it is legible that way, else the top of it at a readable size."""
        if not self._needs_initial_view or not self.isVisible():
            return
        self._needs_initial_view = False
        rect = self._scene.sceneRect()
        viewport = self._canvas.viewport().rect()
        fit_scale = min(viewport.width() / rect.width(), viewport.height() / rect.height())
        if fit_scale >= READABLE_FIT_SCALE:
            self.fit()
            return
        scale = max(0.6, min(1.0, viewport.width() / rect.width()))
        self._canvas.resetTransform()
        self._canvas.scale(scale, scale)
        top = self._canvas.mapToScene(viewport.center()) - self._canvas.mapToScene(viewport.topLeft())
        self._canvas.centerOn(QPointF(rect.center().x(), rect.top() + top.y()))
        self._apply_detail_level()
        self._minimap.update()

    def showEvent(self, event):
        super().showEvent(event)
        self._initial_view()

    def _view_resized(self) -> None:
        if self._layout is not None:
            self._minimap.rebuild()  # its size follows the view's
        self._place_minimap()
        self._initial_view()
        self._apply_detail_level()

    def _place_minimap(self) -> None:
        viewport = self._canvas.viewport().geometry()
        margin = 10
        self._minimap.move(viewport.right() - self._minimap.width() - margin,
                           viewport.bottom() - self._minimap.height() - margin)
        self._minimap.raise_()

    def _apply_detail_level(self) -> None:
        """Hide text too small to read: it would only cost time to draw."""
        if not self._layers:
            return
        pixels = self.zoom() * self._font_scale
        self._layers["labels"].setVisible(pixels * LABEL_PX >= 7.5)
        self._layers["details"].setVisible(pixels * DETAIL_PX >= 5)
        self._layers["titles"].setVisible(pixels * TITLE_PX >= 4)
        self._layers["frame_labels"].setVisible(pixels * LABEL_PX >= 5)
        visible = self._canvas.mapToScene(self._canvas.viewport().rect()).boundingRect()
        whole = visible.adjusted(-2, -2, 2, 2).contains(self._scene.sceneRect())  # 2: rounding of the view
        self._minimap.setVisible(self._minimap.pixmap is not None and not whole)

    # -- export ------------------------------------------------------------------------------------------
    def export_image(self, path: str | Path, whole: bool = True) -> Path:
        """Write the graph as .png or .svg: the whole graph, or (``whole=False``) what the view shows."""
        path = Path(path)
        suffix = path.suffix.lower()
        if suffix not in (".png", ".svg"):
            raise ValueError(f"cannot write {path.name}: the image must be .png or .svg")
        if whole:
            source = self._scene.sceneRect()
        else:
            source = self._canvas.mapToScene(self._canvas.viewport().rect()).boundingRect()
        if source.isEmpty():
            source = QRectF(0, 0, 100, 100)
        self._hide_selection_for_export(True)
        labels_visible = {name: layer.isVisible() for name, layer in self._layers.items()}
        for layer in self._layers.values():
            layer.setVisible(True)
        try:
            if suffix == ".svg":
                generator = QSvgGenerator()
                generator.setFileName(str(path))
                generator.setSize(source.size().toSize())
                generator.setViewBox(QRectF(0, 0, source.width(), source.height()))
                generator.setTitle(self._data.title if self._data else "graph")
                generator.setDescription("Layer graph drawn by CNN Explorer")
                painter = QPainter(generator)
                self._render(painter, QRectF(0, 0, source.width(), source.height()), source)
                painter.end()
            else:
                # 2× for sharp text, but at most ~64 megapixels and 16384 pixels a side.
                scale = min(2.0, 16384 / max(source.width(), source.height()),
                            (64e6 / max(source.width() * source.height(), 1)) ** 0.5)
                image = QImage(QSizeF(source.width() * scale, source.height() * scale).toSize(),
                               QImage.Format.Format_ARGB32_Premultiplied)
                image.fill(QColor(self._theme.background))
                painter = QPainter(image)
                self._render(painter, QRectF(image.rect()), source)
                painter.end()
                if not image.save(str(path), "PNG"):
                    raise OSError(f"cannot write {path}")
        finally:
            for name, visible in labels_visible.items():
                self._layers[name].setVisible(visible)
            self._hide_selection_for_export(False)
        if not path.exists():
            raise OSError(f"cannot write {path}")
        return path

    def _render(self, painter: QPainter, target: QRectF, source: QRectF) -> None:
        painter.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.TextAntialiasing)
        painter.fillRect(target, QColor(self._theme.background))
        self._scene.render(painter, target, source, Qt.AspectRatioMode.KeepAspectRatio)

    def _hide_selection_for_export(self, hide: bool) -> None:
        for item in self._selection_items:
            item.setVisible(not hide)

    # -- building the scene ------------------------------------------------------------------------------
    def _measure(self) -> list[_NodeText]:
        s = self._font_scale
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
        for node in self._graph.nodes:
            params = format_params(node.params)
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
            texts.append(_NodeText(node.title, subtitle, node.shape, params, node_width, height))
        return texts

    def _short_path(self, path: str) -> str:
        """``path`` relative to the innermost unfolded block around it, which has a frame that names it:
        ``features.denseblock1.denselayer2`` → ``denselayer2`` inside the frame of ``features.denseblock1``."""
        for prefix in reversed(scope_prefixes(path)[:-1]):
            if self.is_foldable(prefix) and prefix not in self._folded:
                return path[len(prefix) + 1:]
        return path

    def build_timings(self) -> dict[str, float]:
        """Seconds the last rebuild took: "layout" (folding, text measuring, Sugiyama, edge routing) and
        "scene" (creating the items)."""
        return dict(self._timings)

    def _rebuild(self) -> None:
        """Fold, lay out and draw the graph."""
        start = time.perf_counter()
        data = self._data
        self._graph = fold_graph(data, self._folded)
        self._index_of_key = {node.key: i for i, node in enumerate(self._graph.nodes)}
        texts = self._measure()
        s = self._font_scale
        # Room between layers for the frames of nested blocks that end above and begin below.
        depth = max((sum(1 for p in scope_prefixes(n.scope) if p in self._foldable and p != n.key)
                     for n in self._graph.nodes), default=0)
        vgap = max(56.0, 2 * frame_padding(depth - 1) + 24) * s
        groups = [next((p for p in reversed(scope_prefixes(n.scope)) if p in self._foldable and p != n.key), None)
                  for n in self._graph.nodes]
        self._layout = layout_graph(self._graph, [(t.width, t.height) for t in texts], hgap=56 * s, vgap=vgap,
                                    port_gap=14 * s, groups=groups)
        laid_out = time.perf_counter()
        self._selection_items = []
        self._scene.clear()
        self._layers = {name: _layer_item(self._scene, z) for name, z in
                        (("frames", -3), ("edges", -1), ("shadows", 0), ("nodes", 1), ("labels", 1.5),
                         ("titles", 2), ("details", 2), ("frame_labels", 2.5))}
        self._draw_frames(texts)
        self._draw_edges()
        self._draw_nodes(texts)
        self._draw_heading()
        rect = self._scene.itemsBoundingRect().adjusted(-40 * s, -30 * s, 40 * s, 40 * s)
        self._scene.setSceneRect(rect)
        self._draw_selection()
        self._apply_detail_level()
        self._minimap.rebuild()
        self._place_minimap()
        self._apply_detail_level()
        self._timings = {"layout": laid_out - start, "scene": time.perf_counter() - laid_out}

    def _draw_nodes(self, texts: list[_NodeText]) -> None:
        theme, s, layout = self._theme, self._font_scale, self._layout
        title_font, detail_font = _font(TITLE_PX * s, bold=True), _font(DETAIL_PX * s)
        title_h = QFontMetricsF(title_font).height()
        detail_h = QFontMetricsF(detail_font).height()
        text_brush, muted_brush = QBrush(QColor(theme.text)), QBrush(QColor(theme.muted))
        pens = {kind: QPen(QColor(color), theme.border_width * max(1.0, s ** 0.5))
                for kind, color in theme.borders.items()}
        brushes = {kind: QBrush(QColor(color)) for kind, color in theme.fills.items()}
        nodes_layer, titles, details = self._layers["nodes"], self._layers["titles"], self._layers["details"]
        shadows = QPainterPath()
        stacks = QPainterPath()
        offset = 3 * s
        self._node_items, self._title_items = {}, {}
        for index, node in enumerate(self._graph.nodes):
            text = texts[index]
            left, top, width, height = layout.rect(index)
            rect = QRectF(left, top, width, height)
            shadows.addRoundedRect(rect.translated(0, offset), CORNER * s, CORNER * s)
            kind = node.kind if node.kind in theme.fills else "other"
            if kind == BLOCK_KIND:  # a folded block looks like a small stack of cards
                stacks.addRoundedRect(rect.translated(5 * s, 5 * s), CORNER * s, CORNER * s)
            item = QGraphicsPathItem(_rounded(rect, CORNER * s), nodes_layer)
            item.setPen(pens[kind])
            item.setBrush(brushes[kind])
            item.setData(KEY_ROLE, node.key)
            item.setToolTip(self._tooltip(node))
            self._node_items[node.key] = item

            cx, y = left + width / 2, top + PAD_Y * s
            title = QGraphicsSimpleTextItem(text.title, titles)
            title.setFont(title_font)
            title.setBrush(text_brush)
            title.setPos(cx - title.boundingRect().width() / 2, y)
            self._title_items[node.key] = title
            y += title_h + LINE_GAP * s
            for line, brush in ((text.subtitle, muted_brush), (text.shape, text_brush), (text.params, muted_brush)):
                if not line:
                    continue
                item = QGraphicsSimpleTextItem(line, details)
                item.setFont(detail_font)
                item.setBrush(brush)
                item.setPos(cx - item.boundingRect().width() / 2, y)
                y += detail_h + LINE_GAP * s
        if not stacks.isEmpty():
            stack_item = QGraphicsPathItem(stacks, self._layers["shadows"])
            stack_item.setPen(pens[BLOCK_KIND])
            stack_item.setBrush(QBrush(QColor(theme.fills[BLOCK_KIND]).darker(108)))
        shadow_item = QGraphicsPathItem(shadows, self._layers["shadows"])
        shadow_item.setPen(Qt.PenStyle.NoPen)
        shadow_item.setBrush(theme.shadow)
        shadow_item.setZValue(-0.1)

    def _tooltip(self, node) -> str:
        if node.kind == BLOCK_KIND:
            count = len(node.members)
            return (f"{node.title} {node.key}\n{count} layers, {node.params:,} parameters\noutput {node.shape}\n"
                    "double-click to unfold")
        text = f"{node.key}\n{node.title}\noutput {node.shape}\n{node.params:,} parameters"
        if innermost_foldable(self._data, node.scope, self._foldable):
            text += "\ndouble-click to fold its block"
        return text

    def _draw_edges(self) -> None:
        theme, s, layout = self._theme, self._font_scale, self._layout
        edge_pen = QPen(QColor(theme.edge), theme.edge_width * max(1.0, s ** 0.5))
        edge_pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        arrow_brush = QBrush(QColor(theme.edge))
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
            item = QGraphicsPathItem(path, edges_layer)
            item.setPen(edge_pen)
        for path in arrows.values():
            item = QGraphicsPathItem(path, edges_layer)
            item.setPen(Qt.PenStyle.NoPen)
            item.setBrush(arrow_brush)
        self._draw_edge_labels()

    def _arrow_scale(self) -> float:
        return max(1.0, self._font_scale ** 0.5) * (1.2 if self._theme.edge_width > 2 else 1.0)

    def _draw_edge_labels(self) -> None:
        """The tensor shape once per source, just below it, beside its outgoing edges."""
        theme, s, layout = self._theme, self._font_scale, self._layout
        font = _font(LABEL_PX * s)
        metrics = QFontMetricsF(font)
        brush = QBrush(QColor(theme.muted))
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
            if self._graph.nodes[route.src].kind == BLOCK_KIND:
                y += 5 * s  # below the stack of cards
            width = metrics.horizontalAdvance(route.shape)
            left = x - 7 * s - width if rightwards.get(route.src) and not leftwards.get(route.src) else x + 7 * s
            label = QGraphicsSimpleTextItem(route.shape, labels)
            label.setFont(font)
            label.setBrush(brush)
            label.setPos(left, y + 3 * s)
            plates.addRoundedRect(QRectF(left - 2 * s, y + 3 * s, width + 4 * s, metrics.height()), 3 * s, 3 * s)
        plate_color = QColor(theme.background)
        plate_color.setAlpha(200)
        plate_item = QGraphicsPathItem(plates, labels)
        plate_item.setPen(Qt.PenStyle.NoPen)
        plate_item.setBrush(plate_color)
        plate_item.setZValue(-0.01)

    def _draw_frames(self, texts: list[_NodeText]) -> None:
        """A frame around every unfolded foldable block, with its type and name on the top border."""
        data, layout, theme, s = self._data, self._layout, self._theme, self._font_scale
        foldable = {p for p, b in data.blocks.items() if b.foldable and p not in self._folded}
        boxes: dict[str, QRectF] = {}
        for index, node in enumerate(self._graph.nodes):
            rect = QRectF(*layout.rect(index))
            for prefix in scope_prefixes(node.scope):
                if prefix in foldable and prefix != node.key:
                    boxes[prefix] = boxes[prefix].united(rect) if prefix in boxes else rect
        if not boxes:
            return
        depth = dict.fromkeys(boxes, 0)  # levels of frames inside each frame
        for path in sorted(boxes, key=lambda p: -p.count(".")):
            parent = next((q for q in reversed(scope_prefixes(path)[:-1]) if q in boxes), None)
            if parent is not None:
                depth[parent] = max(depth[parent], depth[path] + 1)
        font = _font(LABEL_PX * s)
        metrics = QFontMetricsF(font)
        pen = QPen(QColor(theme.frame_line), 1.0 * max(1.0, s ** 0.5), Qt.PenStyle.DashLine)
        brush = QBrush(theme.frame_fill)
        label_brush = QBrush(QColor(theme.muted))
        plate_brush = QBrush(QColor(theme.background))
        frames, frame_labels = self._layers["frames"], self._layers["frame_labels"]
        for path, box in boxes.items():
            pad = frame_padding(depth[path]) * s
            rect = box.adjusted(-pad, -pad, pad, pad)
            frame = QGraphicsPathItem(_rounded(rect, 12 * s), frames)
            frame.setPen(pen)
            frame.setBrush(brush)
            frame.setData(FRAME_ROLE, path)
            frame.setZValue(depth[path] * -0.01)
            block = data.blocks[path]
            text = f"{block.type_name} {self._short_path(path)}"
            label_w, label_h = metrics.horizontalAdvance(text), metrics.height()
            if rect.width() < label_w + 28 * s:  # room for the name on the top border
                rect.setRight(rect.left() + label_w + 28 * s)
                frame.setPath(_rounded(rect, 12 * s))
            frame.setToolTip(f"{block.type_name} {path}\ndouble-click to fold")
            plate = QGraphicsPathItem(_rounded(QRectF(rect.left() + 10 * s, rect.top() - label_h / 2,
                                                      label_w + 8 * s, label_h), 4 * s), frame_labels)
            plate.setPen(Qt.PenStyle.NoPen)
            plate.setBrush(plate_brush)
            label = QGraphicsSimpleTextItem(text, plate)
            label.setFont(font)
            label.setBrush(label_brush)
            label.setPos(rect.left() + 14 * s, rect.top() - label_h / 2)

    def _draw_heading(self) -> None:
        """The model's name and size, and a legend of the kinds of layers it has, centred above the graph."""
        data, theme, s, layout = self._data, self._theme, self._font_scale, self._layout
        layers = len([n for n in data.nodes if n.kind != "input"])
        params = sum(n.params for n in data.nodes)
        heading = QGraphicsSimpleTextItem(f"{data.title}  ·  {layers} layers  ·  {format_params(params)}",
                                          self._layers["titles"])
        heading.setFont(_font(HEADING_PX * s, bold=True))
        heading.setBrush(QBrush(QColor(theme.text)))
        centre = layout.width / 2
        max_width = max(layout.width, 560 * s)
        font = _font(LABEL_PX * s)
        metrics = QFontMetricsF(font)
        row_h = metrics.height()
        present = {n.kind for n in self._graph.nodes}
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
        top = min((layout.rect(i)[1] for i in range(len(self._graph.nodes))), default=0.0)
        legend_top = top - 28 * s - len(rows) * (row_h + 4 * s)
        heading.setPos(centre - heading.boundingRect().width() / 2,
                       legend_top - 8 * s - heading.boundingRect().height())
        legend = self._layers["details"]
        for row_number, row in enumerate(rows):
            total = sum(widths[i] for i in row) + gap * (len(row) - 1)
            x, y = centre - total / 2, legend_top + row_number * (row_h + 4 * s)
            for index in row:
                kind = kinds[index]
                swatch = QGraphicsPathItem(_rounded(QRectF(x, y + 2 * s, swatch_w, row_h - 4 * s), 3 * s), legend)
                swatch.setPen(QPen(QColor(theme.borders[kind]), theme.border_width))
                swatch.setBrush(QBrush(QColor(theme.fills[kind])))
                label = QGraphicsSimpleTextItem(KIND_LABELS[kind], legend)
                label.setFont(font)
                label.setBrush(QBrush(QColor(theme.muted)))
                label.setPos(x + swatch_w + 5 * s, y)
                x += widths[index] + gap

    def _draw_selection(self) -> None:
        for item in self._selection_items:
            if item.scene() is self._scene:
                self._scene.removeItem(item)
        self._selection_items = []
        key = self._selected
        if key is None or key not in self._node_items or self._layout is None:
            return
        theme, s = self._theme, self._font_scale
        index = self._index_of_key[key]
        pen = QPen(QColor(theme.accent), 3.0 * max(1.0, s ** 0.5))
        ring = QGraphicsPathItem(_rounded(QRectF(*self._layout.rect(index)).adjusted(-4, -4, 4, 4), CORNER * s + 3))
        ring.setPen(pen)
        ring.setZValue(3)
        self._scene.addItem(ring)
        edges = QPainterPath()
        arrow_length = ARROW_LENGTH * self._arrow_scale()
        for route in self._layout.edges:
            if route.src == index or route.dst == index:
                if route.bus is None:
                    _edge_curve(edges, route.points, arrow_length)
                else:
                    _bus_route(edges, route.points, 10 * s, arrow_length)
        highlight = QGraphicsPathItem(edges)
        edge_pen = QPen(QColor(theme.accent), 2.2 * max(1.0, s ** 0.5))
        highlight.setPen(edge_pen)
        highlight.setZValue(-0.5)
        self._scene.addItem(highlight)
        self._selection_items = [ring, highlight]
