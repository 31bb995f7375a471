"""The Live view's controller: wires the ``LivePanel`` (``widgets/live/panel.py``) to a ``LivePipeline``
(``models/live``) through a ``LiveSession`` (``models/live/session.py``), which owns every thread: it opens the
source, starts, stops and joins the pipeline, and makes the feature maps' mosaic in the inference thread.
Explain: the session's ``LiveExplainer`` makes a heat map of the newest frame in its own thread; the timer lays
the newest map over each picture shown, and its FPS goes in the HUD beside the picture's.

The GUI thread only displays: a timer at display rate reads the pipeline's newest result and its figures
(``latest()``, ``stats()``, never a blocking call), and the session's newest mosaic. Closing the window waits
at most a fraction of a second.
"""

from __future__ import annotations

import logging
from importlib import resources
from pathlib import Path

import numpy as np
from cnn_explorer.app.window.gui_thread import gui_post
from cnn_explorer.models.live.draw import palette
from cnn_explorer.models.live.explain import heat_rgba
from cnn_explorer.models.live.session import LiveSession, available_devices
from cnn_explorer.widgets.common.files import check_writable, staged_output
from cnn_explorer.widgets.common.picture import write_png
from cnn_explorer.widgets.live.panel import INPUT_SIZES, Detection, LiveFrame, LivePanel
from cnn_explorer.widgets.common.theme import colors
from PySide6.QtCore import QObject, QTimer

log = logging.getLogger(__name__)

LIVE_TASKS = ("detection", "instance_segmentation", "keypoints", "semantic_segmentation", "classification")
DETECTION_TASKS = LIVE_TASKS[:3]
DEFAULT_MODEL = "ssdlite320_mobilenet_v3_large"
SHAPES_MODEL = "shapes_yolo"  # a detector trained on the synthetic source's shapes, where the zoo has it
DISPLAY_INTERVAL_MS = 33
CLOSE_TIMEOUT_S = 0.15
EXPLAIN_TASKS = ("classification", "detection")  # Grad-CAM of the top class; the map of the strongest box
EXPLAIN_OPACITY = 0.6
MEANINGLESS = {"classification": "predictions", "semantic_segmentation": "class maps",
               "instance_segmentation": "masks and boxes"}


def live_models() -> list[tuple[str, str]]:
    """(name, task) of every zoo entry the live view runs, by task: static facts, no torch."""
    from cnn_explorer.models.zoo.index import entries

    return [(e["name"], e["task"]) for task in LIVE_TASKS for e in entries(task)]


def default_model(source_kind: str) -> str:
    """The shapes detector for the synthetic source where the zoo has one, else SSDlite (fast on a CPU)."""
    from cnn_explorer.models.zoo.index import UnknownModelError, lookup

    if source_kind == "synthetic":
        try:
            facts = lookup(SHAPES_MODEL)
        except UnknownModelError:
            return DEFAULT_MODEL
        asset = facts["facts"].get("weights_asset")
        if not asset or resources.files("cnn_explorer.assets").joinpath(asset).is_file():
            return facts["name"]  # only once its trained weights are there: untrained, it finds nothing
    return DEFAULT_MODEL


def _cameras() -> list[tuple[int, str]]:
    """The machine's cameras (on the runner: listing them may take a moment)."""
    try:
        from cnn_explorer.models.live.sources import list_cameras

        return [(c.index, c.name) for c in list_cameras()]
    except Exception as error:  # noqa: BLE001 - no camera list is no reason to fail
        log.warning("listing cameras failed: %s", error)
        return []


def _mosaic_of(values: np.ndarray, layer: str):
    """In the inference thread: the mosaic of a classifier's live feature maps (numpy only)."""
    from cnn_explorer.app.lab.jobs import make_mosaic

    c, h, w = values.shape
    return make_mosaic(values, layer, f"{layer} · {c} channels of {h}×{w}")


