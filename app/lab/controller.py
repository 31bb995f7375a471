"""The lab's controller (the feature of ``feature.py``: View › Lab, Ctrl+3): it follows the selection and the
current model, and runs the lab's jobs (``jobs.py``) on the model's thread through the window's request runner.

Channels: "lab" (the image, the top-5, the layer's mosaic and kernels), "lab.kernels" (kernel pages),
"lab.unit" (the receptive field of a clicked unit) and "lab.tool" (deconvnet, guided backprop, occlusion,
top-9, the class maps of the panel's "Map:" box (Grad-CAM, the CAM family, IG, SmoothGrad), optimize, a detector's
box maps and a segmenter's Seg-Grad-CAM: progress and Cancel). On each, the latest request wins and stale results
are dropped; a model
load cancels them all (declared with the runner). The lab computes only while its tab is shown; a change of
model or layer while it is hidden is shown when the tab comes back.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, Signal

from cnn_explorer.app.lab import jobs as lab_jobs
from cnn_explorer.app.core.requests import Cancelled
from cnn_explorer.widgets.lab.data import LabView, ToolResult
from cnn_explorer.widgets.lab.panel import MAPS, LabPanel
from cnn_explorer.widgets.common.theme import colors

log = logging.getLogger(__name__)
CHANNELS = ("lab", "lab.kernels", "lab.unit", "lab.tool")
TOOL_NAMES = {"deconv": "Deconvnet", "guided": "Guided backprop", "gradcam": "Grad-CAM", "occlusion": "Occlusion",
              "top9": "Top-9", **MAPS, "optimize": "Optimize", "boxcam": "Box map", "segcam": "Seg-Grad-CAM",
              "grid": "Detection grid"}


def message_of(error: BaseException) -> str:
    """One line for the user: a ``LabError``'s own message, or the kind of an unexpected failure."""
    text = (str(error).strip().splitlines() or [""])[0][:300]
    if isinstance(error, ValueError):  # LabError and ImageError are ValueErrors
        return text or type(error).__name__
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


