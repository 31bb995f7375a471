"""Which blocks of a graph are folded: ``FoldState``, the set logic of folding, free of Qt.

The graph view draws what this says (``graph_layout.fold_graph(data, state.folded)``) and asks it what a
fold, an unfold or a search does to the folded set. Which block holds which layer comes from the data
(``GraphNode.blocks``, ``GraphBlock.parents``), never from the path strings.
"""

from __future__ import annotations

from collections.abc import Iterable

from cnn_explorer.widgets.graph.data import GraphData
from cnn_explorer.widgets.graph.layout_u import blocks_to_open
from cnn_explorer.widgets.graph.layout import enclosing_blocks, foldable_paths, innermost_foldable, node_counts, outermost_foldable


class FoldState:
    """The folded blocks of one GraphData.

    Only foldable blocks are ever in the set. A folded block inside a folded block stays in the set (it is
    hidden with the outer one and shows folded again when that one opens)."""

    def __init__(self, data: GraphData | None = None, folded: Iterable[str] | None = None):
        """``folded``: the block paths to fold; None folds every outermost foldable block (``default()``)."""
        self.data = data
        self._foldable: frozenset[str] = frozenset(foldable_paths(data)) if data is not None else frozenset()
        self._counts = node_counts(data) if data is not None else {}
        self._folded: set[str] = set()
        self.reset(folded)

    # -- reading -----------------------------------------------------------------------------------------
    @property
    def folded(self) -> frozenset[str]:
        return frozenset(self._folded)

    @property
    def foldable(self) -> frozenset[str]:
        return self._foldable

    def is_foldable(self, path: str) -> bool:
        return path in self._foldable

    def is_folded(self, path: str) -> bool:
        return path in self._folded

    def default(self) -> set[str]:
        """The folded set a graph opens with: every outermost foldable block, but an encoder–decoder's block
        that holds its skips of several levels (SegNet's encoder), which opens by one level so that the U shows
        its left arm (layout_u.blocks_to_open)."""
        if self.data is None:
            return set()
        outermost = outermost_foldable(self.data)
        folded = set(outermost)
        for path in blocks_to_open(self.data, outermost):
            folded.discard(path)
            folded.update(self.next_level(path))
        return folded

    def enclosing(self, key: str) -> tuple[str, ...]:
        """The module paths that hold the layer or block ``key``, outermost first (a block: itself last)."""
        return enclosing_blocks(self.data, key) if self.data is not None else ()

    def hidden_by(self, key: str) -> str | None:
        """The outermost folded block that hides the layer or block ``key`` (a block does not hide itself);
        None when it is not hidden."""
        around = self.enclosing(key)
        if self.data is not None and self.data.node_by_name(key) is None:
            around = around[:-1]  # a block: only the blocks around it
        return next((p for p in around if p in self._folded), None)

    def visible_key(self, key: str) -> str | None:
        """The key of the node that shows the layer or block ``key``: the outermost folded block holding it,
        else the layer itself; None for an unfolded block (drawn as a frame, not a node) or an unknown key."""
        if self.data is None:
            return None
        shown = next((p for p in self.enclosing(key) if p in self._folded), None)
        if shown is not None:
            return shown
        return key if self.data.node_by_name(key) is not None else None

    def fold_target(self, key: str) -> str | None:
        """The block that folding "at" the layer or block ``key`` folds: the innermost foldable block that
        holds a layer, or that is around a block (not the block itself)."""
        if self.data is None:
            return None
        around = self.enclosing(key)
        if self.data.node_by_name(key) is None:
            around = around[:-1]
        return innermost_foldable(self.data, around, self._foldable)

    # -- changing ----------------------------------------------------------------------------------------
    def reset(self, folded: Iterable[str] | None = None) -> bool:
        """Replace the folded set (None: the default); blocks that cannot fold are left out. True when the
        set changed."""
        new = self.default() if folded is None else {p for p in folded if p in self._foldable}
        changed = new != self._folded
        self._folded = new
        return changed

    def fold(self, path: str) -> bool:
        """Fold the block at ``path``. False when it is no foldable block or already folded."""
        if path not in self._foldable or path in self._folded:
            return False
        self._folded.add(path)
        return True

    def unfold(self, path: str) -> bool:
        """Open the block at ``path`` and every folded block around it, one level each: the foldable blocks
        directly inside an opened block come folded. False when nothing changed."""
        if path not in self._foldable:
            return False
        changed = False
        for around in self.enclosing(path):
            if around in self._folded:
                self._folded.discard(around)
                self._folded.update(self.next_level(around))
                changed = True
        return changed

    def fold_all(self) -> bool:
        """Fold every outermost foldable block (and nothing else). True when the set changed."""
        return self.reset(None)

    def unfold_all(self) -> bool:
        changed = bool(self._folded)
        self._folded = set()
        return changed

    def reveal(self, key: str) -> bool:
        """Unfold what hides the layer or block ``key`` (a block itself stays as it is). True when the set
        changed."""
        changed = False
        while (hiding := self.hidden_by(key)) is not None:
            if not self.unfold(hiding):
                break
            changed = True
        return changed

    def next_level(self, path: str) -> list[str]:
        """The outermost foldable blocks inside ``path`` that hold fewer nodes than it (a block that only
        wraps another of the same nodes is skipped): what comes folded when ``path`` opens."""
        found = []
        for inner in outermost_foldable(self.data, path):
            if self._counts.get(inner, 0) < self._counts.get(path, 0):
                found.append(inner)
            else:
                found.extend(self.next_level(inner))
        return found
