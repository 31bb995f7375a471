"""What every frame source of the live view shares: ``Frame`` (an image with its capture timestamp),
``FrameSource`` (open, read, release, iterate), ``SizedSource`` (one that keeps its frame size and rate),
``EndOfStream``, ``Pacer`` (frames at a rate in real time), OpenCV, imported when first needed and kept quiet
(``opencv``, ``quiet_opencv``), and ``to_rgb3``. The sources themselves are in synthetic.py,
file_sources.py and cameras.py; ``sources.py`` names them all.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from cnn_explorer.models.live.synthetic import SyntheticTruth

# FFmpeg (inside OpenCV) prints its own lines ("moov atom not found" for a truncated .mp4) before the
# SourceError that says the same in one line. OpenCV reads this level when its FFmpeg backend first opens a
# file, so it is set here, before any VideoCapture; -8 is AV_LOG_QUIET. A user's own setting is kept.
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
VIDEO_SUFFIXES = (".mp4", ".avi", ".mkv", ".mov", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv", ".gif")


class EndOfStream(Exception):
    """A source that does not loop has given all its frames."""


def opencv():
    import cv2

    return cv2


@contextlib.contextmanager
def quiet_opencv():
    """Silence OpenCV's own log lines (a missing camera prints several warnings) for the duration."""
    cv2 = opencv()
    try:
        previous = cv2.utils.logging.getLogLevel()
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
    except AttributeError:  # pragma: no cover - an OpenCV without the logging module
        previous = None
    try:
        yield cv2
    finally:
        if previous is not None:
            cv2.utils.logging.setLogLevel(previous)


@dataclass
class Frame:
    """One frame: ``image`` (H×W×3 uint8 RGB), ``timestamp`` (perf_counter seconds at capture), ``index`` (the
    source's frame number) and, for the synthetic source, its ``truth``. Unpacks as ``(timestamp, image)``."""

    image: np.ndarray
    timestamp: float
    index: int = 0
    truth: "SyntheticTruth | None" = None

    def __iter__(self):
        yield self.timestamp
        yield self.image


class FrameSource:
    """What every source offers. ``reconnect``: after a fault the capture thread may ``open()`` it again."""

    name = "source"
    reconnect = False

    def open(self) -> None:
        raise NotImplementedError

    def read(self) -> Frame:
        raise NotImplementedError

    def release(self) -> None:
        pass

    def interrupt(self) -> None:
        """Called (from another thread) when the capture stops: a source whose ``read()`` can block for long
        should return from it soon. A source paced in real time stops waiting for its next frame's time."""
        pacer = getattr(self, "_pacer", None)
        if pacer is not None:
            pacer.interrupt()

    @property
    def frame_size(self) -> tuple[int, int] | None:
        """(height, width) of the frames, once known (after ``open()``)."""
        return None

    @property
    def fps(self) -> float | None:
        return None

    @property
    def on_demand(self) -> bool:
        """Frames come when they are asked for, not on a clock (a file or the synthetic source played with
        ``realtime`` off): the capture thread then reads one frame ahead of the consumer instead of racing it."""
        pacer = getattr(self, "_pacer", None)
        return pacer is not None and not pacer.fps

    def describe(self) -> str:
        size = self.frame_size
        text = self.name
        if size:
            text += f" {size[1]}×{size[0]}"
        if self.on_demand:
            text += ", as fast as the model takes frames"
        elif self.fps:
            text += f" @ {self.fps:g} fps"
        return text

    def __enter__(self):
        self.open()
        return self

    def __exit__(self, *exc):
        self.release()

    def __iter__(self):
        self.open()
        try:
            while True:
                try:
                    frame = self.read()
                except EndOfStream:
                    return
                yield frame.timestamp, frame.image
        finally:
            self.release()


class SizedSource(FrameSource):
    """A source that keeps its frame size in ``_size`` (None until known) and its rate in ``_fps``: the video
    files, image folders and cameras."""

    @property
    def frame_size(self):
        return self._size

    @property
    def fps(self):
        return self._fps


class Pacer:
    """Gives frames at ``fps`` in real time (a file or a synthetic source plays like a camera). The wait for a
    frame's time ends at once on ``interrupt()`` (the capture stopping), however slow the rate: at 0.0001 fps
    the next frame is hours away."""

    def __init__(self, fps: float | None):
        self.fps = fps
        self.start: float | None = None
        self.count = 0
        self._interrupted = threading.Event()

    def reset(self) -> None:
        self.start = None
        self.count = 0
        self._interrupted.clear()

    def interrupt(self) -> None:
        self._interrupted.set()

    def wait(self) -> None:
        if not self.fps:
            return
        now = time.perf_counter()
        if self.start is None:
            self.start = now
        due = self.start + self.count / self.fps
        self.count += 1
        if due > now:
            self._interrupted.wait(due - now)
        elif now - due > 1.0:  # far behind (the machine was busy): start counting again from now
            self.start, self.count = now, 1


def to_rgb3(image: np.ndarray) -> np.ndarray:
    cv2 = opencv()
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2RGB)
    if image.shape[2] == 1:
        return cv2.cvtColor(image[:, :, 0], cv2.COLOR_GRAY2RGB)
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
