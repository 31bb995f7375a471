"""The live view's explanation ("Explain"): a heat map of what made the model's answer, remade from the camera
at a reduced rate, as the Deep Visualization Toolbox did with its live backprop. No Qt.

For a classifier it is Grad-CAM of the top class (the lab's ``attribution.grad_cam``, Captum's
``LayerGradCam`` at the last convolution with a spatial map); for a detector, the map of the strongest box (the
lab's ``explain.box_cam``: HiResCAM of that box's score, e.g. the shapes YOLO's). Both are the lab's own code
on a ``LabModel`` of the explainer's own copy of the model: a backward pass needs gradients, which the live
predictor's model (inference mode, frozen, perhaps a CUDA graph) does not give, and two threads must not share
one module.

``LiveExplainer`` runs in a thread of its own, never on the capture's or the inference's path: the inference
thread only ``offer``s each result's frame (a reference kept, nothing copied or queued); the explainer takes
the newest frame when it is free, so stale frames are dropped. It rests between maps so that it takes at most
``DUTY`` of one core (``INTERVAL_S`` at least between maps): the picture keeps its rate on a two-core machine.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from dataclasses import dataclass

import numpy as np

log = logging.getLogger(__name__)

INTERVAL_S = 0.2  # at most 5 maps a second
DUTY = 0.35  # rest so that a map's work is at most this share of the explainer's time
MAX_REST_S = 1.0  # the longest rest between maps (a busy moment of the machine must not freeze the map)
MAP_WIDTH = 160  # the heat image's width: a CAM is coarse, the view smooths it when it scales it up


@dataclass
class ExplainMap:
    """One explanation of one frame."""

    frame_index: int
    frame_size: tuple[int, int]  # (H, W) of the frame explained
    cam: np.ndarray  # h×w float32 in 0…1, over the whole frame (its aspect kept), h ≤ MAP_WIDTH wide
    method: str  # "Grad-CAM" or "HiResCAM"
    what: str  # what it explains: "circle" (a class) or "box circle 0.93"
    box: tuple[float, float, float, float] | None = None  # the explained box, in the frame's pixels
    seconds: float = 0.0

    def text(self) -> str:
        return f"{self.method} of {self.what}"


def _small(cam: np.ndarray, frame_size: tuple[int, int]) -> np.ndarray:
    """``cam`` resized to the frame's aspect at MAP_WIDTH wide, scaled to 0…1 (its own maximum: a live map is
    read for where, not for how much)."""
    import cv2

    h, w = frame_size
    width = min(MAP_WIDTH, w)
    height = max(1, round(h * width / w))
    cam = cv2.resize(np.asarray(cam, np.float32), (width, height), interpolation=cv2.INTER_AREA)
    cam = np.maximum(cam, 0)
    top = float(cam.max())
    return (cam / top if top > 0 else cam).astype(np.float32)


def explain_frame(lab, image: np.ndarray, threshold: float = 0.5) -> ExplainMap | None:
    """The explanation of ``image`` (H×W×3 uint8, a camera frame) by ``lab``'s model: Grad-CAM of a classifier's
    top class, or the map of a detector's strongest box at ``threshold``; None when the detector finds no box."""
    import cv2

    from cnn_explorer.models.lab.errors import LabError

    start = time.perf_counter()
    h, w = image.shape[:2]
    if lab.entry.task == "detection":
        from cnn_explorer.models.lab.explain import box_cam

        try:
            result = box_cam(lab, image, box=0, threshold=threshold)  # box 0: detect's best-scored box
        except LabError as error:
            if "found no box" in str(error):
                return None
            raise
        chosen = result.chosen
        return ExplainMap(-1, (h, w), _small(result.cam, (h, w)), "HiResCAM",
                          f"box {chosen.name} {chosen.score:.2f}", chosen.box, time.perf_counter() - start)
    if lab.entry.task != "classification":
        raise LabError(f"{lab.entry.name} is a {lab.entry.task.replace('_', ' ')} model: the live explanation "
                       "maps a classifier's class or a detector's box")
    from cnn_explorer.models.lab.attribution import grad_cam

    # The frame squashed to the input, as the live predictor feeds it (the lab's own preprocessing would crop
    # the centre): the map then lies over the whole frame.
    size = tuple(lab.entry.input_size)
    squashed = cv2.resize(image, (size[1], size[0]), interpolation=cv2.INTER_AREA)
    result = grad_cam(lab, squashed)
    return ExplainMap(-1, (h, w), _small(result.heatmap, (h, w)), "Grad-CAM", result.target_name, None,
                      time.perf_counter() - start)


