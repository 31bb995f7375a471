"""The selection every view follows and sets: the graph, the summary table, the inspector, and the views
that come (the lab, the live camera).

A view that the user moved calls ``select(name)``; every view listens to ``changed`` and shows the new
selection without emitting anything back. Selecting what is already selected does nothing, so an echo from
a view can never loop, and the window needs no "syncing" flag.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal


class Selection(QObject):
    """The selected layer (or block path) of the current model; "" when nothing is selected."""

    changed = Signal(str)  # the new selection ("" : cleared)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._layer = ""
        self._valid = None  # callable: which names may be selected (the current model's layers and blocks)

    def layer(self) -> str:
        return self._layer

    def set_valid(self, is_valid) -> None:
        """What counts as a selectable name, for the model now shown; the selection is cleared."""
        self._valid = is_valid
        self.clear()

    def select(self, name: str) -> bool:
        """Select ``name``; False (and no change) when the current model has no such layer or block. The
        validity check may answer with the name meant (a lecture's "conv1" for "features.0"): that is selected."""
        name = name or ""
        if name and self._valid is not None:
            found = self._valid(name)
            if not found:
                return False
            name = found if isinstance(found, str) else name
        if name != self._layer:
            self._layer = name
            self.changed.emit(name)
        return True

    def clear(self) -> None:
        self.select("")
