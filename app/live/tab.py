"""The Live tab (Ctrl+4), built when it is first opened: the live view needs OpenCV, pyqtgraph and, in its
threads, torch, which the window need not wait for when it starts. ``window.live`` is this object; the
``LiveController`` (``app/live/controller.py``) is built on first use. The pipeline runs only while the tab is shown."""

from __future__ import annotations

from cnn_explorer.app.window.lazy_tab import LazyTab


class LiveTab(LazyTab):
    wide = True  # the docks make room while it is shown
    own_model = True  # its model is chosen in its panel, not the explorer's
    name, title, shortcut = "live", "Live", "Ctrl+4"
    action_text = "Li&ve (camera, video, detectors)"
    waiting = "Opening the live view…"

    def make(self):
        from cnn_explorer.app.live.controller import LiveController

        return LiveController(self.window, tab=self)

    def page_of(self, controller):
        return controller.panel

    def controller(self):
        """The live view itself (built the first time it is needed)."""
        return self.build()

    def opened(self, controller, first: bool) -> None:
        controller.enter()

    def left(self, controller) -> None:
        controller.leave()


def register(window, view: str = "graph") -> LiveTab:
    """Add the Live tab to ``window`` (after the lab's)."""
    window.live = LiveTab(window)
    return window.live