def heat_rgba(cam: np.ndarray, opacity: float) -> np.ndarray:
    """``cam`` (h×w in 0…1) as an h×w×4 uint8 RGBA heat image: OpenCV's jet colours, each pixel as opaque as
    ``opacity`` × its value, so that the picture shows where the map is cold."""
    import cv2

    value = np.clip(cam * 255.0, 0, 255).astype(np.uint8)
    rgb = cv2.cvtColor(cv2.applyColorMap(value, cv2.COLORMAP_JET), cv2.COLOR_BGR2RGB)
    alpha = np.clip(np.sqrt(cam) * (255.0 * opacity), 0, 255).astype(np.uint8)  # √: the warm half is seen
    return np.ascontiguousarray(np.dstack([rgb, alpha]))


class LiveExplainer:
    """Explains the newest frame it was offered, in its own thread, at a reduced rate (see the module).

    ``model``, ``device`` and ``weights`` name the live model; the explainer loads its own copy when it is
    first offered a frame. ``latest`` is the newest ``ExplainMap`` (None when the last frame had no box);
    ``count`` the maps made; ``error`` a one-line fault that ended it."""

    def __init__(self, model: str, device: str = "cpu", weights: str = "pretrained", threshold: float = 0.5,
                 interval: float = INTERVAL_S, duty: float = DUTY):
        self.model, self.device, self.weights = model, device, weights
        self.threshold = threshold  # the live view's score threshold (set from the GUI's thread)
        self.interval, self.duty = interval, duty
        self.latest: ExplainMap | None = None
        self.count = 0
        self.error: str | None = None
        self.busy = False  # a map is being made
        self._cost: float | None = None  # a map's usual seconds
        self._pending: tuple[np.ndarray, int] | None = None
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._done: collections.deque[float] = collections.deque(maxlen=20)

    def offer(self, image: np.ndarray, frame_index: int = -1) -> None:
        """A new frame (from the inference thread): replaces one not yet taken; starts the thread at first."""
        if self._stop.is_set() or self.error is not None:
            return
        with self._cond:
            self._pending = (image, frame_index)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="cnn-explorer-live-explain", daemon=True)
                self._thread.start()
            self._cond.notify_all()

    def drop(self) -> None:
        """Forget the frame not yet taken (Explain turned off: no map is made after the one in progress)."""
        with self._cond:
            self._pending = None

    def fps(self) -> float:
        """Maps a second over the last few (0 once none came for 5 s)."""
        done = list(self._done)
        if len(done) < 2 or time.perf_counter() - done[-1] > 5.0:
            return 0.0
        return (len(done) - 1) / max(done[-1] - done[0], 1e-9)

    def stop(self, timeout: float = 10.0) -> bool:
        """Flag and join (a map in progress ends first). True when the thread has ended."""
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        return thread is None or not thread.is_alive()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _rest(self, spent: float) -> float:
        """Seconds to rest after a map that took ``spent``: the duty cycle over the maps' usual cost (a running
        mean that leaves out the first map, which pays the lazy imports and the first backward pass: 12 s
        once, which rested the explainer 23 s), at most MAX_REST_S."""
        if self.count > 1:
            self._cost = spent if self._cost is None else 0.7 * self._cost + 0.3 * spent
        cost = self._cost if self._cost is not None else 0.0
        return min(MAX_REST_S, max(self.interval - spent, cost * (1.0 / self.duty - 1.0)))

    def _load(self):
        import torch

        from cnn_explorer.models.lab.activations import LabModel
        from cnn_explorer.models.live.devices import resolve_device
        from cnn_explorer.models.zoo.loader import load_model

        loaded = load_model(self.model, weights=self.weights)
        loaded.model = loaded.model.to(resolve_device(self.device)).eval()
        torch.set_num_threads(1)  # this thread's own setting: one core at most, the other is the picture's
        return LabModel(loaded)

    def _run(self) -> None:
        from cnn_explorer.models.live.errors import one_line

        try:
            lab = self._load()
            while not self._stop.is_set():
                with self._cond:
                    self._cond.wait_for(lambda: self._pending is not None or self._stop.is_set(), 0.5)
                    taken, self._pending = self._pending, None
                    self.busy = taken is not None
                if taken is None or self._stop.is_set():
                    continue
                image, index = taken
                start = time.perf_counter()
                found = explain_frame(lab, image, self.threshold)
                spent = time.perf_counter() - start
                if found is not None:
                    found.frame_index = index
                self.latest = found
                self.count += 1
                self._done.append(time.perf_counter())
                self.busy = False
                self._stop.wait(self._rest(spent))
        except Exception as error:  # noqa: BLE001 - reported in the HUD, never lost with the thread
            log.exception("the live explanation failed")
            self.error = f"explain failed: {type(error).__name__}: {one_line(error)[:200]}"
