"""The Live view's controller: wires the ``LivePanel`` (``widgets/live/panel.py``) to a ``LivePipeline``
(``models/live``): a frame source, a capture thread and an inference thread that builds the model itself.

The GUI thread only displays: a timer at display rate reads the pipeline's newest result and its figures
(``latest()``, ``stats()``, never a blocking call). Opening the source and starting the pipeline run in a
short-lived thread (a camera can take a second to open); stopping sets the pipeline's flag and joins its
threads in another (closing the window waits at most a fraction of a second). For a classifier, a forward
hook on the chosen convolution keeps its output in the inference thread, and the mosaic of its feature maps
is made there too (``app/lab_jobs.make_mosaic``, numpy only); the timer shows the newest one.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
from importlib import resources
from pathlib import Path

import numpy as np
from cnn_explorer.app.window.gui_thread import gui_post
from cnn_explorer.models.live.draw import palette
from cnn_explorer.widgets.common.files import check_writable, staged_output
from cnn_explorer.widgets.common.picture import write_png
from cnn_explorer.widgets.live.panel import INPUT_SIZES, Detection, LiveFrame, LivePanel
from cnn_explorer.widgets.common.theme import colors
from PySide6.QtCore import QEvent, QObject, QTimer

log = logging.getLogger(__name__)

LIVE_TASKS = ("detection", "instance_segmentation", "keypoints", "semantic_segmentation", "classification")
DETECTION_TASKS = LIVE_TASKS[:3]
DEFAULT_MODEL = "ssdlite320_mobilenet_v3_large"
SHAPES_MODEL = "shapes_yolo"  # a detector trained on the synthetic source's shapes, where the zoo has it
DISPLAY_INTERVAL_MS = 33
MAPS_INTERVAL_S = 0.12  # live feature maps: at most about 8 a second (the mosaic costs more than a frame)
CLOSE_TIMEOUT_S = 0.15
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


def make_source(kind: str, value: str):
    """A frame source, not opened yet (``SourceError`` for a bad one)."""
    from cnn_explorer.models.live.sources import CameraSource, FolderSource, SyntheticSource, VideoSource

    if kind == "synthetic":
        return SyntheticSource(width=640, height=480, fps=30.0)
    if kind == "camera":
        return CameraSource(int(value))
    if kind == "folder":
        return FolderSource(value, fps=5.0, loop=True)
    return VideoSource(value, loop=True)


def available_devices() -> list[str]:
    import torch

    found = ["cpu"]
    if torch.cuda.is_available():
        found.append("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        found.append("mps")
    return found


class FeatureTap:
    """Keeps the output of one convolution of a classifier (the live feature maps): forward hooks on every
    ``Conv2d``, which copy the chosen layer's output at most every ``interval`` seconds. Runs in the inference
    thread; ``layer`` may be changed from any thread (a string assignment)."""

    def __init__(self, layer: str = "", interval: float = MAPS_INTERVAL_S):
        self.layer = layer
        self.interval = interval
        self.layers: list[str] = []
        self.values: np.ndarray | None = None  # C×H×W float32
        self.values_layer = ""
        self.count = 0
        self._last = 0.0

    def attach(self, model) -> None:
        from torch import nn

        for name, module in model.named_modules():
            if isinstance(module, nn.Conv2d):
                self.layers.append(name)
                module.register_forward_hook(lambda m, i, o, name=name: self._hook(name, o))
        if self.layer not in self.layers and self.layers:
            self.layer = self.layers[0]  # the first layer: edges and colours, what a class recognizes

    def _hook(self, name: str, output) -> None:
        if name != self.layer or output.dim() != 4:
            return
        now = time.perf_counter()
        if now - self._last < self.interval:
            return
        self._last = now
        self.values = np.ascontiguousarray(output[0].detach().float().cpu().numpy())
        self.values_layer = name
        self.count += 1


_STOPPING: set = set()  # pipelines whose threads may outlive the window: joined before the interpreter ends


@atexit.register
def _join_stopping() -> None:
    for pipeline in list(_STOPPING):
        pipeline.stop(10.0)  # a forward pass cut off by the interpreter's end aborts the process


def _stop_later(pipeline) -> None:
    """Stop ``pipeline`` in a thread of its own (a forward pass may take a while to end)."""
    _STOPPING.add(pipeline)

    def run() -> None:
        if pipeline.stop():
            _STOPPING.discard(pipeline)

    threading.Thread(target=run, name="cnn-explorer-live-stop", daemon=True).start()


def _live_predictor(*args, **kwargs):
    """A ``Predictor`` whose results carry the frame they were made from (what the view draws on)."""
    from cnn_explorer.models.live.predictor import Predictor

    class LivePredictor(Predictor):
        def __call__(self, image):
            result = super().__call__(image)
            result.image = image
            return result

    return LivePredictor(*args, **kwargs)


def hud_lines(stats, device_key: str, paused: bool) -> list[str]:
    if stats.warming_up or not stats.model:
        return [f"{stats.model or 'the model'}: loading and warming up…", stats.source]
    lines = [f"camera {stats.camera_fps:.0f} FPS · model {stats.inference_fps:.1f} FPS",
             f"latency {stats.latency_p50_ms:.0f} ms p50 · {stats.latency_p95_ms:.0f} ms p95",
             f"{stats.frames_processed} frames · {stats.frames_dropped} dropped",
             f"{stats.model} · {device_key.upper()} {stats.precision}"]
    if paused:
        lines.insert(0, "PAUSED (Space resumes)")
    return lines


class LiveController(QObject):
    """Wires the Live tab's panel to a ``LivePipeline``."""

    def __init__(self, window, tab=None):
        super().__init__(window)
        self.window = window
        self.tab = tab
        self.panel = LivePanel(window)
        self.pipeline = None
        self.tap: FeatureTap | None = None
        self.source_spec = ("synthetic", "")
        self.weights = "pretrained"
        self.paused = False
        self.shown_results = 0  # results displayed (tests and the status read it)
        self.last_stats = None
        self._generation = 0
        self._starting = False
        self._shown = None
        self._mosaic = None  # (count, MosaicData) made in the inference thread
        self._mosaic_shown = 0
        self._layers_shown: list[str] = []
        self._fault_shown = ""
        self._ended = False
        self._post = gui_post()
        self.timer = QTimer(self)
        self.timer.setInterval(DISPLAY_INTERVAL_MS)
        self.timer.timeout.connect(self._tick)

        panel = self.panel
        panel.set_models(live_models(), default_model("synthetic"))
        panel.source_chosen.connect(self.open_source)
        panel.restart_requested.connect(self.restart)
        panel.opacity_changed.connect(self._set_opacity)
        panel.threshold_changed.connect(self._set_threshold)
        panel.filter_changed.connect(lambda _t: self._redraw())
        panel.layer_chosen.connect(self.set_layer)
        panel.run_toggled.connect(lambda on: self.start() if on else self.stop())
        panel.pause_toggled.connect(self.set_paused)
        panel.snapshot_requested.connect(self.snapshot)
        panel.suggestion_chosen.connect(self._suggestion)
        classroom = getattr(window, "classroom", None)
        if classroom is not None:
            classroom.theme_changed.connect(self.set_theme)
            classroom.font_scale_changed.connect(lambda _s: panel.fit_controls())
            self.set_theme(classroom.theme())
        window.installEventFilter(self)
        threading.Thread(target=self._probe, name="cnn-explorer-live-probe", daemon=True).start()

    # -- the machine: cameras and devices, found off the GUI thread --------------------------------------------
    def _probe(self) -> None:
        try:
            from cnn_explorer.models.live.sources import list_cameras

            cameras = [(c.index, c.name) for c in list_cameras()]
        except Exception as error:  # noqa: BLE001 - no camera list is no reason to fail
            log.warning("listing cameras failed: %s", error)
            cameras = []
        self._post(lambda: self.panel.set_cameras(cameras))

    def set_theme(self, theme: str) -> None:
        self.panel.set_theme(colors(theme).base)

    # -- the tab -------------------------------------------------------------------------------------------------
    def enter(self) -> None:
        """The tab is shown (its docks hidden by the tab, app/live/tab.py): the pipeline runs (unless stopped)."""
        self.panel.view.setFocus()
        if self.panel.run_button.isChecked() and self.pipeline is None and not self._starting:
            self.start()
        self.timer.start()

    def leave(self) -> None:
        self.stop(keep_choice=True)
        self.timer.stop()
        counter = getattr(self.window, "param_counter", None)
        loading = getattr(self.window, "is_loading", lambda: False)()
        if counter is not None and not loading:
            counter.resume()

    def eventFilter(self, watched, event) -> bool:  # noqa: N802
        if watched is self.window and event.type() == QEvent.Close:
            self.shutdown()
        return False

    def shutdown(self) -> None:
        """The window closes: stop at once (threads that do not end within a moment are daemons)."""
        self.timer.stop()
        self._generation += 1
        pipeline, self.pipeline = self.pipeline, None
        if pipeline is not None:
            _STOPPING.add(pipeline)
            if pipeline.stop(CLOSE_TIMEOUT_S):
                _STOPPING.discard(pipeline)

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
        if self.pipeline is not None or self._starting or self.panel.run_button.isChecked():
            self.start()

    def start(self) -> None:
        """(Re)start the pipeline with the panel's choices; the source opens in a thread of its own."""
        self.stop(keep_choice=True)
        panel = self.panel
        panel.set_running(True)
        self._generation += 1
        generation = self._generation
        self._starting = True
        self._ended = False
        self._shown = None
        self._mosaic = None
        self._layers_shown = []
        self.tap = FeatureTap(self.tap.layer if self.tap else "")
        size = panel.input_size
        spec = {"model": panel.model, "device": panel.device, "precision": panel.precision,
                "size": (size, size) if size else None, "weights": self.weights, "opacity": panel.opacity,
                "threshold": panel.threshold,
                # a CUDA graph replays the kernels without running Python: the feature-map hook would not fire
                "graphs": dict(live_models()).get(panel.model) != "classification"}
        panel.show_message("")
        panel.view.clear(f"Opening {self.source_spec[1] or self.source_spec[0]} and loading {spec['model']}…")
        panel.show_maps(False)
        args = (generation, self.source_spec, spec, self.tap)
        runner = getattr(self.window, "runner", None)
        if runner is None:
            self._launch(*args)
        else:  # after the runner's imports (torch, the zoo's modules): two threads must not import them at once
            runner.submit(lambda job: self._prepare(spec["model"]), channel="live",
                          done=lambda _id, devices: self._prepared(devices, args),
                          failed=lambda _id, error: self._prepared(["cpu"], args))
        if self.timer.isActive() is False and (self.tab is None or self.tab.is_current()):
            self.timer.start()

    @staticmethod
    def _prepare(model: str) -> list[str]:
        """On the window's runner: torch, torchvision and the model's zoo module imported; the devices here."""
        from cnn_explorer.models.zoo.registry import get_entry

        get_entry(model)
        return available_devices()

    def _prepared(self, devices: list[str], args) -> None:
        self.panel.set_devices(devices)
        self._launch(*args)

    def _launch(self, generation: int, source_spec, spec: dict, tap: FeatureTap) -> None:
        if generation != self._generation:
            return
        threading.Thread(target=self._start_thread, args=(generation, source_spec, spec, tap),
                         name="cnn-explorer-live-start", daemon=True).start()

    def _start_thread(self, generation: int, source_spec, spec: dict, tap: FeatureTap) -> None:
        from cnn_explorer.models.live.errors import LiveError
        from cnn_explorer.models.live.pipeline import LivePipeline

        def factory():
            predictor = _live_predictor(spec["model"], device=spec["device"], precision=spec["precision"],
                                        size=spec["size"], weights=spec["weights"],
                                        score_threshold=spec["threshold"], opacity=spec["opacity"],
                                        cuda_graphs=spec["graphs"])
            if predictor.task == "classification":
                tap.attach(predictor.model)
            return predictor

        try:
            source = make_source(*source_spec)
            pipeline = LivePipeline(source, factory, on_result=lambda r: self._on_result(generation, tap, r))
            pipeline.start()
        except LiveError as error:
            message, suggestions = str(error), error.suggestions
            self._post(lambda: self._start_failed(generation, message, suggestions))
            return
        except Exception as error:  # noqa: BLE001 - a message, never a traceback
            log.exception("starting the live view failed")
            message = f"{type(error).__name__}: {error}"
            self._post(lambda: self._start_failed(generation, message, ()))
            return
        self._post(lambda: self._started(generation, pipeline))

    def _started(self, generation: int, pipeline) -> None:
        if generation != self._generation:  # stopped or restarted meanwhile
            _stop_later(pipeline)
            return
        self._starting = False
        self.pipeline = pipeline

    def _start_failed(self, generation: int, message: str, suggestions) -> None:
        if generation != self._generation:
            return
        self._starting = False
        self._ended = True
        self.panel.set_running(False)
        self.panel.view.clear("No picture")
        self.panel.show_message(message, tuple(suggestions) + ("retry",))

    def stop(self, keep_choice: bool = False) -> None:
        """Stop the pipeline: its threads end in the background (flag and join, never killed)."""
        self._generation += 1
        self._starting = False
        pipeline, self.pipeline = self.pipeline, None
        if pipeline is not None:
            _stop_later(pipeline)
        if not keep_choice:
            self.panel.set_running(False)
            self.panel.view.set_hud([], "")
            self.panel.show_message("Stopped. Start runs the model again.", error=False)

    # -- in the inference thread ----------------------------------------------------------------------------------
    def _on_result(self, generation: int, tap: FeatureTap, result) -> None:
        # the GUI thread imports widgets.mosaic (pyqtgraph) first, when it shows the maps' box
        if self.panel.mosaic is not None and tap.values is not None and tap.count != (self._mosaic[0] if self._mosaic else 0):
            from cnn_explorer.app.lab.jobs import make_mosaic

            count, values, layer = tap.count, tap.values, tap.values_layer
            c, h, w = values.shape
            data = make_mosaic(values, layer, f"{layer} · {c} channels of {h}×{w}")
            if generation == self._generation:
                self._mosaic = (count, data)

    # -- on the GUI thread, at display rate ----------------------------------------------------------------------
    def _tick(self) -> None:
        pipeline = self.pipeline
        if pipeline is None:
            return
        counter = getattr(self.window, "param_counter", None)
        if counter is not None:  # the zoo's parameter counting waits while the live view has the CPU
            counter.pause()
        stats = pipeline.stats()
        self.last_stats = stats
        panel = self.panel
        panel.view.set_hud(hud_lines(stats, panel.device, self.paused), self._weights_warning(pipeline))
        tap = self.tap
        if tap is not None and tap.layers and tap.layers != self._layers_shown:
            self._layers_shown = list(tap.layers)
            panel.set_layers(tap.layers, tap.layer)
            panel.show_maps(True)
        result = pipeline.latest()
        if result is not None and result is not self._shown and not self.paused:
            self._show(result)
        mosaic = self._mosaic
        if mosaic is not None and mosaic[0] != self._mosaic_shown and not self.paused:
            self._mosaic_shown = mosaic[0]
            panel.set_mosaic(mosaic[1])
        self._show_fault(pipeline, stats)

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
        if self._shown is None or self._shown.task != result.task:
            self.panel.set_task(result.task)
        self._shown = result
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
        return LiveFrame(image, detections, caption)

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
