"""What the lab's views are fed: plain dataclasses of numpy arrays and numbers, made on the worker thread
(``app/lab/jobs.py``) from the tensors of ``models/lab``. No torch, no Qt."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

Box = tuple[int, int, int, int]  # half-open (top, left, bottom, right), input pixels


@dataclass
class InputData:
    """The image as the model sees it, how it was made, and what the model says about it."""

    source: str  # "sample: cat", "chelsea.png"
    image: np.ndarray  # H×W×3 uint8: the model's input before normalization
    original_size: tuple[int, int]  # (H, W) of the image given
    steps: str  # the preprocessing, one line
    predictions: list[tuple[str, float]] = field(default_factory=list)  # top-5 (name, probability)
    prediction_note: str = ""  # why there are none (a detector …)
    classes: tuple[str, ...] = ()  # a classifier's class names, by index (the lab's class box)


@dataclass
class MosaicData:
    """All channels of one layer in one uint8 image: tile ``i`` shows channel ``order[i]``. Index 0 is the
    gap between tiles; values are scaled to 1..255."""

    layer: str
    title: str  # "features.0 · Conv2d · 96×55×55"
    image: np.ndarray  # rows·(h+gap)−gap × columns·(w+gap)−gap, uint8, C-contiguous
    values: np.ndarray  # C×H×W float32: the raw map, for hover read-outs and the enlarged channel
    order: np.ndarray  # int: tile index → channel
    columns: int
    tile: tuple[int, int]  # (h, w) of one channel
    gap: int
    normalize: str  # "channel", "layer" or "global"
    low: float  # the values at the ends of the colour bar (per channel: the layer's range, for reference)
    high: float

    @property
    def channels(self) -> int:
        return int(self.values.shape[0])

    def tile_origin(self, index: int) -> tuple[int, int]:
        """(row, column) in the mosaic's pixels of tile ``index``'s top-left corner."""
        r, c = divmod(index, self.columns)
        h, w = self.tile
        return r * (h + self.gap), c * (w + self.gap)

    def unit_at(self, row: float, column: float) -> tuple[int, int, int] | None:
        """The unit (channel, y, x) under mosaic pixel (row, column); None over a gap or outside."""
        h, w = self.tile
        if row < 0 or column < 0:
            return None
        r, y = divmod(int(row), h + self.gap)
        c, x = divmod(int(column), w + self.gap)
        if y >= h or x >= w or c >= self.columns:
            return None
        index = r * self.columns + c
        if index >= len(self.order):
            return None
        return int(self.order[index]), y, x

    def index_of(self, channel: int) -> int:
        hits = np.flatnonzero(self.order == channel)
        return int(hits[0]) if hits.size else -1


@dataclass
class Histogram:
    counts: np.ndarray
    edges: np.ndarray
    text: str  # "n = 34,848 · mean −0.0003 · std 0.011 · min … max …"


@dataclass
class KernelData:
    layer: str
    title: str
    image: np.ndarray | None  # H×W×3 uint8 tiles (gaps white), or None when the layer has no kernels
    note: str = ""
    page: tuple[int, int] = (0, 0)
    pages: tuple[int, int] = (1, 1)
    histogram: Histogram | None = None


@dataclass
class FieldData:
    """The receptive field of one unit on the model's input: the theoretical box and the effective field."""

    layer: str
    unit: tuple[int, int, int]
    value: float
    box: Box  # clipped to the input
    unclipped: Box
    text: str  # "size 11×11 · stride 4×4 · padding 0×0"
    erf: np.ndarray | None  # H×W uint8 heatmap of |∂unit/∂input|
    erf_box: Box | None  # bounding box of its non-zero support


@dataclass
class LabView:
    """One refresh of the lab: the input, the selected layer's feature maps (or why there are none)."""

    input: InputData
    layer: str
    mosaic: MosaicData | None
    message: str = ""  # why there is no mosaic
    kernels: KernelData | None = None


@dataclass
class ToolResult:
    """A picture made by one of the tools (deconvnet, guided backprop, occlusion, top-9, Grad-CAM, box and class
    maps)."""

    tool: str
    title: str
    images: list[tuple[str, np.ndarray]]  # (caption, H×W×3 uint8)
    note: str = ""
    complete: bool = True
    scales: dict = field(default_factory=dict)  # image i → (low, high, colour map name, label): its colour bar
    choices: list[tuple[str, int]] = field(default_factory=list)  # box and class maps: what else can be explained
    chosen: int = -1  # the choice explained
