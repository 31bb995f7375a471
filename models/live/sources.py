"""Frame sources for the live view: each gives frames as H×W×3 uint8 RGB arrays with a capture timestamp.

    SyntheticSource   moving circles, squares and triangles on a textured background; it knows its ground
                      truth for every frame (boxes, classes, a per-pixel class map and instance map)
    VideoSource       a video file read with OpenCV, looping by default
    FolderSource      the images of a folder, in name order, looping
    CameraSource      a webcam by index (``list_cameras()`` finds them, quickly and quietly)

A source is opened (``open()``), read (``read()`` → ``Frame``) and released (``release()``); iterating over
one yields ``(timestamp, image)`` pairs. Failures raise ``SourceError`` with a one-line message; the end of a
source that does not loop raises ``EndOfStream``. Timestamps are ``time.perf_counter()`` seconds taken when the
frame was captured, so that latency is measured from the capture on.
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
import threading
import time
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np

from cnn_explorer.models.live.errors import SourceError

# FFmpeg (inside OpenCV) prints its own lines ("moov atom not found" for a truncated .mp4) before the
# SourceError that says the same in one line. OpenCV reads this level when its FFmpeg backend first opens a
# file, so it is set here, before any VideoCapture; -8 is AV_LOG_QUIET. A user's own setting is kept.
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
VIDEO_SUFFIXES = (".mp4", ".avi", ".mkv", ".mov", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv", ".gif")


class EndOfStream(Exception):
    """A source that does not loop has given all its frames."""


def _cv2():
    import cv2

    return cv2


@contextlib.contextmanager
def quiet_opencv():
    """Silence OpenCV's own log lines (a missing camera prints several warnings) for the duration."""
    cv2 = _cv2()
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


class _Pacer:
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


# -- the synthetic source ----------------------------------------------------------------------------------

SHAPE_CLASSES = ("background", "circle", "square", "triangle")


@dataclass(frozen=True)
class _Shape:
    kind: int  # 1 circle, 2 square, 3 triangle (the class id)
    cx: int
    cy: int
    r: int
    colour: tuple[int, int, int]

    def points(self) -> np.ndarray:
        """The triangle's vertices (integer pixels), pointing up."""
        s = self.r * math.sqrt(3) / 2
        return np.array([[self.cx, self.cy - self.r], [round(self.cx - s), round(self.cy + self.r / 2)],
                         [round(self.cx + s), round(self.cy + self.r / 2)]], dtype=np.int32)

    def half(self) -> int:
        return max(2, round(self.r * 0.85))

    def box(self) -> tuple[int, int, int, int]:
        """x1, y1, x2, y2 in pixels, x2/y2 exclusive: every pixel the shape covers lies inside."""
        if self.kind == 1:
            return self.cx - self.r, self.cy - self.r, self.cx + self.r + 1, self.cy + self.r + 1
        if self.kind == 2:
            h = self.half()
            return self.cx - h, self.cy - h, self.cx + h + 1, self.cy + h + 1
        p = self.points()
        return int(p[:, 0].min()), int(p[:, 1].min()), int(p[:, 0].max()) + 1, int(p[:, 1].max()) + 1

    def draw(self, canvas: np.ndarray, value) -> None:
        cv2 = _cv2()
        if self.kind == 1:
            cv2.circle(canvas, (self.cx, self.cy), self.r, value, -1, lineType=cv2.LINE_8)
        elif self.kind == 2:
            h = self.half()
            cv2.rectangle(canvas, (self.cx - h, self.cy - h), (self.cx + h, self.cy + h), value, -1,
                          lineType=cv2.LINE_8)
        else:
            cv2.fillPoly(canvas, [self.points()], value, lineType=cv2.LINE_8)


