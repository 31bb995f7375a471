"""The synthetic source: ``SyntheticSource``, moving circles, squares and triangles on a textured background,
which knows its ground truth for every frame (``SyntheticTruth``: boxes, classes, a per-pixel class map and
instance map). Deterministic for a seed; the shapes' classes are ``SHAPE_CLASSES``.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from cnn_explorer.models.live.errors import SourceError
from cnn_explorer.models.live.source_base import EndOfStream, Frame, FrameSource, Pacer, opencv


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
        cv2 = opencv()
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
        self._pacer = Pacer(self._fps if realtime else None)
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
        cv2 = opencv()
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