class LabController(QObject):
    """Wires a ``LabPanel`` to the window's selection, model and runner."""

    view_shown = Signal(str)  # the layer shown after a refresh
    field_shown = Signal()
    tool_done = Signal(str)
    failed = Signal(str)  # a message shown to the user

    def __init__(self, ctx):
        super().__init__(ctx.parent)
        self.ctx = ctx
        self.runner = ctx.runner
        for channel in CHANNELS:
            self.runner.declare(channel, cancelled_by=("model",))
        self.runner.declare("lab.warm")
        self.panel = LabPanel(ctx.parent)
        self.source: tuple[str, str] | None = ("default", "")
        self.user_image = False  # the user chose a file: a new model keeps it
        self.dirty = True
        self._partial: ToolResult | None = None
        self._samples_set = False
        self._sized_for = 0

        p = self.panel
        p.sample_chosen.connect(lambda name: name and self.open_sample(name))
        p.image_file_chosen.connect(self.open_file)
        p.display_changed.connect(lambda: self.refresh())
        p.unit_chosen.connect(lambda c, y, x: self.choose_unit((c, y, x)))
        p.kernel_page_requested.connect(lambda r, c: self.kernel_page((r, c)))
        p.tool_requested.connect(self.run_tool)
        p.folder_chosen.connect(self.run_top9)
        p.choice_requested.connect(self.explain)
        p.cancel_requested.connect(self.cancel)
        ctx.selection.changed.connect(self._selection_changed)
        ctx.model_shown.connect(self._model_shown)
        ctx.classroom.theme_changed.connect(self.set_theme)
        self.set_theme(ctx.classroom.theme())
        self._show_weights()
        if ctx.start_view == "lab":  # opened on the lab (the tab shows it): its libraries are imported on the worker
            # while the window starts.
            self.runner.submit(lab_jobs.warm_up, channel="lab.warm")

    # -- state ----------------------------------------------------------------------------------------------
    def is_visible(self) -> bool:
        return self.ctx.features.is_current("lab")

    def show(self) -> None:
        self.ctx.features.show("lab")  # opened() refreshes it

    def layer(self) -> str:
        return self.ctx.selection.layer()

    def _ready(self) -> bool:
        return self.ctx.session.current is not None and not self.ctx.is_closing()

    def set_theme(self, theme: str) -> None:
        c = colors(theme)
        self.panel.set_colors(c.base, c.text, c.error)

    # -- following the window --------------------------------------------------------------------------------
    def opened(self, first: bool) -> None:
        if self.dirty:
            self.refresh()

    def left(self) -> None:
        pass

    def shutdown(self) -> None:
        pass  # its jobs are the runner's: the window shuts the runner down

    def _selection_changed(self, _name: str) -> None:
        self.runner.cancel(channel="lab.unit")
        self.refresh()

    def _show_weights(self) -> None:
        """A banner while the weights are random, saying how to get learned ones."""
        current = self.ctx.session.current
        random = current is not None and current.weights_label == "random"
        message = current.weights_message if current is not None else ""
        if "no pretrained weights are published" in message:
            how = "None are published for it: File › Weights › Weights from file… (Ctrl+Shift+O)."
        elif "offline" in message or "unavailable" in message:
            how = ("Offline: connect and choose File › Weights › Pretrained, or File › Weights › Weights from "
                   "file… (Ctrl+Shift+O).")
        else:
            how = "File › Weights › Pretrained (downloaded once), or Weights from file… (Ctrl+Shift+O)."
        self.panel.set_weights_banner(random, how)

    def _model_shown(self, _name: str) -> None:
        self._show_weights()
        current = self.ctx.session.current
        self.panel.set_task(current.overview.task if current is not None else "")
        for channel in CHANNELS[1:]:
            self.runner.cancel(channel=channel)
        self.panel.set_busy(False)
        self.panel.set_field(None)
        self.panel.forget_units()
        if not self.user_image:
            self.source = ("default", "")
        self.refresh()

    # -- requests -------------------------------------------------------------------------------------------
    def _submit(self, channel: str, fn, done, progress=None) -> int | None:
        if not self._ready():
            return None
        return self.runner.submit(fn, channel=channel, done=lambda _id, result: done(result),
                                  failed=lambda _id, error: self._failed(channel, error), progress=progress)

    def refresh(self, source: tuple[str, str] | None = None) -> int | None:
        """Show the current image (or ``source``) and the selected layer; only while the tab is shown."""
        if source is not None:
            self.source = source
        if not self.is_visible() or not self._ready():
            self.dirty = True
            return None
        self.dirty = False
        request = lab_jobs.ViewRequest(self.source, self.layer(), self.panel.normalize_mode(),
                                       self.panel.sort_mode())
        return self._submit("lab", lambda job: lab_jobs.refresh(job, request), self._on_view)

    def open_sample(self, name: str) -> None:
        self.user_image = False
        self.refresh(("sample", name))

    def open_file(self, path: str) -> None:
        self.user_image = True
        self.refresh(("file", path))

    def _on_view(self, result: tuple[LabView, list[str]]) -> None:
        view, samples = result
        side = min(view.input.image.shape[:2])
        if self._sized_for != side:  # the occluder's defaults suit the input: 32/8 at 224, 8/2 at 32
            self._sized_for = side
            size = max(2, min(32, side // 4))
            self.panel.set_occlusion(size, max(1, size // 4))
        self.source = None  # the worker holds the image now: later refreshes keep it
        if not self._samples_set:
            self.panel.set_samples(samples)
            self._samples_set = True
        self.panel.show_message(view.message if view.mosaic is None else "")
        self.panel.set_view(view)
        self.view_shown.emit(view.layer)

    def kernel_page(self, page: tuple[int, int]) -> None:
        view = self.panel.view
        layer = view.layer if view is not None else self.layer()
        self._submit("lab.kernels", lambda job: lab_jobs.kernels(job, layer, page), self.panel.set_kernels)

    def choose_unit(self, unit: tuple[int, int, int]) -> None:
        data = self.panel.mosaic_data
        if data is None:
            return
        layer = data.layer
        self._submit("lab.unit", lambda job: lab_jobs.unit_field(job, layer, unit), self._on_field)

    def _on_field(self, data) -> None:
        self.panel.set_field(data)
        self.field_shown.emit()

    # -- tools ----------------------------------------------------------------------------------------------
    def _tool_layer(self) -> str:
        view = self.panel.view
        return view.layer if view is not None else self.layer()

    def run_tool(self, tool: str) -> int | None:
        layer, unit = self._tool_layer(), self.panel.unit
        if tool in ("deconv", "guided"):
            fn = lambda job: lab_jobs.projection(job, layer, unit, tool)  # noqa: E731
        elif tool in MAPS:  # Grad-CAM, the CAM family, IG, SmoothGrad: of the class in the class box
            target = self.panel.target_class()
            fn = lambda job: lab_jobs.class_map(job, tool, layer, target)  # noqa: E731
        elif tool == "occlusion":
            size, stride = self.panel.occlusion_settings()
            target = self.panel.target_class()
            self._partial = None
            fn = lambda job: lab_jobs.occlusion(job, layer, size, stride, self._store_partial, target)  # noqa: E731
        elif tool == "optimize":
            settings = self.panel.optimize_settings()
            self._partial = None
            fn = lambda job: lab_jobs.optimize(job, layer, unit, *settings, self._store_partial)  # noqa: E731
        elif tool in ("boxcam", "segcam", "grid"):
            return self.explain(tool, -1)
        else:
            raise ValueError(f"unknown tool {tool!r}")
        return self._start_tool(tool, fn)

    def explain(self, tool: str, choice: int) -> int | None:
        """A detector's box map or a segmenter's class map: ``choice`` is the box or the class (-1: the best box,
        the largest class)."""
        which = None if choice < 0 else choice
        threshold = self.panel.box_threshold()
        return self._start_tool(tool, lambda job: lab_jobs.explain(job, tool, which, threshold))

    def run_top9(self, folder: str) -> int | None:
        layer, unit = self._tool_layer(), self.panel.unit
        channel = unit[0] if unit is not None else None
        return self._start_tool("top9", lambda job: lab_jobs.top9(job, folder, layer, channel))

    def _start_tool(self, tool: str, fn) -> int | None:
        self.show()
        self.panel.tabs.setCurrentIndex(2)
        ticket = self._submit("lab.tool", fn, lambda result: self._tool_finished(tool, result),
                              progress=lambda _id, text, percent: self._tool_progress(text, percent))
        if ticket is not None:
            self.panel.set_busy(True, f"{TOOL_NAMES[tool]}…")
        return ticket

    def _store_partial(self, result: ToolResult) -> None:
        self._partial = result  # on the worker; shown with the next progress report

    def _tool_progress(self, text: str, percent: int) -> None:
        self.panel.set_busy(True, text, percent)
        partial, self._partial = self._partial, None
        if partial is not None:
            self.panel.set_tool_result(partial)

    def _tool_finished(self, tool: str, result: ToolResult) -> None:
        self.panel.set_busy(False)
        self.panel.set_tool_result(result)
        self.panel.show_message("")
        self.tool_done.emit(tool)

    def cancel(self) -> None:
        self.runner.cancel(channel="lab.tool")
        self.panel.set_busy(True, "Cancelling…")

    def _failed(self, channel: str, error: BaseException) -> None:
        if channel == "lab.tool":
            self.panel.set_busy(False)
        if isinstance(error, Cancelled):
            if channel == "lab.tool":
                partial, self._partial = self._partial, None
                if partial is not None:  # what was computed when Cancel came (optimize: the images of that step)
                    self.panel.set_tool_result(partial)
                self.panel.result_note.setText("Cancelled.")
                self.failed.emit("cancelled")
            return
        if not isinstance(error, ValueError):
            log.error("lab job on %s failed", channel, exc_info=error)
        message = message_of(error)
        if channel == "lab":  # the image that could not be opened is forgotten; the worker keeps the last good one
            self.dirty = False
            self.source = None
        self.panel.show_message(message)
        self.ctx.notify(f"Lab: {message}", 15000)
        self.failed.emit(message)


__all__ = ["LabController"]
