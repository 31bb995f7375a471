"""The microscope's controller (View › Atlas, a window of its own): runs the microscope of the selected layer
over a folder on the model's thread (channel "atlas", cancelled by a model load), shows it a channel at a
time, and opens a clicked example in the lab at its unit."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

CHANNEL = "atlas"


class AtlasController(QObject):
    shown = Signal(str)  # the layer whose microscope is shown

    def __init__(self, ctx):
        super().__init__(ctx.parent)
        self.ctx = ctx
        self.runner = ctx.runner
        self.runner.declare(CHANNEL, cancelled_by=("model",))
        self.panel = None  # no tab: the feature is made at start, its window (``window``) when first opened
        self.window = None
        self._pending_unit = None  # the unit to show once the lab shows the clicked example
        self._following_lab = False

    def open(self):
        """Show the microscope's window (made the first time), in front."""
        from PySide6.QtCore import Qt

        from cnn_explorer.widgets.atlas.panel import AtlasPanel

        if self.window is None:
            self.window = AtlasPanel(self.ctx.parent)
            self.window.setWindowFlag(Qt.WindowType.Window)
            self.window.setWindowTitle("Atlas: every channel's dataset examples")
            self.window.resize(1000, 640)
            self.window.run_requested.connect(self.run)
            self.window.cancel_requested.connect(self.cancel)
            self.window.view.example_clicked.connect(self.open_example)
        self.window.show()
        self.window.raise_()
        self.window.activateWindow()
        self.window.view.setFocus()
        return self.window

    def opened(self, first: bool) -> None:
        pass

    def left(self) -> None:
        pass

    def shutdown(self) -> None:
        if self.window is not None:  # the runner is the window's: it shuts it down
            self.window.close()

    def run(self, folder: str, k: int = 9, optimize: bool = True) -> int | None:
        from cnn_explorer.app.atlas import jobs

        self.open()
        if self.ctx.session.current is None:
            self.window.status.setText("Open a model first.")
            return None
        self.window.set_folder(folder)
        layer = self.ctx.selection.layer()
        self.window.set_busy(True, "Microscope…")
        return self.runner.submit(lambda job: jobs.microscope(job, folder, layer, k, optimize), channel=CHANNEL,
                                  done=lambda _id, result: self._done(result), failed=lambda _id, e: self._failed(e),
                                  progress=lambda _id, text, percent: self.window.set_busy(True, text, percent))

    def cancel(self) -> None:
        self.runner.cancel(channel=CHANNEL)

    def _done(self, result) -> None:
        layer, channels, summary = result
        self.window.set_busy(False, summary)
        self.window.view.set_channels(layer, channels)
        self.window.view.setFocus()
        self.shown.emit(layer)

    def _failed(self, error: BaseException) -> None:
        from cnn_explorer.app.core.requests import Cancelled
        from cnn_explorer.app.lab.controller import message_of

        self.window.set_busy(False, "Cancelled." if isinstance(error, Cancelled) else message_of(error))

    def open_example(self, path: str, channel: int, y: int, x: int) -> None:
        """The example's image in the lab, at the layer shown here, with the unit's receptive field."""
        lab = self.ctx.features.controller("lab")
        self._pending_unit = (channel, y, x)
        if not self._following_lab:
            lab.view_shown.connect(self._lab_shown)
            self._following_lab = True
        lab.open_file(path)
        lab.show()

    def _lab_shown(self, _layer: str) -> None:
        lab = self.ctx.features.controller("lab")
        unit, self._pending_unit = self._pending_unit, None
        if unit is not None:
            lab.choose_unit(unit)
