"""The two widgets inside the graph view: ``GraphCanvas`` (the QGraphicsView that shows the scene and turns
mouse and keys into signals) and ``Minimap`` (the whole graph small, in a corner). Neither knows the
GraphView: the canvas says what the user did, the minimap draws the scene it is given."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QPoint, QPointF, QRect, QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QPainter, QPen, QPixmap
from PySide6.QtWidgets import QFrame, QGraphicsView, QWidget

if TYPE_CHECKING:
    from cnn_explorer.widgets.graph.scene import GraphScene

# The keys and mouse gestures of the graph itself (no actions: they work while the graph has the focus), as
# (what, keys) for Help › Keyboard shortcuts.
GRAPH_KEYS = (
    ("Zoom in", "Ctrl+wheel up, or + (graph focused)"),
    ("Zoom out", "Ctrl+wheel down, or - (graph focused)"),
    ("Fit graph (graph focused)", "0"),
    ("Pan", "drag, wheel"),
    ("Fold / unfold a block", "double-click"),
)


class GraphCanvas(QGraphicsView):
    """Zoom keys and Ctrl+wheel, hand-drag panning, and clicks, as signals (points in scene coordinates).

    Signals:
        clicked(QPointF): a left click that did not drag.
        double_clicked(QPointF)
        context_requested(QPointF, QPoint): a context menu at the scene point, shown at the global point.
        zoom_requested(float, bool): zoom by the factor (True: around the view's centre, else the mouse).
        fit_requested(): the 0 key.
        resized(), scrolled()
    """

    clicked = Signal(QPointF)
    double_clicked = Signal(QPointF)
    context_requested = Signal(QPointF, QPoint)
    zoom_requested = Signal(float, bool)
    fit_requested = Signal()
    resized = Signal()
    scrolled = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.TextAntialiasing)
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.SmartViewportUpdate)
        self.setOptimizationFlag(QGraphicsView.OptimizationFlag.DontSavePainterState, True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.viewport().setCursor(Qt.CursorShape.ArrowCursor)
        self._press_pos = None

    def visible_scene_rect(self) -> QRectF:
        return self.mapToScene(self.viewport().rect()).boundingRect()

    def wheelEvent(self, event):
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            steps = event.angleDelta().y() / 120
            if steps:
                self.zoom_requested.emit(1.2 ** steps, False)
            event.accept()
            return
        super().wheelEvent(event)

    def keyPressEvent(self, event):
        key, modifiers = event.key(), event.modifiers()
        if not modifiers & Qt.KeyboardModifier.ControlModifier:
            if key in (Qt.Key.Key_Plus, Qt.Key.Key_Equal):
                self.zoom_requested.emit(1.25, True)
                return
            if key == Qt.Key.Key_Minus:
                self.zoom_requested.emit(1 / 1.25, True)
                return
            if key == Qt.Key.Key_0:
                self.fit_requested.emit()
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
                self.clicked.emit(self.mapToScene(event.position().toPoint()))

    def mouseDoubleClickEvent(self, event):
        if event.button() == Qt.MouseButton.LeftButton:
            self.double_clicked.emit(self.mapToScene(event.position().toPoint()))
            event.accept()
            return
        super().mouseDoubleClickEvent(event)

    def contextMenuEvent(self, event):
        self.context_requested.emit(self.mapToScene(event.pos()), event.globalPos())

    def scrollContentsBy(self, dx, dy):
        super().scrollContentsBy(dx, dy)
        self.scrolled.emit()

    def resizeEvent(self, event):
        super().resizeEvent(event)
        self.resized.emit()


class Minimap(QWidget):
    """The whole graph in a corner of ``canvas``, with the visible rectangle; a click or drag recentres
    the canvas."""

    MAX_SIZE = QSize(170, 240)
    MAX_SCALE = 0.12

    def __init__(self, canvas: GraphCanvas, parent: QWidget | None = None):
        super().__init__(parent)
        self.canvas = canvas
        self._pixmap: QPixmap | None = None
        self._drawn: tuple | None = None  # (layout, graph, colours) to draw into the pixmap when it is painted
        self.scale = 1.0
        self.origin = QPointF()
        self._wanted = False  # part of the graph is out of sight (``set_wanted``)
        self._rects: tuple = (None, None, [])  # (node items, heading, their scene rectangles), for ``place``
        self._background, self._frame, self._accent = QColor("white"), QColor("gray"), QColor("orange")
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setToolTip("Overview: click or drag to move the view")
        canvas.scrolled.connect(self.update)
        canvas.scrolled.connect(self.place)

    def rebuild(self, scene: GraphScene) -> None:
        """Take the graph of ``scene``, to be drawn small (coloured boxes and straight edges, no text) when the
        overview is next painted: a change of font scale resizes the view twice more after the graph's rebuild,
        and an overview hidden while the whole graph is in sight is never drawn."""
        layout, graph, rect = scene.layout, scene.graph, scene.sceneRect()
        if layout is None or graph is None or rect.isEmpty():
            self._drawn = self._pixmap = None
            self.hide()
            return
        colors = scene.colors
        self._background, self._frame, self._accent = (QColor(colors.background), QColor(colors.muted),
                                                       QColor(colors.accent))
        # At most MAX_SIZE, and at most a quarter of the view's width and a third of its height, so that it
        # never hides much of the graph in a small window.
        viewport = self.canvas.viewport().size()
        width = min(self.MAX_SIZE.width(), max(60, viewport.width() // 4))
        height = min(self.MAX_SIZE.height(), max(80, viewport.height() // 3))
        # A small graph is drawn smaller still: an overview as large as the graph itself would only hide it.
        self.scale = min(width / rect.width(), height / rect.height(), self.MAX_SCALE)
        self.origin = rect.topLeft()
        size = QSize(max(24, round(rect.width() * self.scale)), max(24, round(rect.height() * self.scale)))
        self.resize(size + QSize(4, 4))
        drawn = (layout, graph, colors, size)
        if drawn != self._drawn:
            self._drawn, self._pixmap = drawn, None
        self.update()

    def has_graph(self) -> bool:
        return self._drawn is not None

    @property
    def pixmap(self) -> QPixmap | None:
        """The graph drawn small (drawn now if it has changed since it was last drawn)."""
        if self._pixmap is None and self._drawn is not None:
            self._pixmap = self._draw(*self._drawn)
        return self._pixmap

    def _draw_now(self) -> None:
        if self._pixmap is None and self._drawn is not None:
            self._pixmap = self._draw(*self._drawn)
            self.update()

    def _draw(self, layout, graph, colors, size: QSize) -> QPixmap:
        pixmap = QPixmap(size)
        pixmap.fill(self._background)
        painter = QPainter(pixmap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.scale(self.scale, self.scale)
        painter.translate(-self.origin)
        painter.setPen(QPen(QColor(colors.edge), 0))
        for route in layout.edges:
            painter.drawPolyline([QPointF(x, y) for x, y in route.points])
        painter.setPen(Qt.PenStyle.NoPen)
        for index, node in enumerate(graph.nodes):
            painter.setBrush(QColor(colors.borders.get(node.kind, colors.borders["other"])))
            painter.drawRect(QRectF(*layout.rect(index)))
        painter.end()
        return pixmap

    def set_wanted(self, wanted: bool) -> None:
        """Show the overview (when part of the graph is out of sight), in a corner where it hides no node."""
        self._wanted = wanted
        self.place()

    def place(self, margin: int = 10) -> None:
        """Into the first corner of the canvas (bottom right, bottom left, top right, top left) where it hides
        no node (nor the heading); hidden while every corner would hide one: an overview over a block's node or
        an unfolded branch would hide what the class is looking at."""
        viewport = self.canvas.viewport().geometry()
        left, top = viewport.left() + margin, viewport.top() + margin
        right, bottom = viewport.right() - self.width() - margin, viewport.bottom() - self.height() - margin
        corners = [QPoint(right, bottom), QPoint(left, bottom), QPoint(right, top), QPoint(left, top)]
        scene = self.canvas.scene()
        free = None
        if self._wanted and self.has_graph():
            nodes = self._node_rects(scene)
            free = next((c for c in corners if not self._hides_a_node(c - viewport.topLeft(), nodes)), None)
        if free is not None:
            self.move(free)
            self.raise_()
        self.setVisible(free is not None)

    def _node_rects(self, scene) -> list[QRectF]:
        """The scene rectangles of the nodes and the heading, asked once per drawing: the overview is placed
        several times per change of the window (a presentation toggle: ~9 times, 700 nodes each time)."""
        node_items, heading = getattr(scene, "node_items", {}), getattr(scene, "heading_item", None)
        held_items, held_heading, rects = self._rects
        # The same dict (a build makes a new one) with as many nodes (drawn), and the same heading (drawn last).
        if node_items is not held_items or heading is not held_heading or len(rects) != len(node_items) + 1:
            items = [*node_items.values(), heading]
            rects = [item.sceneBoundingRect() for item in items if item is not None]
            self._rects = (node_items, heading, rects if heading is not None else [])
        return rects

    def _hides_a_node(self, corner: QPoint, nodes: list[QRectF]) -> bool:
        """Whether the overview at ``corner`` (viewport coordinates) would cover part of a node (``nodes``: their
        scene rectangles). Rectangles, not ``scene.items``: that asks every item under the corner for its shape,
        and the shape of a layer's edges (one path) is its whole outline, stroked anew each time: 88 calls took
        2.3 s of a presentation toggle on DenseNet-201 unfolded."""
        covered = self.canvas.mapToScene(QRect(corner, self.size())).boundingRect()
        return any(rect.intersects(covered) for rect in nodes)

    def paintEvent(self, event):
        pixmap = self._pixmap
        if pixmap is None:
            if self._drawn is not None:  # drawn in a turn of its own: the graph's rebuild has taken this one
                QTimer.singleShot(0, self, self._draw_now)  # not after the overview is gone
            return
        painter = QPainter(self)
        painter.setPen(QPen(self._frame, 1))
        painter.setBrush(self._background)
        painter.drawRect(QRectF(0.5, 0.5, self.width() - 1, self.height() - 1))
        painter.drawPixmap(2, 2, pixmap)
        view = self.canvas.visible_scene_rect()
        box = QRectF((view.left() - self.origin.x()) * self.scale + 2, (view.top() - self.origin.y()) * self.scale + 2,
                     view.width() * self.scale, view.height() * self.scale)
        painter.setClipRect(QRectF(1, 1, self.width() - 2, self.height() - 2))
        accent = QColor(self._accent)
        painter.setPen(QPen(accent, 2))
        accent.setAlpha(40)
        painter.setBrush(accent)
        painter.drawRect(box)

    def _recentre(self, position: QPointF) -> None:
        scene_point = QPointF((position.x() - 2) / self.scale + self.origin.x(),
                              (position.y() - 2) / self.scale + self.origin.y())
        self.canvas.centerOn(scene_point)
        self.update()

    def mousePressEvent(self, event):
        self._recentre(event.position())

    def mouseMoveEvent(self, event):
        if event.buttons() & Qt.MouseButton.LeftButton:
            self._recentre(event.position())
