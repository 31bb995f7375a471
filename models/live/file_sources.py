"""The sources read from files: ``VideoSource`` (a video file decoded by OpenCV, looping by default) and
``FolderSource`` (the images of a folder, in name order, looping), both paced in real time unless asked not.
"""

from __future__ import annotations

import contextlib
import math
import os
import time
from pathlib import Path

import numpy as np

from cnn_explorer.models.live.errors import SourceError
from cnn_explorer.models.live.source_base import (
    IMAGE_SUFFIXES, EndOfStream, Frame, Pacer, SizedSource, opencv, quiet_opencv, to_rgb3)


class VideoSource(SizedSource):
    """A video file, decoded by OpenCV (FFmpeg), played at its own frame rate (``realtime``) and looping."""

    def __init__(self, path: str | os.PathLike, loop: bool = True, *, realtime: bool = True):
        self.path = Path(path)
        self.loop = loop
        self.name = f"video {self.path.name}"
        self._realtime = realtime
        self._capture = None
        self._fps: float | None = None
        self._size: tuple[int, int] | None = None
        self._count = 0  # frames the container says it has (0: unknown)
        self._position = 0  # frames read since the last (re)start
        self._index = 0
        self._pending = None
        self._pacer = Pacer(None)

    def _check_file(self, playing: bool = False) -> None:
        if self.path.is_dir():
            raise SourceError(f"{self.path} is a folder, not a video file")
        if not self.path.is_file():
            if playing:
                raise SourceError(f"the video file {self.path} was deleted or moved while playing")
            if self.path.exists():  # a FIFO, a device, a socket: never opened (FFmpeg would wait on it)
                raise SourceError(f"{self.path} is not a regular file (a pipe, a device or a socket), not a video "
                                  "file")
            raise SourceError(f"no such video file: {self.path}")

    def _start(self, playing: bool = False) -> None:
        self._check_file(playing)
        self._release_capture()
        with quiet_opencv() as cv2:
            capture = cv2.VideoCapture(str(self.path))
            if not capture.isOpened():
                capture.release()
                raise SourceError(f"cannot read {self.path.name}: not a video OpenCV can decode, or the file is "
                                  "truncated or damaged")
            ok, image = capture.read()
        if not ok or image is None:
            capture.release()
            raise SourceError(f"cannot read {self.path.name}: no frame could be decoded (empty, truncated or damaged)")
        self._capture = capture
        fps = capture.get(cv2.CAP_PROP_FPS)
        self._fps = float(fps) if fps and math.isfinite(fps) and 0 < fps <= 480 else 30.0
        count = capture.get(cv2.CAP_PROP_FRAME_COUNT)
        self._count = int(count) if count and math.isfinite(count) and count > 0 else 0
        self._size = image.shape[:2]
        self._pending = image
        self._position = 0

    def open(self) -> None:
        self._start()
        self._index = 0
        self._pacer = Pacer(self._fps if self._realtime else None)

    def _next_image(self) -> np.ndarray:
        if self._pending is not None:
            image, self._pending = self._pending, None
            return image
        self._check_file(playing=True)
        if self._capture is None:
            raise SourceError(f"{self.name} is not open")
        with quiet_opencv():
            ok, image = self._capture.read()
        if ok and image is not None:
            return image
        # the end, or a damaged file: a container that promised more frames than it gave is truncated
        if self._count and self._position < self._count - max(2, int(0.02 * self._count)):
            raise SourceError(f"{self.path.name} stops at frame {self._position} of {self._count}: the file is "
                              "truncated or damaged")
        if not self.loop:
            raise EndOfStream()
        self._start(playing=True)
        return self._next_image()

    def read(self) -> Frame:
        image = self._next_image()
        self._position += 1
        if image.ndim == 2 or image.shape[2] != 3:
            image = to_rgb3(image)
        else:
            image = opencv().cvtColor(image, opencv().COLOR_BGR2RGB)
        self._pacer.wait()
        frame = Frame(image, time.perf_counter(), self._index)
        self._index += 1
        return frame

    def _release_capture(self) -> None:
        if self._capture is not None:
            self._capture.release()
            self._capture = None

    def release(self) -> None:
        self._release_capture()
        self._pending = None



class FolderSource(SizedSource):
    """The images of a folder (not its sub-folders), in name order, ``fps`` a second, looping. Files that
    disappear are skipped; a folder emptied (or removed) while running is a ``SourceError``."""

    def __init__(self, path: str | os.PathLike, fps: float = 5.0, loop: bool = True, *, realtime: bool = True):
        self.path = Path(path)
        self.loop = loop
        self.name = f"folder {self.path.name or self.path}"
        self._fps = float(fps) if fps and fps > 0 else 5.0
        self._realtime = realtime
        self._files: list[Path] = []
        self._position = 0
        self._index = 0
        self._size = None
        self._pending = None
        self._pacer = Pacer(None)

    def _scan(self, running: bool = False) -> list[Path]:
        if not self.path.is_dir():
            if running:
                raise SourceError(f"the image folder {self.path} was deleted or moved while running")
            raise SourceError(f"not a folder: {self.path}" if self.path.exists() else f"no such folder: {self.path}")
        try:
            names = sorted(e.name for e in os.scandir(self.path)
                           if e.is_file() and e.name.lower().endswith(IMAGE_SUFFIXES) and not e.name.startswith("."))
        except OSError as error:
            raise SourceError(f"cannot list {self.path}: {error.strerror or error}") from None
        if not names:
            if running:
                raise SourceError(f"the image folder {self.path} was emptied while running")
            raise SourceError(f"no images in {self.path} (looked for {', '.join(IMAGE_SUFFIXES)})")
        return [self.path / n for n in names]

    def open(self) -> None:
        self._files = self._scan()
        self._position = 0
        self._index = 0
        self._pacer = Pacer(self._fps if self._realtime else None)
        self._size = None
        first = self._load_next()
        self._size = first.shape[:2]
        self._pending = first

    def _load_next(self) -> np.ndarray:
        # Read with the lab's open_image (Pillow), not cv2.imread: libjpeg and libpng inside OpenCV print
        # "Premature end of JPEG file" and "libpng error" for a damaged file, whatever OpenCV's log level.
        from cnn_explorer.models.lab.images import ImageError, open_image

        failures = 0
        while True:
            if self._position >= len(self._files):
                if not self.loop and self._index > 0:
                    raise EndOfStream()
                self._files = self._scan(running=True)
                self._position = 0
            path = self._files[self._position]
            self._position += 1
            image = None
            if path.is_file():
                with contextlib.suppress(ImageError):  # damaged, not an image, too small or too large: skipped
                    image = open_image(path)
            else:  # removed since the scan: look again
                self._files = self._scan(running=True)
                self._position = 0
                failures += 1
            if image is not None:
                return image
            failures += 1
            if failures > 2 * len(self._files) + 2:
                raise SourceError(f"none of the {len(self._files)} images in {self.path} can be read")

    def read(self) -> Frame:
        image, self._pending = self._pending, None
        if image is None:
            image = self._load_next()
        self._pacer.wait()
        frame = Frame(image, time.perf_counter(), self._index)
        self._index += 1
        return frame

    def release(self) -> None:
        self._pending = None
