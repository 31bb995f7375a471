"""The lab's tab, built when it is first opened: the lab needs numpy and pyqtgraph (half a second to import),
which the window need not wait for when it starts on the layer graph. ``window.lab`` is this object; it
hands everything else to the ``LabController`` (``app/lab/controller.py``), building it on first use."""

from __future__ import annotations

from cnn_explorer.app.window.lazy_tab import LazyTab


class LabTab(LazyTab):
    name, title, shortcut = "lab", "Lab", "Ctrl+3"
    action_text = "&Lab (look inside with an image)"
    waiting = "Opening the lab…"

    def __init__(self, window, view: str = "graph"):
        self._view = view
        super().__init__(window)
        if view == "lab":
            self.show()  # builds the lab and shows it

    def make(self):
        from cnn_explorer.app.lab.controller import LabController

        return LabController(self.window, self._view, tab=self)

    def page_of(self, controller):
        return controller.panel

    def controller(self, view: str | None = None):
        """The lab itself (built, and put in place of the placeholder, the first time it is needed)."""
        if view:
            self._view = view
        return self.build()

    def opened(self, controller, first: bool) -> None:
        if first:  # its own tab-change slot was connected after this change began: show (and fill) it now
            controller.show()

    def __getattr__(self, name: str):
        if name.startswith("_") or name in ("window", "placeholder", "index", "action", "built"):
            raise AttributeError(name)
        return getattr(self.controller(), name)


def register(window, view: str = "graph") -> LabTab:
    """Add the lab's tab to ``window`` (call once, after its panels exist and before the first model opens)."""
    window.lab = LabTab(window, view)
    return window.lab