def hud_lines(stats, device_key: str, paused: bool, explain: tuple[float, str] | None = None) -> list[str]:
    """The HUD's lines; ``explain``: (its FPS, what its map shows) while Explain is on."""
    if stats.warming_up or not stats.model:
        return [f"{stats.model or 'the model'}: loading and warming up…", stats.source]
    rates = f"camera {stats.camera_fps:.0f} FPS · model {stats.inference_fps:.1f} FPS"
    if explain is not None:
        rates += f" · explain {explain[0]:.1f} FPS"
    lines = [rates,
             f"latency {stats.latency_p50_ms:.0f} ms p50 · {stats.latency_p95_ms:.0f} ms p95",
             f"{stats.frames_processed} frames · {stats.frames_dropped} dropped",
             f"{stats.model} · {device_key.upper()} {stats.precision}"]
    if explain is not None and explain[1]:
        lines.append(f"explain: {explain[1]}")
    if paused:
        lines.insert(0, "PAUSED (Space resumes)")
    return lines


class LiveController(QObject):
    """Wires the Live tab's panel to a ``LivePipeline``."""

    def __init__(self, ctx):
        super().__init__(ctx.parent)
        self.ctx = ctx
        ctx.runner.declare("live")
        self.panel = LivePanel(ctx.parent)
        self.session = LiveSession(gui_post(), self._started, self._start_failed, maps=_mosaic_of)
        self.source_spec = ("synthetic", "")
        self.weights = "pretrained"
        self.paused = False
        self.shown_results = 0  # results displayed (tests and the status read it)
        self.last_stats = None
        self._shown = None
        self._pending = None  # (source, spec) of a start waiting for the runner's imports
        self._mosaic_shown = 0
        self.explain_heat = None  # the newest explanation's RGBA heat map, laid over each picture shown
        self.explain_box = None  # the box it explains (a detector's)
        self._explain_count = 0
        self.explains_shown = 0  # explanations laid over the picture (tests read it)
        self._layers_shown: list[str] = []
        self._fault_shown = ""
        self._ended = False
        self.timer = QTimer(self)
        self.timer.setInterval(DISPLAY_INTERVAL_MS)
        self.timer.timeout.connect(self._tick)

        panel = self.panel
        panel.set_models(self._models(), default_model("synthetic"))
        ctx.model_shown.connect(self._offer_user_model)
        panel.source_chosen.connect(self.open_source)
        panel.restart_requested.connect(self.restart)
        panel.opacity_changed.connect(self._set_opacity)
        panel.threshold_changed.connect(self._set_threshold)
        panel.filter_changed.connect(lambda _t: self._redraw())
        panel.layer_chosen.connect(self.set_layer)
        panel.explain_toggled.connect(self.set_explain)
        panel.run_toggled.connect(lambda on: self.start() if on else self.stop())
        panel.pause_toggled.connect(self.set_paused)
        panel.snapshot_requested.connect(self.snapshot)
        panel.suggestion_chosen.connect(self._suggestion)
        ctx.classroom.theme_changed.connect(self.set_theme)
        ctx.classroom.font_scale_changed.connect(lambda _s: panel.fit_controls())
        self.set_theme(ctx.classroom.theme())
        ctx.runner.submit(lambda job: _cameras(), channel="live", supersede=False,
                          done=lambda _id, cameras: self.panel.set_cameras(cameras))

    def _models(self) -> list[tuple[str, str]]:
        """The zoo's live models, and the model the user brought when its task is one the live view runs."""
        from cnn_explorer.models.zoo.user import USER_SOURCES, user_entry

        current = self.ctx.session.current
        entry = user_entry(current.name) if current is not None else None
        extra = [(entry.name, entry.task)] if entry is not None and entry.source in USER_SOURCES \
            and entry.task in LIVE_TASKS else []
        return extra + live_models()

    def _offer_user_model(self, _name: str) -> None:
        chosen = self.panel.model
        models = self._models()
        if [m for m, _ in models] != [self.panel.model_combo.itemData(i) for i in range(self.panel.model_combo.count())
                                      if self.panel.model_combo.itemData(i)]:
            self.panel.set_models(models, chosen if chosen in dict(models) else default_model(self.source_spec[0]))

    @property
    def pipeline(self):
        return self.session.pipeline

    @property
    def tap(self):
        return self.session.tap

    @property
    def starting(self) -> bool:
        """A start is on its way: waiting for the runner's imports, or opening the source."""
        return self._pending is not None or self.session.starting

    def set_theme(self, theme: str) -> None:
        self.panel.set_theme(colors(theme).base)

    # -- the tab -------------------------------------------------------------------------------------------------
    def opened(self, first: bool) -> None:
        """The tab is shown (the docks step aside): the pipeline runs (unless stopped)."""
        self.panel.view.setFocus()
        if self.panel.run_button.isChecked() and self.pipeline is None and not self.starting:
            self.start()
        self.timer.start()

    def left(self) -> None:
        self.stop(keep_choice=True)
        self.timer.stop()
        self.ctx.hold_background(False)

    def shutdown(self) -> None:
        """The window closes: stop at once (threads that do not end within a moment are joined at exit)."""
        self.timer.stop()
        self.session.shutdown(CLOSE_TIMEOUT_S)

    # -- starting and stopping ---------------------------------------------------------------------------------
    def open_source(self, kind: str, value: str = "") -> None:
        previous_kind = self.source_spec[0]
        self.source_spec = (kind, value)
        if kind in ("video", "folder"):
            self.panel.show_source(kind, value)
        # the shapes detector goes with the synthetic source; SSDlite with the others
        if default_model(previous_kind) != default_model(kind) and self.panel.model == default_model(previous_kind):
            self.panel.select_model(default_model(kind))
        self.start()

    def restart(self) -> None:
        if self.pipeline is not None or self.starting or self.panel.run_button.isChecked():
            self.start()

    def start(self) -> None:
        """(Re)start the pipeline with the panel's choices; the source opens in a thread of its own."""
        self.stop(keep_choice=True)
        panel = self.panel
        panel.set_running(True)
        self._ended = False
        self._shown = None
        self._layers_shown = []
        size = panel.input_size
        spec = {"model": panel.model, "device": panel.device, "precision": panel.precision,
                "size": (size, size) if size else None, "weights": self.weights, "opacity": panel.opacity,
                "threshold": panel.threshold,
                # a CUDA graph replays the kernels without running Python: the feature-map hook would not fire
                "graphs": dict(self._models()).get(panel.model) != "classification"}
        panel.show_message("")
        panel.view.clear(f"Opening {self.source_spec[1] or self.source_spec[0]} and loading {spec['model']}…")
        panel.show_maps(False)
        self.session.maps_wanted = False
        self.session.explain_wanted = False  # until the first result says the model's task
        self.explain_heat, self._explain_count = None, 0
        self._pending = (self.source_spec, spec)
        # After the runner's imports (torch, the zoo's modules): two threads must not import them at once.
        self.ctx.runner.submit(lambda job: self._prepare(spec["model"]), channel="live",
                               done=lambda _id, devices: self._prepared(devices),
                               failed=lambda _id, error: self._prepared(["cpu"]))
        if not self.timer.isActive() and self.ctx.features.is_current("live"):
            self.timer.start()

    @staticmethod
    def _prepare(model: str) -> list[str]:
        """On the window's runner: torch, torchvision and the model's zoo module imported; the devices here."""
        from cnn_explorer.models.zoo.registry import get_entry

        get_entry(model)
        return available_devices()

    def _prepared(self, devices: list[str]) -> None:
        self.panel.set_devices(devices)
        pending, self._pending = self._pending, None
        if pending is not None:  # else stopped meanwhile
            self.session.start(*pending)

    def _started(self, pipeline) -> None:
        pass  # the timer shows it

    def _start_failed(self, message: str, suggestions) -> None:
        self._ended = True
        self.panel.set_running(False)
        self.panel.view.clear("No picture")
        self.panel.show_message(message, tuple(suggestions) + ("retry",))

    def stop(self, keep_choice: bool = False) -> None:
        """Stop the pipeline: its threads end in the background (flag and join, never killed)."""
        self._pending = None
        self.session.stop()
        if not keep_choice:
            self.panel.set_running(False)
            self.panel.view.set_hud([], "")
            self.panel.show_message("Stopped. Start runs the model again.", error=False)

    # -- on the GUI thread, at display rate ----------------------------------------------------------------------
    def _tick(self) -> None:
        pipeline = self.pipeline
        if pipeline is None:
            return
        self.ctx.hold_background(True)  # the zoo's parameter counting waits while the live view has the CPU
        stats = pipeline.stats()
        self.last_stats = stats
        panel = self.panel
        panel.view.set_hud(hud_lines(stats, panel.device, self.paused, self._explain_hud()),
                           self._weights_warning(pipeline))
        tap = self.tap
        if tap is not None and tap.layers and tap.layers != self._layers_shown:
            self._layers_shown = list(tap.layers)
            panel.set_layers(tap.layers, tap.layer)
            panel.show_maps(True)
            self.session.maps_wanted = True
        result = pipeline.latest()
        fresh_map = self._take_explain()
        if result is not None and (result is not self._shown or fresh_map) and not self.paused:
            self._show(result)
        mosaic = self.session.mosaic
        if mosaic is not None and mosaic[0] != self._mosaic_shown and not self.paused:
            self._mosaic_shown = mosaic[0]
            panel.set_mosaic(mosaic[1])
        self._show_fault(pipeline, stats)

    # -- Explain ---------------------------------------------------------------------------------------------------
    def set_explain(self, on: bool) -> None:
        self._sync_explain()
        if not on:
            if self.session.explainer is not None:
                self.session.explainer.drop()
            self.explain_heat = None
            self._redraw()

    def _sync_explain(self) -> None:
        """Explain runs while it is ticked and the model's task has a map (known from the first result)."""
        task = self._shown.task if self._shown is not None else None
        self.session.explain_wanted = self.panel.explain_check.isChecked() and task in EXPLAIN_TASKS

    def _take_explain(self) -> bool:
        """The explainer's newest map as the heat laid over the picture; True when it is new."""
        explainer = self.session.explainer
        if not self.session.explain_wanted or explainer is None or explainer.count == self._explain_count \
                or self.paused:
            return False
        self._explain_count = explainer.count
        found = explainer.latest
        self.explain_heat = heat_rgba(found.cam, EXPLAIN_OPACITY) if found is not None else None
        self.explain_box = found.box if found is not None else None
        return True

    def _explain_hud(self) -> tuple[float, str] | None:
        explainer = self.session.explainer
        if not self.session.explain_wanted or explainer is None:
            return None
        if explainer.error:
            return 0.0, explainer.error
        if not explainer.count:
            return 0.0, "loading the model's own copy…"
        found = explainer.latest
        return explainer.fps(), found.text() if found is not None else "no box above the threshold"

    def _weights_warning(self, pipeline) -> str:
        predictor = pipeline.predictor
        if predictor is None or predictor.weights != "random":
            return ""
        return f"random weights: {MEANINGLESS.get(predictor.task, 'boxes')} are meaningless"

    def _show_fault(self, pipeline, stats) -> None:
        error = pipeline.error
        if not pipeline.running:
            if not self._ended:
                self._ended = True
                self.panel.set_running(False)
                if error is not None:
                    text = str(error)
                    if "cannot be multiplied" in text and self.panel.input_size:  # a classifier's fixed head
                        text += f" — {self.panel.model} takes only its own input size: choose \"model's default\""
                    self.panel.show_message(text, tuple(error.suggestions) + ("retry",))
                else:
                    self.panel.show_message("The source has ended.", ("retry",), error=False)
            return
        text = ""
        if error is not None:
            camera = self.source_spec[0] == "camera"
            text = f"camera lost, reconnecting… ({error})" if camera else str(error)
        if text != self._fault_shown:
            self._fault_shown = text
            self.panel.show_message(text)

    def _show(self, result) -> None:
        new_task = self._shown is None or self._shown.task != result.task
        if new_task:
            self.panel.set_task(result.task)
        self._shown = result
        if new_task:
            self._sync_explain()
        self.panel.view.show_frame(self.frame_of(result))
        self.shown_results += 1
        self._legend(result)

    def _redraw(self) -> None:
        if self._shown is not None:
            self._show(self._shown)

    def _kept(self, result) -> np.ndarray:
        """Indices of the detections above the threshold and in the class filter."""
        keep = np.flatnonzero(result.scores >= self.panel.threshold)
        wanted = self.panel.class_filter()
        if wanted:
            keep = np.array([i for i in keep if result.name_of(int(result.labels[i])).lower() in wanted], dtype=int)
        return keep

    def frame_of(self, result) -> LiveFrame:
        image = result.overlay if result.overlay is not None else getattr(result, "image", None)
        if image is None:
            image = np.zeros((*result.frame_size, 3), np.uint8)
        colours = palette(black_background=False)
        detections = []
        if result.task in DETECTION_TASKS:
            for i in self._kept(result):
                label = int(result.labels[i])
                detections.append(Detection(tuple(float(v) for v in result.boxes[i]),
                                            f"{result.name_of(label)} {result.scores[i]:.2f}",
                                            tuple(int(c) for c in colours[label % 256]),
                                            result.keypoints[i] if result.keypoints is not None else None))
        caption = ""
        if result.top:
            _, name, p = result.top[0]
            caption = f"{name} {100 * p:.0f}%"
            if self.source_spec[0] == "synthetic":  # a scene of many shapes, where a classifier names one thing
                caption += (" · it learned one shape per image; this scene has many" if "shapes" in self.panel.model
                            else " · one class for the whole scene")
        explain = self.explain_heat if self.session.explain_wanted else None
        if explain is not None:
            self.explains_shown += 1
        return LiveFrame(image, detections, caption, explain, self.explain_box if explain is not None else None)

    def _legend(self, result) -> None:
        colours = palette(black_background=result.task not in DETECTION_TASKS)
        if result.task in DETECTION_TASKS:
            counts: dict[int, int] = {}
            for i in self._kept(result):
                counts[int(result.labels[i])] = counts.get(int(result.labels[i]), 0) + 1
            rows = [(tuple(colours[k % 256]), f"{result.name_of(k)} × {n}") for k, n in
                    sorted(counts.items(), key=lambda kv: -kv[1])[:12]]
            self.panel.set_legend(rows, "Found")
        elif result.task == "semantic_segmentation":
            total = max(1, result.class_map.size) if result.class_map is not None else 1
            rows = []
            for name, count in list(result.classes_present().items())[:12]:
                index = result.categories.index(name) if name in result.categories else 0
                rows.append((tuple(colours[index % 256]), f"{name} {100 * count / total:.0f}%"))
            self.panel.set_legend(rows, "Classes in the picture")
        else:
            self.panel.set_legend([(None, f"{name}: {100 * p:.1f}%") for _, name, p in result.top], "Top-5")

    # -- live settings -----------------------------------------------------------------------------------------
    def _set_threshold(self, value: float) -> None:
        """The view filters the shown result at once; the model drops weaker boxes from its next frame on (a
        detector kept every box at threshold 0: 100 masks a frame for Mask R-CNN, and an overlay of them all)."""
        predictor = self.pipeline.predictor if self.pipeline is not None else None
        if predictor is not None:
            predictor.score_threshold = float(value)
        if self.session.explainer is not None:
            self.session.explainer.threshold = float(value)  # its next map explains the strongest box above it
        self._redraw()

    def _set_opacity(self, value: float) -> None:
        predictor = self.pipeline.predictor if self.pipeline is not None else None
        if predictor is not None:
            predictor.opacity = float(value)  # read by the inference thread at its next frame

    def set_layer(self, layer: str) -> None:
        if self.tap is not None and layer:
            self.tap.layer = layer

    def set_paused(self, paused: bool) -> None:
        self.paused = paused
        self.panel.set_paused(paused)

    def _suggestion(self, key: str) -> None:
        panel = self.panel
        if key == "cpu":
            panel.select(panel.device_combo, "cpu")
            panel.select(panel.precision_combo, "fp32")
        elif key in ("fp32", "fp16", "bf16"):
            panel.select(panel.precision_combo, key)
        elif key == "smaller input":
            current = panel.input_size or 640
            smaller = [s for s in INPUT_SIZES if 0 < s < current]
            panel.select(panel.size_combo, smaller[-1] if smaller else INPUT_SIZES[1])
        self.start()

    def snapshot(self, path: str) -> None:
        target = Path(path)
        image = self.panel.view.render_image()
        try:
            check_writable(target)
            if image is None:
                raise OSError(f"cannot write {target}: there is no picture yet")
            with staged_output(target) as partial:
                write_png(image, partial)
        except OSError as error:
            self.panel.show_message(str(error))
            return
        self.panel.show_message(f"Saved {target}", error=False)
