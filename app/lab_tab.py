"""The lab's tab, built when it is first opened: the lab needs numpy and pyqtgraph (half a second to import),
which the window need not wait for when it starts on the layer graph. ``window.lab`` is this object; it
hands everything else to the ``LabController`` (``app/lab.py``), building it on first use."""

from __future__ import annotations

from PySide6.QtGui import QAction, QKeySequence

from cnn_explorer.widgets.panels import message_page


class LabTab:
    def __init__(self, window, view: str = "graph"):
        self.window = window
        self._controller = None
        self._building = False
        self.placeholder = message_page(window, "lab_placeholder")
        self.placeholder.setText("Opening the lab…")
        self.index = window.add_tab(self.placeholder, "Lab")
        action = QAction("&Lab (look inside with an image)", window)
        action.setObjectName("lab_tab")
        action.setShortcut(QKeySequence("Ctrl+3"))
        action.triggered.connect(self.show)
        window.addAction(action)
        view_menu = getattr(window, "menus", {}).get("View")
        if view_menu is not None:
            after = window.actions_by_name.get("fit")
            view_menu.insertAction(after, action) if after else view_menu.addAction(action)
        self.action = action
        window.tabs.currentChanged.connect(self._tab_changed)
        if view == "lab":
            self.controller(view)

    def controller(self, view: str = "graph"):
        """The lab itself, built (and put in place of the placeholder) the first time it is needed."""
        if self._controller is None:
            if self._building:
                raise RuntimeError("the lab is being built")
            from cnn_explorer.app.lab import LabController

            self._building = True
            try:
                self._controller = LabController(self.window, view, tab=self)
            finally:
                self._building = False
        return self._controller

    def show(self) -> None:
        self.controller().show()

    def _tab_changed(self, index: int) -> None:
        if index == self.index and self._controller is None and not self._building:
            self.controller().show()

    def __getattr__(self, name: str):
        if name.startswith("_") or name in ("window", "placeholder", "index", "action"):
            raise AttributeError(name)
        return getattr(self.controller(), name)


def register(window, view: str = "graph") -> LabTab:
    """Add the lab's tab to ``window`` (call once, after its panels exist and before the first model opens)."""
    window.lab = LabTab(window, view)
    return window.lab
