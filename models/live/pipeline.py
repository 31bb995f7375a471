"""The live pipeline: a capture thread that keeps only the newest frame, and an inference thread that owns the
model and the device. Whoever shows the results (the Live view, the benchmark) only reads ``latest()`` and
``stats()``, or is called back with each result (``on_result``, from the inference thread: a GUI posts it to
its own thread). No Qt.

    with LivePipeline(SyntheticSource(), Predictor("ssdlite320_mobilenet_v3_large")) as live:
        result = live.wait_result(timeout=10)
        print(live.stats())

``start()`` opens the source in the caller's thread (a missing camera or file is an immediate
``SourceError``), warms the model up in the inference thread on a frame of the source's size, then starts the
capture. ``stop()`` sets a flag and joins both threads; the capture thread releases the source. Faults (a
source that fails, CUDA out of memory) end the pipeline with ``error`` set; they are never lost with a thread.
"""

from __future__ import annotations

import collections
import ctypes
import logging
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Callable

import numpy as np
import torch

from cnn_explorer.models.live.capture import CaptureThread, OwnThread
from cnn_explorer.models.runtime.threads import spare_core_threads
from cnn_explorer.models.live.errors import LiveError, one_line
from cnn_explorer.models.live.predictor import LiveResult, Predictor
from cnn_explorer.models.live.quality import QualityMeter
from cnn_explorer.models.live.sources import FrameSource

log = logging.getLogger(__name__)


@dataclass
class LiveStats:
    """What the HUD shows."""

    camera_fps: float
    inference_fps: float
    latency_p50_ms: float
    latency_p95_ms: float
    frames_captured: int
    frames_processed: int
    frames_dropped: int
    device: str  # the device's name
    precision: str
    model: str
    weights: str
    source: str
    timings_ms: dict = field(default_factory=dict)  # mean preprocess / infer / postprocess
    running: bool = False
    warming_up: bool = False
    error: str | None = None

    def to_json(self) -> dict:
        data = asdict(self)
        for key, value in data.items():
            if isinstance(value, float):
                data[key] = round(value, 3)
        data["timings_ms"] = {k: round(v, 3) for k, v in self.timings_ms.items()}
        return data


def live_cpu_threads() -> int:
    """The torch threads the inference thread runs a CPU model on: every core but one, which is left to the
    capture thread and the window (``models/runtime/threads.py`` says why)."""
    return spare_core_threads()


# glibc's malloc returns a freed block over 128 KiB (its default) to the system at once, and maps it anew when
# it is next asked for: a CPU forward pass page-faulted its activations in again on every frame. Measured with
# bench-live on the 2-core machine, MTCNN's forward pass took 21-22 ms a frame in the pipeline and 19-20 ms back
# to back (ratio 0.84-0.85); with blocks of up to 32 MiB kept, 20.5-21 ms (0.91-0.92); SSDlite's, back to back
# on 32 kept frames, 28-31 FPS and then 36-40. PyTorch's performance guide suggests jemalloc or tcmalloc for the
# same reason; glibc's own settings need no other library.
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt's parameters (malloc.h)
KEEP_FREED_BYTES = 32 << 20  # the largest block kept in the heap (glibc's ceiling on a 64-bit machine)


