"""``ViewSelection``, the selection half of ``GraphView`` (view.py): selecting a layer or block (unfolding what
hides it), search, and what clicks, double-clicks and the context menu on the canvas do. A mixin: it works on
the view's scene, fold state and canvas, and emits the view's ``node_selected``.
"""

from __future__ import annotations

from PySide6.QtCore import QPoint, QPointF, QRectF
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu

from cnn_explorer.widgets.graph.layout import BLOCK_KIND


class ViewSelection:
    """Selection, search and the canvas's mouse actions of ``GraphView``."""

    def selected_node(self) -> str | None:
        return self._selected

    def select_node(self, name: str) -> bool:
        """Select and centre the layer (or folded block) ``name``, unfolding what hides it; an unfolded block
        (drawn as a frame) brings its frame into sight, its first node selected. Does not emit
        node_selected. False when there is no such layer or block."""
        return self._select(name, emit=False)

    def clear_selection(self) -> None:
        self._selected = None
        self._scene.draw_selection(None)

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
        if self._data.node_by_name(name) is None and not self.is_foldable(name):
            return False
        self._finish_refolding()  # (a fold change drawn over several turns: its nodes are needed now)
        if name not in self._scene.index_of_key and self._fold.reveal(name):
            self._changed_folding()
        key = self._key_showing(name)
        if key is None and self.is_foldable(name):  # an unfolded block: its frame, from its first node
            return self._select_frame(name, emit)
        if key is None:
            return False
        self._set_selected(key, emit)
        self._canvas.centerOn(self._scene.node_items[key])
        return True

    def _select_frame(self, path: str, emit: bool) -> bool:
        """Bring the frame of the unfolded block ``path`` into sight (centred when it fits, else from its first
        node) and select its first node."""
        graph = self._scene.graph
        keys = [n.key for n in graph.nodes if path in n.blocks] if graph is not None else []
        if not keys:
            return False
        frame = QRectF()
        for key in keys:
            frame = frame.united(self._scene.node_rect(key))
        self._set_selected(keys[0], emit)
        view = self._visible_rect()
        if frame.height() <= view.height() and frame.width() <= view.width():
            self._canvas.centerOn(frame.center())
        else:  # its first node, just under the frame's title (a zoom around the centre keeps it there)
            self._canvas.centerOn(self._scene.node_items[keys[0]])
        self._minimap.update()
        return True

    def _set_selected(self, key: str, emit: bool) -> None:
        self._selected = key
        self._scene.draw_selection(key)
        if emit:
            self.node_selected.emit(key)

    def _clicked(self, scene_point: QPointF) -> None:
        key = self._node_at(scene_point)
        if key is None:
            self.clear_selection()
            self.node_selected.emit("")  # empty canvas: nothing is selected any more, in every view
        else:
            self._set_selected(key, emit=True)

    def _double_clicked(self, scene_point: QPointF) -> None:
        key = self._node_at(scene_point)
        if key is None:
            block = self._scene.frame_at(scene_point)
            if block and self.fold(block):
                self._select_after_fold(block)
            return
        if self._scene.node(key).kind == BLOCK_KIND:
            self.unfold(key)
            self._select_after_fold(self._scene.first_visible_in(key))
            return
        block = self._fold.fold_target(key)
        if block:
            self.fold(block)
            self._select_after_fold(block)

    def _select_after_fold(self, key: str | None) -> None:
        if key and key in self._scene.node_items:
            self._set_selected(key, emit=True)

    def _node_at(self, scene_point: QPointF) -> str | None:
        return self._scene.node_at(scene_point)

    def _context_menu(self, scene_point: QPointF, global_pos: QPoint) -> None:
        if self._data is None:
            return
        menu = QMenu(self)
        key = self._node_at(scene_point)
        node = self._scene.node(key) if key is not None else None
        if node is not None and node.kind == BLOCK_KIND:
            menu.addAction(f"Unfold {node.title} {key}", lambda: self.unfold(key))
        else:
            block = self._fold.fold_target(key) if key is not None else self._scene.frame_at(scene_point)
            if block:
                menu.addAction(f"Fold {self._data.blocks[block].type_name} {block}", lambda: self.fold(block))
        if menu.actions():
            menu.addSeparator()
        menu.addAction("Fold all blocks", self.fold_all)
        menu.addAction("Unfold all blocks", self.unfold_all)
        menu.addSeparator()
        fit = QAction("Fit to window", menu)
        fit.triggered.connect(self.fit)
        menu.addAction(fit)
        menu.exec(global_pos)
