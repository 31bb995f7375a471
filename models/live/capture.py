"""The capture thread: reads a frame source as fast as it gives frames and keeps only the newest one (a
source that gives frames on demand, a file played as fast as possible, is read one frame ahead instead).

After Ultralytics' ``LoadStreams``: the consumer (the inference thread) takes the newest frame when it is ready
for one, so it never falls behind the camera; a frame that is overwritten before it was taken counts as
dropped. Plain ``threading``, no Qt. The thread owns the source from ``start()`` on and releases it when it
ends. ``stop()`` sets a flag and joins: a thread is never killed.

A fault of the source (a ``SourceError``, or any other exception, turned into one) ends the thread and is kept
in ``error`` for the consumer to read; a source with ``reconnect`` (a camera) is opened again every
``retry_interval`` seconds instead, and the error clears when it gives frames again.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from dataclasses import dataclass

from cnn_explorer.models.live.errors import SourceError, one_line
from cnn_explorer.models.live.sources import EndOfStream, Frame, FrameSource

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CaptureStats:
    frames: int  # frames read from the source
    taken: int  # frames the consumer took
    dropped: int  # frames overwritten before they were taken
    fps: float  # frames a second the source gives (over the last second or so)
    error: str | None
    ended: bool  # a source that does not loop came to its end
    running: bool


class OwnThread:
    """What an object that runs one thread of its own (``_thread``, ``start``, ``stop``) offers: ``with`` and
    ``running``."""

    _thread: threading.Thread | None = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()


class CaptureThread(OwnThread):
    """Reads ``source`` in a thread into a one-frame mailbox. ``take()`` gives the newest frame."""

    def __init__(self, source: FrameSource, *, retry_interval: float = 1.0, name: str = "cnn-explorer-capture"):
        self.source = source
        self.retry_interval = retry_interval
        self._name = name
        self._cond = threading.Condition()
        self._slot: Frame | None = None
        self._newest: Frame | None = None
        self._frames = 0
        self._taken = 0
        self._dropped = 0
        self._times: collections.deque[float] = collections.deque(maxlen=60)
        self._error: SourceError | None = None
        self._ended = False
        self._done = False
        self._opened = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- life cycle ----------------------------------------------------------------------------------------

    def open(self) -> None:
        """Open the source now, in the caller's thread, so that a missing camera or file is an immediate
        ``SourceError``. ``start()`` calls it when it was not called."""
        if not self._opened:
            self.source.open()
            self._opened = True

    def start(self) -> "CaptureThread":
        if self._thread is not None:
            raise RuntimeError("a capture thread starts once")
        self.open()
        self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0, *, warn: bool = True) -> bool:
        """Ask the thread to end, wake whoever waits, join; the thread releases the source. True when the
        thread has ended (False only when the source blocked longer than ``timeout``; logged when ``warn``)."""
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        try:
            self.source.interrupt()
        except Exception as error:  # noqa: BLE001
            log.warning("interrupting %s failed: %s", self.source.name, error)
        thread = self._thread
        if thread is None:  # never started: release here
            if self._opened:
                self._release()
            self._mark_done()
            return True
        if thread is not threading.current_thread():
            thread.join(timeout)
        alive = thread.is_alive()
        if alive and warn:
            log.warning("the capture thread of %s did not end within %.1f s", self.source.name, timeout)
        return not alive


    @property
    def finished(self) -> bool:
        """The thread has ended (stopped, the source ended, or a fault); a last frame may still be taken."""
        with self._cond:
            return self._done

    @property
    def error(self) -> SourceError | None:
        return self._error

    # -- the thread ----------------------------------------------------------------------------------------

    def _release(self) -> None:
        try:
            self.source.release()
        except Exception as error:  # noqa: BLE001 - releasing must not raise out of the thread
            log.warning("releasing %s failed: %s", self.source.name, error)
        self._opened = False

    def _mark_done(self) -> None:
        with self._cond:
            self._done = True
            self._cond.notify_all()

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                try:
                    frame = self.source.read()
                except EndOfStream:
                    self._ended = True
                    return
                except SourceError as error:
                    self._error = error
                    if not (self.source.reconnect and self._reconnect()):
                        return
                    continue
                except Exception as error:  # noqa: BLE001 - a fault is reported, never lost with the thread
                    log.exception("the source %s failed", self.source.name)
                    self._error = SourceError(f"{self.source.name} failed: {type(error).__name__}: {one_line(error)}")
                    return
                self._put(frame)
                if self.source.on_demand:  # one frame ahead of the consumer, no faster: nothing to drop
                    with self._cond:
                        self._cond.wait_for(lambda: self._slot is None or self._stop.is_set())
        finally:
            self._release()
            self._mark_done()

    def _reconnect(self) -> bool:
        """Open the source again every ``retry_interval`` seconds until it opens or ``stop()``."""
        with self._cond:
            self._cond.notify_all()  # let the consumer see the error at once
        while not self._stop.wait(self.retry_interval):
            self._release()
            try:
                self.source.open()
            except SourceError as error:
                self._error = error
                continue
            self._opened = True
            self._error = None
            return True
        return False

    def _put(self, frame: Frame) -> None:
        with self._cond:
            if self._slot is not None:
                self._dropped += 1
            self._slot = frame
            self._newest = frame
            self._frames += 1
            self._times.append(time.perf_counter())
            self._cond.notify_all()

    # -- the consumer's side -------------------------------------------------------------------------------

    def take(self, timeout: float | None = None) -> Frame | None:
        """The newest frame not taken yet, waiting up to ``timeout`` seconds for one; None when none came,
        or when the thread has ended (see ``error``)."""
        with self._cond:
            self._cond.wait_for(lambda: self._slot is not None or self._done or self._stop.is_set(), timeout)
            frame, self._slot = self._slot, None
            if frame is not None:
                self._taken += 1
                self._cond.notify_all()  # an on-demand source reads the next one now
            return frame

    def peek(self) -> Frame | None:
        """The newest frame read, taken or not (for a preview); does not take it."""
        with self._cond:
            return self._newest

    def fps(self) -> float:
        with self._cond:
            times = list(self._times)
        if len(times) < 2 or time.perf_counter() - times[-1] > 2.0:
            return 0.0
        return (len(times) - 1) / max(times[-1] - times[0], 1e-9)

    def stats(self) -> CaptureStats:
        fps = self.fps()
        with self._cond:
            return CaptureStats(self._frames, self._taken, self._dropped, fps,
                                str(self._error) if self._error else None, self._ended, self.running)
