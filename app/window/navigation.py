"""Moving through a model's layers: find by name or type, next and previous, and folding the block of the
selection. It reads the session and the table's order, and moves the one selection."""

from __future__ import annotations

from cnn_explorer.widgets.graph.layout import innermost_foldable


class LayerNavigator:
    def __init__(self, window):
        self.window = window
        self.reset()

    def reset(self) -> None:
        """A new model: the find box starts over."""
        self._text, self._matches, self._index = "", [], -1

    def _message(self, text: str, ms: int = 6000) -> None:
        self.window.statusBar().showMessage(text, ms)

    def find_next(self, typed: str) -> bool:
        """Select the next layer whose name or type holds ``typed`` (again: the next one)."""
        window, result = self.window, self.window.session.current
        text = typed.strip().lower()
        if not text or result is None:
            return False
        if text != self._text:
            self._text = text
            self._matches = [r.name for r in result.rows if text in r.name.lower() or text in r.type.lower()
                             or text in r.label.lower()]  # the lecture's name too: conv1, fc8
            self._index = -1
        if not self._matches:
            if not window.graph.search(typed.strip()):
                self._message(f"No layer matches “{typed.strip()}”.")
                return False
            return True
        self._index = (self._index + 1) % len(self._matches)
        name = self._matches[self._index]
        window.select_layer(name)
        self._message(f"“{typed.strip()}”: match {self._index + 1} of {len(self._matches)} ({name}); "
                      "Enter for the next.")
        return True

    def step(self, step: int) -> None:
        """Select the next (+1) or previous (-1) layer: on the graph's tab, the next node the graph shows, so
        that a step never lands on a layer hidden in a folded block or drawn inside a compact node (a ReLU or
        pool in conv1's box) while the highlight stays where it was; elsewhere in the table's order (the
        network's unless sorted)."""
        window, result = self.window, self.window.session.current
        if result is None or not result.rows:
            return
        graph = window.graph
        if window.tabs.currentWidget() is window.graph_stack and graph.graph_data() is result.graph \
                and result.graph is not None:
            shown = [key for key in graph.visible_nodes() if graph.node_kind(key) != "input"]
            if shown:
                current = graph.selected_node()
                index = shown.index(current) + step if current in shown else (0 if step > 0 else len(shown) - 1)
                window.select_layer(shown[max(0, min(index, len(shown) - 1))])
                return
        names = [r.name for r in window.table.rows()] or [r.name for r in result.rows]
        selected = window.selection.layer()
        if selected in names:
            index = names.index(selected) + step
        elif selected and result.graph is not None and selected in result.blocks:
            inside = [i for i, n in enumerate(names)
                      if (node := result.graph.node_by_name(n)) is not None and result.graph.in_block(node, selected)]
            index = (max(inside) + 1 if step > 0 else min(inside) - 1) if inside else 0
        else:
            index = 0 if step > 0 else len(names) - 1
        window.select_layer(names[max(0, min(index, len(names) - 1))])

    def fold_selected(self) -> None:
        """Fold the innermost block that holds the selected layer (or the selected block's parent)."""
        window, result = self.window, self.window.session.current
        if result is None or result.graph is None:
            return
        selected = window.selection.layer()
        node = result.graph.node_by_name(selected) if selected else None
        block = result.graph.blocks.get(selected) if node is None and selected else None
        enclosing = node.blocks if node is not None else (block.parents if block is not None else ())
        path = innermost_foldable(result.graph, enclosing) if enclosing else None
        if path is None:
            self._message("Select a layer inside a block to fold the block.", 5000)
            return
        window.graph.fold(path)
        window.select_layer(path)

    def unfold_selected(self) -> None:
        window, result = self.window, self.window.session.current
        selected = window.selection.layer()
        if result is not None and selected and selected in result.blocks:
            window.graph.unfold(selected)
        elif result is not None and selected:
            self._message("Select a folded block to unfold it.", 5000)
