"""The Live tab (Ctrl+4), built when it is first opened: the live view needs OpenCV, pyqtgraph and, in its
threads, torch, which the window need not wait for when it starts. ``window.live`` is this object; the
``LiveController`` (``app/live.py``) is built on first use. The pipeline runs only while the tab is shown."""

from __future__ import annotations

from cnn_explorer.widgets.panels import message_page
from PySide6.QtGui import QAction, QKeySequence


class LiveTab:
    def __init__(self, window):
        self.window = window
        self._controller = None
        self.placeholder = message_page(window, "live_placeholder")
        self.placeholder.setText("Opening the live view…")
        self.index = window.add_tab(self.placeholder, "Live")
        action = QAction("Li&ve (camera, video, detectors)", window)
        action.setObjectName("live_tab")
        action.setShortcut(QKeySequence("Ctrl+4"))
        action.triggered.connect(self.show)
        window.addAction(action)
        view_menu = getattr(window, "menus", {}).get("View")
        if view_menu is not None:
            after = window.actions_by_name.get("fit")
            view_menu.insertAction(after, action) if after else view_menu.addAction(action)
        self.action = action
        self._inside = False
        window.tabs.currentChanged.connect(self._tab_changed)

    @property
    def built(self) -> bool:
        return self._controller is not None

    def controller(self):
        """The live view itself, put in place of the placeholder the first time it is needed."""
        if self._controller is None:
            from cnn_explorer.app.live import LiveController

            tabs = self.window.tabs
            current = tabs.currentIndex()
            controller = LiveController(self.window, tab=self)
            tabs.blockSignals(True)
            try:
                tabs.removeTab(self.index)
                tabs.insertTab(self.index, controller.panel, "Live")
                tabs.setCurrentIndex(current)
            finally:
                tabs.blockSignals(False)
            self.placeholder.deleteLater()
            self._controller = controller
        return self._controller

    def is_current(self) -> bool:
        return self.window.tabs.currentIndex() == self.index

    def show(self) -> None:
        if not self.is_current():
            self.window.tabs.setCurrentIndex(self.index)  # _tab_changed enters
        else:
            self._tab_changed(self.index)

    def _tab_changed(self, index: int) -> None:
        if index == self.index and not self._inside:
            self._inside = True
            self.controller().enter()
        elif index != self.index and self._inside:
            self._inside = False
            if self._controller is not None:
                self._controller.leave()


def register(window, view: str = "graph") -> LiveTab:
    """Add the Live tab to ``window`` (after the lab's)."""
    window.live = LiveTab(window)
    return window.live
