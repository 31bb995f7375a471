"""The live session: the one running ``LivePipeline`` of a Live view, and every thread that serves it. No Qt.

``start`` opens the source and starts the pipeline in a short-lived thread (a camera can take a second to
open); ``stop`` sets the pipeline's flag and joins its threads in another (a forward pass may take a while to
end); ``shutdown`` stops at once and waits a moment. Each start has a generation: the outcome of a start that a
later start or stop overtook is stopped, never shown. Pipelines still stopping when the interpreter ends are
joined then (a forward pass cut off by the interpreter's end aborts the process): ``release_all``, at exit.

For a classifier, ``FeatureTap`` keeps the output of the chosen convolution in the inference thread, and
``maps(values, layer)`` (the consumer's function, numpy only) turns it into the mosaic there too, only while
``maps_wanted`` is set; the consumer reads the newest one (``mosaic``).

While ``explain_wanted`` is set, the inference thread offers each result's frame to the start's
``LiveExplainer`` (models/live/explain.py), which makes its heat map in a thread of its own, on the newest
frame only; the consumer reads ``explainer.latest``.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
import weakref
from typing import Callable

import numpy as np

log = logging.getLogger(__name__)

MAPS_INTERVAL_S = 0.12  # live feature maps: at most about 8 a second (the mosaic costs more than a frame)
_SESSIONS: "weakref.WeakSet[LiveSession]" = weakref.WeakSet()


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


def live_predictor(*args, **kwargs):
    """A ``Predictor`` whose results carry the frame they were made from (what the view draws on)."""
    from cnn_explorer.models.live.predictor import Predictor

    class LivePredictor(Predictor):
        def __call__(self, image):
            result = super().__call__(image)
            result.image = image
            return result

    return LivePredictor(*args, **kwargs)


class LiveSession:
    """One pipeline at a time. ``post(fn)`` runs ``fn`` on the consumer's thread (the GUI's), where
    ``on_started(pipeline)`` and ``on_failed(message, suggestions)`` are then called for the current start."""

    def __init__(self, post: Callable[[Callable[[], None]], None], on_started, on_failed,
                 maps: Callable[[np.ndarray, str], object] | None = None):
        self._post, self._on_started, self._on_failed, self._maps = post, on_started, on_failed, maps
        self.pipeline = None
        self.tap: FeatureTap | None = None
        self.maps_wanted = False  # set by the consumer: make the mosaic in the inference thread
        self.mosaic: tuple[int, object] | None = None  # (the tap's count, what ``maps`` made)
        self.explain_wanted = False  # set by the consumer: the explainer maps the newest frames
        self.explainer = None  # this start's LiveExplainer (its thread starts with the first frame offered)
        self._generation = 0
        self.starting = False  # a start is opening the source: nothing to show yet
        self._stopping: set = set()  # pipelines whose threads are being joined
        self._lock = threading.Lock()
        _SESSIONS.add(self)

    def start(self, source_spec: tuple[str, str], spec: dict) -> int:
        """(Re)start with ``spec`` (model, device, precision, size, weights, threshold, opacity, graphs); the
        tap keeps the layer it had. Returns the start's generation."""
        self.stop()
        generation = self._generation
        self.starting = True
        self.mosaic = None
        self.tap = FeatureTap(self.tap.layer if self.tap else "")
        from cnn_explorer.models.live.explain import LiveExplainer

        self.explainer = LiveExplainer(spec["model"], spec["device"], spec["weights"], spec["threshold"])
        threading.Thread(target=self._start_thread, args=(generation, source_spec, spec, self.tap, self.explainer),
                         name="cnn-explorer-live-start", daemon=True).start()
        return generation

    def _start_thread(self, generation: int, source_spec, spec: dict, tap: FeatureTap, explainer) -> None:
        from cnn_explorer.models.live.errors import LiveError
        from cnn_explorer.models.live.pipeline import LivePipeline

        def factory():
            predictor = live_predictor(spec["model"], device=spec["device"], precision=spec["precision"],
                                       size=spec["size"], weights=spec["weights"],
                                       score_threshold=spec["threshold"], opacity=spec["opacity"],
                                       cuda_graphs=spec["graphs"])
            if predictor.task == "classification":
                tap.attach(predictor.model)
            return predictor

        try:
            source = make_source(*source_spec)
            pipeline = LivePipeline(source, factory, on_result=lambda result: self._after(generation, tap, explainer,
                                                                                             result))
            pipeline.start()
        except LiveError as error:
            message, suggestions = str(error), tuple(error.suggestions)
            self._post(lambda: self._failed(generation, message, suggestions))
            return
        except Exception as error:  # noqa: BLE001 - a message, never a traceback
            log.exception("starting the live view failed")
            message = f"{type(error).__name__}: {error}"
            self._post(lambda: self._failed(generation, message, ()))
            return
        self._post(lambda: self._started(generation, pipeline))

    def _started(self, generation: int, pipeline) -> None:
        if generation != self._generation:  # stopped or restarted meanwhile
            self._stop_later(pipeline)
            return
        self.starting = False
        self.pipeline = pipeline
        self._on_started(pipeline)

    def _failed(self, generation: int, message: str, suggestions) -> None:
        if generation == self._generation:
            self.starting = False
            self._on_failed(message, suggestions)

    def _after(self, generation: int, tap: FeatureTap, explainer, result) -> None:
        """In the inference thread, after each result: the maps' mosaic, and the frame offered to the explainer
        (a reference handed over: the explanation runs in the explainer's own thread)."""
        self._maps_of(generation, tap)
        if self.explain_wanted and generation == self._generation and getattr(result, "image", None) is not None:
            explainer.offer(result.image, result.frame_index)

    def _maps_of(self, generation: int, tap: FeatureTap) -> None:
        """In the inference thread, after each result: the mosaic of the tap's newest maps, when wanted."""
        if (not self.maps_wanted or self._maps is None or tap.values is None
                or tap.count == (self.mosaic[0] if self.mosaic else 0)):
            return
        count, values, layer = tap.count, tap.values, tap.values_layer
        data = self._maps(values, layer)
        if generation == self._generation:
            self.mosaic = (count, data)

    def stop(self) -> None:
        """Stop the pipeline: its threads end in the background (flag and join, never killed)."""
        self._generation += 1
        self.starting = False
        pipeline, self.pipeline = self.pipeline, None
        if pipeline is not None:
            self._stop_later(pipeline)
        explainer, self.explainer = self.explainer, None
        if explainer is not None:
            self._stop_later(explainer)

    def _stop_later(self, pipeline) -> None:
        """``pipeline``: a LivePipeline or a LiveExplainer (``stop(timeout) -> ended``)."""
        with self._lock:
            self._stopping.add(pipeline)

        def run() -> None:
            if pipeline.stop():
                with self._lock:
                    self._stopping.discard(pipeline)

        threading.Thread(target=run, name="cnn-explorer-live-stop", daemon=True).start()

    def shutdown(self, timeout: float) -> None:
        """Stop at once, waiting ``timeout`` seconds at most (threads that take longer are joined at exit)."""
        self._generation += 1
        pipeline, self.pipeline = self.pipeline, None
        explainer, self.explainer = self.explainer, None
        for running in (explainer, pipeline):
            if running is not None:
                with self._lock:
                    self._stopping.add(running)
                if running.stop(timeout):
                    with self._lock:
                        self._stopping.discard(running)

    def release(self, timeout: float = 10.0) -> None:
        """Join every pipeline still stopping."""
        with self._lock:
            stopping = list(self._stopping)
        for pipeline in stopping:
            if pipeline.stop(timeout):
                with self._lock:
                    self._stopping.discard(pipeline)


@atexit.register
def release_all() -> None:
    for session in list(_SESSIONS):
        session.release()
