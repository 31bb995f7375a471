"""Cameras: ``list_cameras()`` finds the webcams that open, quickly and quietly, and ``CameraSource`` reads
one by index (reopened by the capture thread after it was unplugged).
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from cnn_explorer.models.live.errors import SourceError
from cnn_explorer.models.live.source_base import Frame, SizedSource, opencv, quiet_opencv, to_rgb3


@dataclass(frozen=True)
class CameraInfo:
    index: int
    name: str

    def __str__(self) -> str:
        return f"{self.index}: {self.name}"


def _linux_camera_indices() -> list[int] | None:
    """The indices of /dev/video* on Linux (None elsewhere)."""
    if not sys.platform.startswith("linux"):
        return None
    found = []
    with contextlib.suppress(OSError):
        for entry in os.scandir("/dev"):
            if entry.name.startswith("video") and entry.name[5:].isdigit():
                found.append(int(entry.name[5:]))
    return sorted(found)


def _camera_name(index: int) -> str:
    with contextlib.suppress(OSError):
        return Path(f"/sys/class/video4linux/video{index}/name").read_text().strip() or f"camera {index}"
    return f"camera {index}"


def _backend():
    cv2 = opencv()
    if sys.platform.startswith("linux"):
        return cv2.CAP_V4L2
    if sys.platform == "win32":
        return cv2.CAP_DSHOW
    if sys.platform == "darwin":
        return cv2.CAP_AVFOUNDATION
    return cv2.CAP_ANY


def list_cameras(max_index: int = 8) -> list[CameraInfo]:
    """The cameras that open, by index: on Linux only the /dev/video* devices are tried (a USB camera often
    has a second, metadata-only node, which does not open). Quiet (no OpenCV warnings) and quick."""
    indices = _linux_camera_indices()
    if indices is None:
        indices = list(range(min(max_index, 4)))
    found = []
    for index in indices[:max_index]:
        with quiet_opencv() as cv2:
            capture = cv2.VideoCapture(index, _backend())
            try:
                if capture.isOpened():
                    found.append(CameraInfo(index, _camera_name(index)))
            finally:
                capture.release()
    return found


class CameraSource(SizedSource):
    """A webcam by index. ``reconnect``: the capture thread opens it again after it was unplugged."""

    reconnect = True
    FAILURES_BEFORE_ERROR = 5

    def __init__(self, index: int = 0, *, width: int | None = None, height: int | None = None,
                 fps: float | None = None):
        self.index = int(index)
        self.name = f"camera {self.index}"
        self._want = (width, height, fps)
        self._capture = None
        self._size = None
        self._fps = None
        self._failures = 0
        self._frames = 0

    def open(self) -> None:
        self.release()
        indices = _linux_camera_indices()
        if self.index < 0:
            raise SourceError(f"a camera index is 0 or more, not {self.index}")
        if indices is not None and self.index not in indices:
            cams = ", ".join(map(str, indices)) if indices else "none"
            raise SourceError(f"no camera at index {self.index} (cameras found: {cams})")
        with quiet_opencv() as cv2:
            capture = cv2.VideoCapture(self.index, _backend())
            if not capture.isOpened():
                capture.release()
                raise SourceError(f"camera {self.index} cannot be opened (missing, in use by another program, "
                                  "or no permission)")
            width, height, fps = self._want
            if width and height:
                capture.set(cv2.CAP_PROP_FRAME_WIDTH, width)
                capture.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
            if fps:
                capture.set(cv2.CAP_PROP_FPS, fps)
            capture.set(cv2.CAP_PROP_BUFFERSIZE, 1)  # the newest frame, not a queue of old ones
            ok, image = capture.read()
        if not ok or image is None:
            capture.release()
            raise SourceError(f"camera {self.index} opened but gives no frames")
        self._capture = capture
        self._size = image.shape[:2]
        reported = capture.get(cv2.CAP_PROP_FPS)
        self._fps = float(reported) if reported and math.isfinite(reported) and reported > 0 else None
        self._failures = 0

    def read(self) -> Frame:
        if self._capture is None:
            raise SourceError(f"camera {self.index} is not open")
        with quiet_opencv():
            ok, image = self._capture.read()
        if not ok or image is None:
            self._failures += 1
            if self._failures >= self.FAILURES_BEFORE_ERROR:
                raise SourceError(f"camera {self.index} stopped giving frames (unplugged?)")
            return self.read()
        self._failures = 0
        frame = Frame(to_rgb3(image), time.perf_counter(), self._frames)
        self._frames += 1
        return frame

    def release(self) -> None:
        if self._capture is not None:
            self._capture.release()
            self._capture = None
