"""The Microscope tab's controller: runs the microscope of the selected layer over a folder on the model's
thread (channel "atlas", cancelled by a model load), shows it a channel at a time, and opens a clicked
example in the lab at its unit."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from cnn_explorer.app.atlas import jobs
from cnn_explorer.app.core.requests import Cancelled
from cnn_explorer.app.lab.controller import message_of
from cnn_explorer.widgets.atlas.panel import AtlasPanel

CHANNEL = "atlas"


class AtlasController(QObject):
    shown = Signal(str)  # the layer whose microscope is shown

    def __init__(self, ctx):
        super().__init__(ctx.parent)
        self.ctx = ctx
        self.runner = ctx.runner
        self.runner.declare(CHANNEL, cancelled_by=("model",))
        self.panel = AtlasPanel(ctx.parent)
        self.panel.run_requested.connect(self.run)
        self.panel.cancel_requested.connect(self.cancel)
        self.panel.view.example_clicked.connect(self.open_example)
        self._pending_unit = None  # the unit to show once the lab shows the clicked example
        self._following_lab = False

    def opened(self, first: bool) -> None:
        self.panel.view.setFocus()

    def left(self) -> None:
        pass

    def shutdown(self) -> None:
        pass  # the window shuts the runner down

    def run(self, folder: str, k: int = 9, optimize: bool = True) -> int | None:
        if self.ctx.session.current is None:
            self.panel.status.setText("Open a model first.")
            return None
        self.panel.set_folder(folder)
        layer = self.ctx.selection.layer()
        self.panel.set_busy(True, "Microscope…")
        return self.runner.submit(lambda job: jobs.microscope(job, folder, layer, k, optimize), channel=CHANNEL,
                                  done=lambda _id, result: self._done(result), failed=lambda _id, e: self._failed(e),
                                  progress=lambda _id, text, percent: self.panel.set_busy(True, text, percent))

    def cancel(self) -> None:
        self.runner.cancel(channel=CHANNEL)

    def _done(self, result) -> None:
        layer, channels, summary = result
        self.panel.set_busy(False, summary)
        self.panel.view.set_channels(layer, channels)
        self.panel.view.setFocus()
        self.shown.emit(layer)

    def _failed(self, error: BaseException) -> None:
        self.panel.set_busy(False, "Cancelled." if isinstance(error, Cancelled) else message_of(error))

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