@dataclass
class SyntheticTruth:
    """What a synthetic frame shows: ``boxes`` (N×4 float32, x1 y1 x2 y2 in pixels, x2/y2 exclusive),
    ``labels`` (N, class ids into ``SHAPE_CLASSES``); ``label_map`` (H×W uint8 class ids, 0 background) and
    ``instance_map`` (H×W int16, the index of the shape on top, -1 none) are drawn when first asked for.
    Later shapes are drawn over earlier ones."""

    shapes: tuple[_Shape, ...]
    height: int
    width: int
    classes: tuple[str, ...] = SHAPE_CLASSES
    boxes: np.ndarray = field(init=False)
    labels: np.ndarray = field(init=False)

    def __post_init__(self):
        self.boxes = np.array([s.box() for s in self.shapes], dtype=np.float32).reshape(-1, 4)
        self.labels = np.array([s.kind for s in self.shapes], dtype=np.int64)

    @property
    def names(self) -> list[str]:
        return [self.classes[k] for k in self.labels]

    @cached_property
    def label_map(self) -> np.ndarray:
        out = np.zeros((self.height, self.width), np.uint8)
        for shape in self.shapes:
            shape.draw(out, int(shape.kind))
        return out

    @cached_property
    def instance_map(self) -> np.ndarray:
        out = np.full((self.height, self.width), -1, np.int16)
        for i, shape in enumerate(self.shapes):
            shape.draw(out, i)
        return out


def _bounce(start: float, distance: float, low: float, high: float) -> float:
    """Where a point that started at ``start`` is after moving ``distance`` between walls ``low`` and ``high``."""
    span = high - low
    if span <= 0:
        return low
    x = (start - low + distance) % (2 * span)
    return low + (x if x <= span else 2 * span - x)


class SyntheticSource(FrameSource):
    """Moving coloured circles, squares and triangles on a textured background, that knows where they are.

    Frame ``i`` shows the scene at time ``i / fps`` (deterministic for a seed); with ``realtime`` the frames
    come at ``fps`` like a camera's, else as fast as they are asked for. ``frames``: end after that many.
    ``radius``: the shapes' radii as fractions of the shorter side; ``random_colours``: any hue, saturation
    and brightness instead of hues spread evenly (more varied scenes, to train on)."""

    reconnect = False

    def __init__(self, width: int = 640, height: int = 480, fps: float = 30.0, seed: int = 0, shapes: int = 4, *,
                 realtime: bool = True, frames: int | None = None, radius: tuple[float, float] = (0.07, 0.13),
                 random_colours: bool = False):
        if not (16 <= width <= 8192 and 16 <= height <= 8192):
            raise SourceError(f"synthetic frames must be 16 to 8192 pixels a side, not {width}×{height}")
        if not fps or fps <= 0:
            raise SourceError(f"the synthetic source needs a positive fps, not {fps}")
        if not 0 <= shapes <= 64:
            raise SourceError(f"the synthetic source draws 0 to 64 shapes, not {shapes}")
        self.width, self.height, self.seed, self.count = int(width), int(height), seed, int(shapes)
        self._fps = float(fps)
        self.frames = frames
        self.name = "synthetic"
        self._pacer = _Pacer(self._fps if realtime else None)
        self._index = 0
        rng = np.random.default_rng(seed)
        self._background = self._texture(rng)
        side = min(width, height)
        kinds = [1 + i % 3 for i in range(self.count)]
        rng.shuffle(kinds)
        self._specs = []
        for i, kind in enumerate(kinds):
            r = int(rng.uniform(*radius) * side)
            if random_colours:
                colour = tuple(int(255 * c) for c in _hsv(rng.uniform(0, 1), rng.uniform(0.3, 1), rng.uniform(0.3, 1)))
            else:
                hue = (i * 0.61803 + rng.uniform(0, 0.1)) % 1.0
                colour = tuple(int(255 * c) for c in _hsv(hue, 0.85, 0.95))
            angle = rng.uniform(0, 2 * math.pi)
            speed = rng.uniform(0.12, 0.3) * side  # pixels per second
            self._specs.append((kind, r, colour, rng.uniform(r, width - 1 - r), rng.uniform(r, height - 1 - r),
                                speed * math.cos(angle), speed * math.sin(angle)))

    def _texture(self, rng) -> np.ndarray:
        cv2 = _cv2()
        h, w = self.height, self.width
        coarse = rng.uniform(70, 170, size=(h // 40 + 2, w // 40 + 2, 3)).astype(np.float32)
        smooth = cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC)
        yy, xx = np.mgrid[0:h, 0:w]
        stripes = 10 * np.sin((xx + 0.6 * yy) / 9.0)[..., None]
        grain = rng.normal(0, 9, size=(h, w, 1))
        return np.clip(smooth + stripes + grain, 0, 255).astype(np.uint8)

    @property
    def frame_size(self) -> tuple[int, int]:
        return self.height, self.width

    @property
    def fps(self) -> float:
        return self._fps

    def shapes_at(self, index: int) -> tuple[_Shape, ...]:
        t = index / self._fps
        shapes = []
        for kind, r, colour, x0, y0, vx, vy in self._specs:
            cx = round(_bounce(x0, vx * t, r, self.width - 1 - r))
            cy = round(_bounce(y0, vy * t, r, self.height - 1 - r))
            shapes.append(_Shape(kind, cx, cy, r, colour))
        return tuple(shapes)

    def truth(self, index: int) -> SyntheticTruth:
        return SyntheticTruth(self.shapes_at(index), self.height, self.width)

    def render(self, index: int) -> tuple[np.ndarray, SyntheticTruth]:
        """Frame ``index`` and its ground truth, without pacing."""
        image = self._background.copy()
        truth = self.truth(index)
        for shape in truth.shapes:
            shape.draw(image, shape.colour)
        return image, truth

    def open(self) -> None:
        self._index = 0
        self._pacer.reset()

    def read(self) -> Frame:
        if self.frames is not None and self._index >= self.frames:
            raise EndOfStream()
        self._pacer.wait()
        image, truth = self.render(self._index)
        frame = Frame(image, time.perf_counter(), self._index, truth)
        self._index += 1
        return frame


def _hsv(h: float, s: float, v: float) -> tuple[float, float, float]:
    import colorsys

    return colorsys.hsv_to_rgb(h, s, v)


# -- video files -------------------------------------------------------------------------------------------

class VideoSource(FrameSource):
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
        self._pacer = _Pacer(None)

    @property
    def frame_size(self):
        return self._size

    @property
    def fps(self):
        return self._fps

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
        self._pacer = _Pacer(self._fps if self._realtime else None)

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
            image = _to_rgb3(image)
        else:
            image = _cv2().cvtColor(image, _cv2().COLOR_BGR2RGB)
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


def _to_rgb3(image: np.ndarray) -> np.ndarray:
    cv2 = _cv2()
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2RGB)
    if image.shape[2] == 1:
        return cv2.cvtColor(image[:, :, 0], cv2.COLOR_GRAY2RGB)
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