def reuse_freed_memory() -> bool:
    """Keep freed blocks of up to KEEP_FREED_BYTES in the process's heap, for the next frame (where the C
    library is glibc; elsewhere nothing is done and False is returned)."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, KEEP_FREED_BYTES)) and bool(mallopt(_M_TRIM_THRESHOLD, 4 * KEEP_FREED_BYTES))


def _bad_input_errors() -> tuple[type[BaseException], ...]:
    """What building a predictor raises for bad input (the model, the weights, the size): a message for the
    user, not a fault of the program to log with its traceback."""
    from cnn_explorer.models.zoo.weights import WeightsError
    from cnn_explorer.models.zoo.index import InputSizeError, UnknownModelError

    return WeightsError, InputSizeError, UnknownModelError


class LivePipeline(OwnThread):
    """Capture thread + inference thread around ``source`` and ``predictor``.

    ``window``: how many recent results the FPS and latency figures are computed over. ``keep_frames``: keep
    that many of the frames the model saw (for ``bench``'s model-only pass on the same inputs)."""

    def __init__(self, source: FrameSource, predictor: Predictor | Callable[[], Predictor], *, warmup: int = 2,
                 window: int = 120, keep_frames: int = 0, on_result: Callable[[LiveResult], None] | None = None):
        self.source = source
        # A predictor, or a function that makes one: then the model is built in the inference thread too. On
        # the CPU that matters: OpenMP's workers spin (fast) only for the first thread that runs parallel
        # torch code; a second such thread gets throttled ones (measured: 25 instead of 43 FPS, SSDlite).
        self._factory = None if isinstance(predictor, Predictor) else predictor
        self.predictor: Predictor | None = predictor if isinstance(predictor, Predictor) else None
        self.warmup_iterations = warmup
        self.on_result = on_result
        self.keep_frames = keep_frames
        self._window = window
        self._cond = threading.Condition()
        self._latest: LiveResult | None = None
        self._seq = 0
        self._done_times: collections.deque[float] = collections.deque(maxlen=window)
        self._latencies: collections.deque[float] = collections.deque(maxlen=max(window, 300))
        self._timings: collections.deque[dict] = collections.deque(maxlen=window)
        self.kept_frames: list[np.ndarray] = []
        self._error: LiveError | None = None
        self._stop = threading.Event()
        self._capture: CaptureThread | None = None
        self._thread: threading.Thread | None = None
        self._warming = False
        self._finished = False
        self._record: list | None = None  # (done, latency, result or None) of every result, while benchmarking
        self._record_results = 0
        self._bench_frames: int | None = None  # while benchmarking: stop after this many results
        self._model_only: tuple[float, float] | None = None
        self._ready = threading.Event()

    # -- life cycle ----------------------------------------------------------------------------------------

    def start(self) -> "LivePipeline":
        if self.running:
            return self
        self._stop.clear()
        self._error = None
        self._finished = False
        self._seq = 0
        self._latest = None
        self._done_times.clear()
        self._latencies.clear()
        self._timings.clear()
        self.kept_frames = []
        capture = CaptureThread(self.source)
        capture.open()  # SourceError now, in the caller's thread
        self._capture = capture
        self._warming = True
        self._ready.clear()
        self._model_only = None
        self._thread = threading.Thread(target=self._run, name="cnn-explorer-inference", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0, *, warn: bool = True) -> bool:
        """Stop both threads (flag, wake, join) and release the source. True when both have ended within
        ``timeout`` (in all); ``warn``: log it when they have not (they end by themselves once the model's
        step in progress returns: a thread is never killed)."""
        deadline = time.monotonic() + timeout
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        capture_ended = self._capture.stop(timeout, warn=warn) if self._capture is not None else True
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(max(0.0, deadline - time.monotonic()))
        ended = capture_ended and not (thread is not None and thread.is_alive())
        if not ended and warn:
            log.warning("the live pipeline did not end within %.1f s", timeout)
        return ended


    @property
    def error(self) -> LiveError | None:
        """The fault that ended the pipeline, or the source's current one (a camera being reconnected)."""
        if self._error is not None:
            return self._error
        return self._capture.error if self._capture is not None else None

    # -- the inference thread ------------------------------------------------------------------------------

    def _run(self) -> None:
        capture = self._capture
        try:
            torch.set_num_threads(live_cpu_threads())  # this thread's own setting (OpenMP's is per thread)
            reuse_freed_memory()
            if self.predictor is None:
                self.predictor = self._factory()
            self._ready.set()
            if self.warmup_iterations and not self.predictor.warm:
                self.predictor.warmup(self.source.frame_size or (480, 640), self.warmup_iterations)
            self._warming = False
            if self._stop.is_set():
                return
            capture.start()
            while not self._stop.is_set():
                frame = capture.take(timeout=0.1)
                if frame is None:
                    if capture.finished:
                        if capture.error is not None:
                            self._error = capture.error
                        return
                    continue
                result = self.predictor(frame.image)
                result.frame_index = frame.index
                result.timestamp = frame.timestamp
                result.truth = frame.truth
                if len(self.kept_frames) < self.keep_frames:
                    self.kept_frames.append(frame.image)
                with self._cond:
                    self._latest = result
                    self._seq += 1
                    self._done_times.append(result.done)
                    self._latencies.append(result.latency)
                    self._timings.append(result.timings)
                    if self._record is not None:
                        keep = result if len(self._record) < self._record_results else None
                        self._record.append((result.done, result.latency, keep))
                    self._cond.notify_all()
                if self.on_result is not None:
                    self.on_result(result)
                if self._bench_frames is not None and self._seq >= self._bench_frames:
                    self._bench_capture = capture.stats()
                    capture.stop()
                    if self.kept_frames:  # the forward pass alone, same frames, same thread, nothing else running
                        # repeated to last about a second, as the pipeline's run does (32 frames of a 4 ms
                        # model took 0.13 s: one busy moment of the machine moved the figure by 10 %)
                        infer_s = np.mean([t["infer"] for t in self._timings]) / 1000 if self._timings else 0.0
                        repeat = max(1, min(50, round(1.0 / max(infer_s * len(self.kept_frames), 1e-3))))
                        self._model_only = self.predictor.model_only(self.kept_frames, repeat=repeat)
                    return
        except LiveError as error:
            self._error = error
        except _bad_input_errors() as error:  # a weights file that does not fit, an input size out of range …
            self._error = LiveError(error)  # its own one line, as the command line prints it; no traceback
        except Exception as error:  # noqa: BLE001 - reported through ``error``, never lost with the thread
            log.exception("the inference thread failed")
            self._error = LiveError(f"inference failed: {type(error).__name__}: {one_line(error)[:300]}")
        finally:
            self._warming = False
            self._ready.set()
            capture.stop()
            with self._cond:
                self._finished = True
                self._cond.notify_all()

    # -- the reader's side ---------------------------------------------------------------------------------

    def wait_ready(self, timeout: float | None = None) -> Predictor | None:
        """The predictor, once the inference thread has it (built from the factory); None on timeout or fault."""
        self._ready.wait(timeout)
        return self.predictor

    def latest(self) -> LiveResult | None:
        with self._cond:
            return self._latest

    @property
    def results(self) -> int:
        """How many results the pipeline has given since ``start()``."""
        with self._cond:
            return self._seq

    def wait_result(self, after: int | None = None, timeout: float | None = None) -> LiveResult | None:
        """The newest result once there is one newer than result number ``after`` (default: the newest now);
        None when the timeout passes or the pipeline ends first (see ``error``)."""
        with self._cond:
            after = self._seq if after is None else after
            self._cond.wait_for(lambda: self._seq > after or self._finished, timeout)
            return self._latest if self._seq > after else None

    def stats(self) -> LiveStats:
        capture = self._capture.stats() if self._capture is not None else None
        with self._cond:
            done = list(self._done_times)
            latencies = np.array(self._latencies, dtype=np.float64) * 1000
            timings = list(self._timings)
            processed = self._seq
        fps = 0.0
        if len(done) >= 2 and time.perf_counter() - done[-1] < 5.0:
            fps = (len(done) - 1) / max(done[-1] - done[0], 1e-9)
        means = {}
        if timings:
            for key in timings[-1]:
                means[key] = float(np.mean([t.get(key, 0.0) for t in timings]))
        error = self.error
        p = self.predictor
        if p is None:
            return LiveStats(0.0, 0.0, 0.0, 0.0, 0, 0, 0, "", "", "", "", self.source.describe(), running=self.running,
                             warming_up=self.running, error=str(error) if error else None)
        return LiveStats(
            camera_fps=capture.fps if capture else 0.0, inference_fps=fps,
            latency_p50_ms=float(np.percentile(latencies, 50)) if latencies.size else 0.0,
            latency_p95_ms=float(np.percentile(latencies, 95)) if latencies.size else 0.0,
            frames_captured=capture.frames if capture else 0, frames_processed=processed,
            frames_dropped=capture.dropped if capture else 0, device=p.device_name, precision=p.precision,
            model=p.name, weights=p.weights_note, source=self.source.describe(), timings_ms=means,
            running=self.running, warming_up=self._warming, error=str(error) if error else None)

    # -- the headless benchmark ----------------------------------------------------------------------------

    def bench(self, frames: int = 100, *, timeout: float | None = None, model_only: bool = True,
              quality: bool = True, max_model_only_frames: int = 32) -> dict:
        """Run the pipeline for ``frames`` results and measure it: camera FPS, pipeline FPS (results a second,
        from the first result to the last), latency p50/p95, dropped frames, the stages' mean times; then the
        forward pass alone on (up to ``max_model_only_frames`` of) the same frames, back to back, with nothing
        else running; and for the synthetic source, quality against its ground truth."""
        if frames < 2:
            raise LiveError("bench needs at least 2 frames")
        self.keep_frames = max_model_only_frames if model_only else 0
        self._record = []
        self._record_results = 60 if quality else 0
        self._bench_frames = frames
        self._bench_capture = None
        self.start()
        timed_out = False
        try:
            with self._cond:
                ended = self._cond.wait_for(lambda: self._finished, timeout)
            if not ended:
                timed_out = True
                raise LiveError(f"bench: only {self.results} of {frames} frames in {timeout:g} s")
            if self._error is not None:
                raise self._error
            if self._seq < 2:
                raise LiveError(f"the source ended after {self._seq} frames: bench needs at least 2")
            capture = self._bench_capture or self._capture.stats()
            timings = self.stats().timings_ms
        finally:
            self._bench_frames = None
            # Out of time: the timeout is honoured. The threads are told to stop and given a moment; one busy
            # in a long step (a slow model's frame, its build) ends by itself when that step returns.
            if timed_out:
                self.stop(min(2.0, timeout), warn=False)
            else:
                self.stop()
        record, self._record = self._record[:frames], None
        done_times = [done for done, _, _ in record]
        lat = np.array([latency for _, latency, _ in record]) * 1000
        results = [result for _, _, result in record if result is not None]
        meter = QualityMeter(score_threshold=self.predictor.score_threshold) if quality else None
        pipeline_fps = (len(done_times) - 1) / max(done_times[-1] - done_times[0], 1e-9)
        report = {
            "model": self.predictor.name, "weights": self.predictor.weights,
            "weights_note": self.predictor.weights_note, "task": self.predictor.task,
            "device": self.predictor.device.type, "device_name": self.predictor.device_name,
            "precision": self.predictor.precision, "source": self.source.describe(),
            "input_size": list(self.predictor.input_size_for(self.source.frame_size or (480, 640))),
            "frames": len(done_times), "camera_fps": round(capture.fps, 2),
            "pipeline_fps": round(pipeline_fps, 2),
            "latency_p50_ms": round(float(np.percentile(lat, 50)), 2),
            "latency_p95_ms": round(float(np.percentile(lat, 95)), 2),
            "frames_captured": capture.frames, "frames_dropped": capture.dropped,
            "timings_ms": {k: round(v, 2) for k, v in timings.items()},
        }
        report["bound_by"] = "source" if (not self.source.on_demand and capture.fps
                                          and capture.fps < 1.1 * pipeline_fps) else "model"
        if self._model_only is not None:
            fps, ms = self._model_only
            report["model_only_fps"] = round(fps, 2)
            report["model_only_ms"] = round(ms, 2)
            report["pipeline_vs_model_only"] = round(pipeline_fps / fps, 3)
        if meter is not None:
            for result in results:
                meter.add(result)
            if meter.frames:
                report["quality"] = meter.to_json()
        self.kept_frames = []
        return report
