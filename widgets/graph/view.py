"""The layer graph of a network, top to bottom or left to right in rows, with foldable blocks: ``GraphView``.

The widget holds the public API (data, folding, selection, search, zoom, look, export) and puts together
three objects: a ``FoldState`` (fold_state.py: which blocks are folded, no Qt), a ``GraphScene``
(scene.py: the drawing) and a ``GraphCanvas`` with its ``Minimap`` (canvas.py: the view of the drawing).
This module holds the data, arrangement, folding, look and zoom; selection, search and the mouse actions are
``ViewSelection`` (view_selection.py), the export ``ViewExport`` (view_export.py). The layout is in
``layout.py``, the colours in ``theme.py``.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, QTimer, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QGraphicsSimpleTextItem, QGraphicsView, QStyle, QVBoxLayout, QWidget

from cnn_explorer.widgets.graph.fold_state import FoldState
from cnn_explorer.widgets.graph.canvas import GRAPH_KEYS, GraphCanvas, Minimap  # noqa: F401 (GRAPH_KEYS: API)
from cnn_explorer.widgets.graph.data import GraphData
from cnn_explorer.widgets.graph.layout import DIRECTIONS
from cnn_explorer.widgets.graph.offscreen import rounded_aspect
from cnn_explorer.widgets.graph.scene import FRAME_ROLE, KEY_ROLE, TITLE_PX, GraphScene  # noqa: F401 (KEY_ROLE, FRAME_ROLE: API)
from cnn_explorer.widgets.graph.view_export import ViewExport
from cnn_explorer.widgets.graph.view_selection import ViewSelection
from cnn_explorer.widgets.common.theme import THEMES, graph_colors

MIN_ZOOM, MAX_ZOOM = 0.01, 6.0
# A graph opens fitted to the view when that zoom is at least this (labels stay legible), else at the top.
READABLE_FIT_SCALE = 0.75
U_FIT_SCALE = 0.4  # an encoder–decoder's U opens whole down to this zoom: its shape is the lesson
STEPPED_NODES = 300  # a change of text size, arrangement or view shape redraws a graph of more visible nodes
# behind the one shown
READABLE_PX = 14.0  # a node's title at least this high on the screen is legible from a lecture hall's back row


class GraphView(ViewSelection, ViewExport, QWidget):
    """A zoomable, foldable drawing of a GraphData, top to bottom.

    Signals:
        node_selected(str): the user selected a node (click, search, double-click fold); the layer name, or
            the block path for a folded block; "" when a click on empty canvas cleared the selection.
            ``select_node`` does not emit it.
        folding_changed(): the set of folded blocks changed.
    """

    node_selected = Signal(str)
    folding_changed = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._scene = GraphScene(self)
        self._canvas = GraphCanvas(self)
        self._canvas.setScene(self._scene)
        self._minimap = Minimap(self._canvas, self)
        self._minimap.hide()
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(self._canvas)
        self._data: GraphData | None = None
        self._fold = FoldState()
        self._theme_name = "light"
        self._font_scale = 1.0
        self._selected: str | None = None
        self._search_text = ""
        self._search_position = -1
        self._needs_initial_view = False
        self._direction, self._compact = "tb", False
        self._aspect: float | None = None  # the screen shape the left-to-right rows were made for
        self._behind: tuple | None = None  # (scene, aspect, its build steps) being built behind the one shown
        self._view_after: dict | None = None  # the view to give the scene built behind (restore_view_state)
        self._behind_timer = QTimer(self)
        self._behind_timer.setSingleShot(True)
        self._behind_timer.setInterval(0)
        self._behind_timer.timeout.connect(self._step_behind)
        self._canvas.setBackgroundBrush(QColor(self._scene.colors.background))
        canvas = self._canvas
        canvas.clicked.connect(self._clicked)
        canvas.double_clicked.connect(self._double_clicked)
        canvas.context_requested.connect(self._context_menu)
        canvas.zoom_requested.connect(self.zoom_by)
        canvas.fit_requested.connect(self.fit)
        canvas.resized.connect(self._view_resized)

    # -- data --------------------------------------------------------------------------------------------
    def set_data(self, data: GraphData | None, folded=None) -> None:
        """Show ``data``. ``folded``: the block paths to fold; None folds every outermost foldable block."""
        self._data = data
        self._selected = None
        self._search_text = ""
        self._fold = FoldState(data, folded)
        if data is None:
            self._cancel_behind()
            self._scene.clear_graph()
            self._minimap.rebuild(self._scene)
            return
        self._rebuild()
        self._needs_initial_view = True
        self._initial_view()

    def graph_data(self) -> GraphData | None:
        return self._data

    def visible_nodes(self) -> list[str]:
        """Keys of the nodes shown, in recording order: layer names, and block paths of folded blocks. (A fold
        change of a large graph is drawn over several turns: its nodes are these at once.)"""
        graph = self._folded().graph
        return [node.key for node in graph.nodes] if graph else []

    def _folded(self) -> GraphScene:
        """The scene of the current folding: the one being drawn behind the one shown, if any (it is folded
        as soon as it is started, ``_rebuild_behind``), else the one shown."""
        return self._behind[0] if self._behind is not None else self._scene

    def node_rect(self, key: str) -> QRectF | None:
        """Scene rectangle of the visible node ``key``."""
        return self._scene.node_rect(key)

    def node_shape(self, key: str) -> str:
        """The shape written on the visible node ``key`` ("96×55×55 → 27×27" for a compact conv), "" if none."""
        node = self._folded().node(key)
        return node.shape if node is not None else ""

    def node_kind(self, key: str) -> str | None:
        """The kind of the visible node ``key`` (data.KINDS, or folding.BLOCK_KIND); None when none is shown."""
        node = self._folded().node(key)
        return node.kind if node is not None else None

    def title_item(self, key: str) -> QGraphicsSimpleTextItem | None:
        return self._scene.title_items.get(key)

    def node_members(self, key: str) -> list[str]:
        """The layer names a visible node stands for: itself, the layers of a folded block, or in compact
        mode a conv and the norm, activation and pool drawn inside it."""
        node, data = self._folded().node(key), self._data
        if node is None or data is None:
            return []
        names = {n.id: n.name for n in data.nodes}
        return [names[i] for i in node.members]

    # -- arrangement -------------------------------------------------------------------------------------
    def set_arrangement(self, direction: str, compact: bool) -> None:
        """``direction``: "tb" (top to bottom) or "lr" (left to right, wrapped into rows that fit the view's
        shape); ``compact``: each conv with the norm, activation and pool after it as one node, keyed and
        selected by the conv. ValueError for another direction."""
        if direction not in DIRECTIONS:
            raise ValueError(f"unknown direction {direction!r}; directions are: {', '.join(DIRECTIONS)}")
        if (direction, bool(compact)) == (self._direction, self._compact):
            return
        self._direction, self._compact = direction, bool(compact)
        if self._data is not None:
            self._redraw(whole=self._shows_whole())

    def arrangement(self) -> tuple[str, bool]:
        return self._direction, self._compact

    def _view_aspect(self) -> float | None:
        """The viewport's width / height in steps of 10 % (the rows are laid out again past a step)."""
        if self._direction != "lr":
            return None
        size = self._canvas.viewport().size()
        if size.width() < 50 or size.height() < 50 or not self.isVisible():
            return self._aspect or 4 / 3
        return rounded_aspect(size.width(), size.height())

    # -- the view, kept over a change of mode ------------------------------------------------------------
    def view_state(self) -> dict:
        """What the user looks at: the zoom, the node at the centre, whether the whole graph is in sight."""
        anchor = self._selected or self._scene.node_nearest(self._visible_rect().center())
        return {"zoom": self.zoom(), "anchor": anchor, "whole": self._shows_whole(), "selected": self._selected}

    def restore_view_state(self, state: dict) -> None:
        """Back to ``view_state()``'s view after a change (presentation, text size, arrangement): the whole
        graph again if it was, else the same zoom around the same node; the selection is kept. ``{"initial":
        True, "selected": …}``: the view a graph opens with, around the selection."""
        if self._data is None or not state:
            return
        if self._behind is not None:  # given to the scene being built when it replaces the one shown
            self._view_after = dict(state)
            return
        selected = state.get("selected")
        if state.get("initial"):
            self._needs_initial_view = True
            self._initial_view()
            if selected:
                self.select_node(selected)
            return
        if selected and self._selected != selected:
            self.select_node(selected)
        if state.get("whole"):
            self.fit()
            return
        self.set_zoom(state.get("zoom", self.zoom()))
        anchor = self._key_showing(state["anchor"]) if state.get("anchor") else None
        if anchor in self._scene.node_items:
            self._canvas.centerOn(self._scene.node_items[anchor])
        self._minimap.update()

    def _shows_whole(self) -> bool:
        rect = self._scene.sceneRect()
        return not rect.isEmpty() and self._visible_rect().adjusted(-2, -2, 2, 2).contains(rect)

    # -- folding -----------------------------------------------------------------------------------------
    def folded_blocks(self) -> set[str]:
        """Paths of the folded blocks (a folded block inside a folded block counts too)."""
        return set(self._fold.folded)

    def is_foldable(self, path: str) -> bool:
        return self._fold.is_foldable(path)

    def fold(self, path: str) -> bool:
        """Fold the block at ``path`` into one node. False when it is no foldable block or already folded."""
        self._finish_refolding()
        anchor = self._scene.first_visible_in(path) if self.is_foldable(path) else None
        if not self._fold.fold(path):
            return False
        self._changed_folding(anchor=anchor, new_anchor=path)
        return True

    def unfold(self, path: str) -> bool:
        """Unfold the block at ``path`` (and the folded blocks around it) by one level: the foldable blocks
        directly inside it come folded. False when nothing changed."""
        self._finish_refolding()
        anchor = self._fold.visible_key(path) or self._scene.first_visible_in(path)
        if not self._fold.unfold(path):
            return False
        self._changed_folding(anchor=anchor, new_anchor=self._scene.first_visible_in(path))
        return True

    def fold_all(self) -> None:
        """Fold every outermost foldable block."""
        if self._data is not None and self._fold.fold_all():
            self._changed_folding(stepped=True)

    def unfold_all(self) -> None:
        """Unfold every block. ``visible_nodes()`` says the new nodes at once; a graph of more than
        STEPPED_NODES nodes is drawn behind the one shown, a step per turn (DenseNet-201 held the window
        0.2-0.4 s in one turn)."""
        if self._fold.unfold_all():
            self._changed_folding(stepped=True)

    def _changed_folding(self, anchor: str | None = None, new_anchor: str | None = None,
                         stepped: bool = False) -> None:
        """Rebuild after a folding change, keeping ``new_anchor`` where ``anchor`` was on the screen.
        (``new_anchor`` may be a function of the new scene: it is looked up after the rebuild.) ``stepped``:
        a new folding of more than STEPPED_NODES nodes is drawn behind the one shown (``_step_behind`` keeps
        the node at the centre, or the one showing it, in sight)."""
        canvas, scene = self._canvas, self._scene
        old_rect = scene.node_rect(anchor) if anchor else None
        old_point = canvas.mapFromScene(old_rect.center()) if old_rect is not None else None
        whole = self._shows_whole()
        if stepped and self._data is not None:
            self._rebuild_behind()  # folded at once
            if self._is_large():
                if whole and self._direction == "lr" and not self._view_after:  # as below: all in sight
                    self._view_after = {"whole": True, "selected": None}
                self.folding_changed.emit()
                return
            fresh = self._behind[0]
            scene.adopt_folding(fresh)  # a small graph is drawn now, in this folding
            self._cancel_behind()
        self._rebuild()
        if self._selected is not None and self._selected not in scene.node_items:
            self._selected = self._key_showing(self._selected)
            scene.draw_selection(self._selected)
        if whole and self._direction == "lr":  # rows made for the screen: an opened block is all in sight too,
            self.fit()  # not cut at the right edge (a ShuffleNet unit is wider than the node it was)
            self.folding_changed.emit()
            return
        new_rect = scene.node_rect(new_anchor) if new_anchor else None
        if new_rect is not None and old_point is not None:
            new_point = canvas.mapFromScene(new_rect.center())
            hbar, vbar = canvas.horizontalScrollBar(), canvas.verticalScrollBar()
            hbar.setValue(hbar.value() + new_point.x() - old_point.x())
            vbar.setValue(vbar.value() + new_point.y() - old_point.y())
        self._minimap.update()
        self.folding_changed.emit()

    def _key_showing(self, key: str) -> str | None:
        """The visible node that shows the layer or block ``key`` (in compact mode, a norm or activation is
        shown by its conv's node)."""
        if key in self._scene.index_of_key:
            return key
        shown = self._fold.visible_key(key)
        if shown in self._scene.index_of_key:
            return shown
        node = self._data.node_by_name(key) if self._data is not None and shown == key else None
        index = self._scene.graph.index_of_id.get(node.id) if node is not None and self._scene.graph else None
        return self._scene.graph.nodes[index].key if index is not None else None

    # -- look --------------------------------------------------------------------------------------------
    def set_theme(self, name: str) -> None:
        """One of theme.THEMES: "light", "dark" or "high_contrast"; ValueError for another name."""
        if name not in THEMES:
            raise ValueError(f"unknown theme {name!r}; themes are: {', '.join(THEMES)}")
        self._theme_name = name
        self._canvas.setBackgroundBrush(QColor(graph_colors(name).background))
        colors = graph_colors(name)
        only_colours = self._scene.can_restyle(colors)
        if self._data is not None and (only_colours or self._is_large()):
            # Only the colours change: recolour the items in place (no layout, no new items). High contrast's
            # thicker edges also draw larger arrows: a large graph is then drawn again behind the one shown, a
            # step per turn (in one turn, DenseNet-201 unfolded held the window 0.3 s of CPU), and the one shown
            # takes the new colours and pens meanwhile.
            self._scene.restyle(colors)
            self._scene.draw_selection(self._selected)
            self._minimap.rebuild(self._scene)
            if not only_colours or self._behind is not None:  # (a scene being built had the old look)
                self._rebuild_behind()
            return
        self._scene.set_look(colors, self._font_scale)
        if self._data is not None:
            self._rebuild_keeping_view()  # the layout is kept; the items are drawn again

    def theme(self) -> str:
        return self._theme_name

    def set_font_scale(self, scale: float) -> None:
        """Scale every text of the graph (and the boxes with it): 1.0 is the default ~11 pt. A graph of more
        than STEPPED_NODES visible nodes is drawn again behind the one shown, a step per turn of the event loop
        (``is_rebuilding()`` until it replaces it): in one turn, DenseNet-201 unfolded held the window 80-100 ms."""
        scale = max(0.5, min(4.0, float(scale)))
        if scale == self._font_scale:
            return
        self._font_scale = scale
        if self._data is not None and self._is_large():
            self._rebuild_behind()
            return
        self._scene.set_look(self._scene.colors, scale)
        if self._data is not None:
            self._rebuild_keeping_view()

    def _is_large(self) -> bool:
        return len(self.visible_nodes()) > STEPPED_NODES

    def _redraw(self, whole: bool) -> None:
        """Draw the graph again after a change of arrangement or view shape, keeping the node at the centre
        (``whole``: the whole graph in sight). A large graph is drawn behind the one shown, a step per turn:
        presentation changes the text size, the arrangement and the window's shape at once, and these then
        make one drawing (each change restarts it), not three in a row holding the window for seconds."""
        if self._is_large():
            self._rebuild_behind()
            if whole and not self._view_after:  # (a view asked for already is the one wanted)
                self._view_after = {"whole": True, "selected": self._selected}
            return
        self._rebuild_keeping_view()
        if whole:
            self.fit()

    def is_rebuilding(self) -> bool:
        """A scene for a new text size, arrangement or view shape is being built behind the one shown."""
        return self._behind is not None

    def _rebuild_behind(self) -> None:
        """Start drawing the graph in the current look, arrangement and view shape behind the one shown
        (what was on the way is dropped: it is out of date)."""
        self._cancel_behind()
        fresh = GraphScene(self)
        fresh.set_look(self._scene.colors, self._font_scale)
        fresh.adopt_folding(self._scene)  # the text size, the arrangement or the screen's shape changes,
        fresh.refold(self._data, self._fold, self._compact)  # or the folding: folded now (visible_nodes)
        aspect = self._view_aspect()
        self._behind = (fresh, aspect, fresh.build_steps(self._data, self._fold, direction=self._direction,
                                                         compact=self._compact, aspect=aspect))
        self._behind_timer.start()

    def _step_behind(self) -> None:
        if self._behind is None:
            return
        fresh, aspect, steps = self._behind
        if next(steps, StopIteration) is not StopIteration:
            self._behind_timer.start()  # the next step in the next turn
            return
        self._behind = None
        anchor = self._selected or self._scene.node_nearest(self._visible_rect().center())
        old, self._scene, self._aspect = self._scene, fresh, aspect
        self._canvas.setScene(fresh)
        if self._selected is not None and self._selected not in fresh.node_items:  # a new folding: the node
            self._selected = self._key_showing(self._selected)  # that shows it now
        fresh.draw_selection(self._selected)
        self._minimap.rebuild(fresh)
        self._minimap.place()
        self._apply_detail_level()
        if anchor is not None and anchor not in fresh.node_items:  # a block unfolded, or a layer folded away
            anchor = self._key_showing(anchor) or fresh.first_visible_in(anchor)
        if anchor in fresh.node_items:
            self._canvas.centerOn(fresh.node_items[anchor])
        view, self._view_after = self._view_after, None
        if view:
            self.restore_view_state(view)
        old.discard()  # its items are deleted in a turn of their own

    def _finish_refolding(self) -> None:
        """Draw at once the scene being drawn behind when it has a new folding: what follows (a fold, a
        selection by name) finds its nodes in the scene shown."""
        if self._behind is not None and self._behind[0].graph is not self._scene.graph:
            for _ in self._behind[2]:
                pass
            self._behind_timer.stop()
            self._step_behind()  # its steps are over: it takes the place of the one shown

    def _cancel_behind(self) -> None:
        if self._behind is not None:
            self._behind[0].discard()
            self._behind = None

    def font_scale(self) -> float:
        return self._font_scale

    def _rebuild_keeping_view(self) -> None:
        anchor = self._selected or self._scene.node_nearest(self._visible_rect().center())
        self._rebuild()
        if anchor in self._scene.node_items:
            self._canvas.centerOn(self._scene.node_items[anchor])

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

    def readable_zoom(self) -> float:
        """The zoom at which the nodes' titles are READABLE_PX high on the screen (going to a layer zooms in
        to at least this, so that its labels are legible however small the screen)."""
        return READABLE_PX / (TITLE_PX * self._font_scale)

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
        # (Left to right, the rows are made for the view's shape: 2 pixels spare are enough.)
        bar = 2 if self._direction == "lr" else \
            self._canvas.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent) + 2
        area = self._canvas.contentsRect().adjusted(0, 0, -bar, -bar)
        scale = min(1.0, area.width() / rect.width(), area.height() / rect.height())
        self._canvas.resetTransform()
        self._canvas.scale(scale, scale)
        self._canvas.centerOn(rect.center())
        self._apply_detail_level()
        self._minimap.update()

    def _visible_rect(self) -> QRectF:
        return self._canvas.visible_scene_rect()

    def _initial_view(self) -> None:
        """Whole graph when it is legible that way, else the top of it at a readable size."""
        if not self._needs_initial_view or not self.isVisible():
            return
        self._needs_initial_view = False
        rect = self._scene.sceneRect()
        viewport = self._canvas.viewport().rect()
        fit_scale = min(viewport.width() / rect.width(), viewport.height() / rect.height())
        # Rows made to fit: all of it; an encoder–decoder's U too, as long as it is more than a picture.
        u_shape = self._scene.layout is not None and self._scene.layout.u_shape
        if fit_scale >= READABLE_FIT_SCALE or self._direction == "lr" or (u_shape and fit_scale >= U_FIT_SCALE):
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
        if self._scene.layout is not None:
            self._minimap.rebuild(self._scene)  # its size follows the view's
        self._minimap.place()
        self._initial_view()
        made_for = self._behind[1] if self._behind is not None else self._aspect
        if self._data is not None and self._direction == "lr" and self._view_aspect() != made_for:
            self._redraw(whole=self._shows_whole())  # rows that fit the new shape
        self._apply_detail_level()

    def _apply_detail_level(self) -> None:
        """Hide text too small to read, and the minimap when the whole graph is in sight."""
        self._scene.set_detail_level(self.zoom() * self._font_scale)
        self._minimap.set_wanted(self._minimap.has_graph() and not self._shows_whole())

    # -- building ----------------------------------------------------------------------------------------
    def build_timings(self) -> dict[str, float]:
        """Seconds the last rebuild took: "layout" (folding, text measuring, Sugiyama, edge routing) and
        "scene" (creating the items)."""
        return dict(self._scene.timings)

    def _rebuild(self) -> None:
        """Fold, lay out and draw the graph, with the selection, the detail level and the minimap."""
        self._cancel_behind()  # what is drawn now has the latest text size
        self._view_after = None
        if self._scene.font_scale != self._font_scale:
            self._scene.set_look(self._scene.colors, self._font_scale)
        self._aspect = self._view_aspect()
        self._scene.build(self._data, self._fold, direction=self._direction, compact=self._compact,
                          aspect=self._aspect)
        self._scene.draw_selection(self._selected)
        self._apply_detail_level()
        self._minimap.rebuild(self._scene)
        self._minimap.place()
        self._apply_detail_level()