# -- image folders -----------------------------------------------------------------------------------------

class FolderSource(FrameSource):
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
        self._pacer = _Pacer(None)

    @property
    def frame_size(self):
        return self._size

    @property
    def fps(self):
        return self._fps

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
        self._pacer = _Pacer(self._fps if self._realtime else None)
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


# -- cameras -----------------------------------------------------------------------------------------------

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
    cv2 = _cv2()
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


class CameraSource(FrameSource):
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

    @property
    def frame_size(self):
        return self._size

    @property
    def fps(self):
        return self._fps

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
        frame = Frame(_to_rgb3(image), time.perf_counter(), self._frames)
        self._frames += 1
        return frame

    def release(self) -> None:
        if self._capture is not None:
            self._capture.release()
            self._capture = None


# -- by name -----------------------------------------------------------------------------------------------

def open_source(spec: str, *, realtime: bool = True, loop: bool = True, fps: float | None = None,
                size: tuple[int, int] | None = None, seed: int = 0) -> FrameSource:
    """The source a user names: ``synthetic``, a camera index (``0``), an image folder or a video file.
    ``size`` (height, width) and ``fps`` set the synthetic source's frames. Not opened yet."""
    text = str(spec).strip()
    if not text:
        raise SourceError("the source is empty: give 'synthetic', a camera index, a video file or an image folder")
    if text.lower() == "synthetic":
        h, w = size or (480, 640)
        return SyntheticSource(width=w, height=h, fps=fps or 30.0, seed=seed, realtime=realtime)
    if text.isdigit():
        return CameraSource(int(text))
    path = Path(text).expanduser()
    if path.is_dir():
        return FolderSource(path, fps=fps or 5.0, loop=loop, realtime=realtime)
    if not path.exists():
        raise SourceError(f"no such video file or folder: {path} (sources: synthetic, a camera index, a video file, "
                          "an image folder)")
    return VideoSource(path, loop=loop, realtime=realtime)
