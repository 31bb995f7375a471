"""Receptive fields on the image: the theoretical box of a unit, from the core's numbers, and the effective
receptive field (Luo, Li, Urtasun & Zemel, "Understanding the Effective Receptive Field in Deep CNNs", 2016).

The box: the unit at (y, x) of a map whose field is (size r, stride s, padding p) per axis sees input rows
``-p + y·s`` to ``-p + y·s + r - 1`` (``models.receptive_field``). Its centre is ``Field.center``. Boxes
here are half-open, (top, left, bottom, right), and are clipped to the image for drawing; the unclipped box
is kept as well, since a padded unit's field reaches past the border.

The effective field: |∂ unit / ∂ input| summed over the input channels, as a heatmap over the input, computed
with Captum's ``NeuronGradient``, and the bounding box of its non-zero support (always inside the theoretical
box: outside it, the gradient is exactly zero).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from cnn_explorer.models.analysis.receptive_field import GLOBAL, Field
from cnn_explorer.models.lab.activations import LabModel, field_or_error, require_unit
from cnn_explorer.models.lab.errors import LabError
from cnn_explorer.models.lab.hooks import module_for, no_inplace
from cnn_explorer.models.lab.preprocess import Prepared


@dataclass(frozen=True)
class Box:
    """A half-open box in input pixels: rows top..bottom-1, columns left..right-1."""

    top: int
    left: int
    bottom: int
    right: int

    @property
    def height(self) -> int:
        return self.bottom - self.top

    @property
    def width(self) -> int:
        return self.right - self.left

    def clipped(self, height: int, width: int) -> "Box":
        return Box(max(0, self.top), max(0, self.left), min(height, self.bottom), min(width, self.right))

    def contains(self, other: "Box") -> bool:
        return (self.top <= other.top and self.left <= other.left and other.bottom <= self.bottom
                and other.right <= self.right)

    def to_list(self) -> list[int]:
        return [self.top, self.left, self.bottom, self.right]

    def to_dict(self) -> dict:
        return {"top": self.top, "left": self.left, "bottom": self.bottom, "right": self.right}


def field_box(field: Field | str, unit: tuple[int, int], image_size: tuple[int, int]) -> tuple[Box, Box]:
    """(unclipped, clipped) box of the unit at (y, x) whose layer has ``field``, on an input of
    ``image_size`` (H, W). A global field covers the whole image."""
    height, width = image_size
    if field == GLOBAL:
        whole = Box(0, 0, height, width)
        return whole, whole
    if not isinstance(field, Field):
        raise LabError("this layer has no receptive field of the (size, stride, padding) form")
    y, x = unit
    top = -field.padding[0] + y * field.stride[0]
    left = -field.padding[1] + x * field.stride[1]
    box = Box(top, left, top + field.size[0], left + field.size[1])
    return box, box.clipped(height, width)


@dataclass
class FieldResult:
    layer: str
    unit: tuple[int, int, int]
    field: dict | str  # the core's numbers: {"size", "stride", "padding"} or "global"
    box: Box  # unclipped, input pixels
    clipped: Box  # clipped to the input
    center: tuple[float, float]  # Field.center, input pixels (row, column)
    original_box: tuple[float, float, float, float]  # the clipped box in the original image's pixels

    def to_json(self) -> dict:
        return {"layer": self.layer, "unit": list(self.unit), "field": self.field, "box": self.clipped.to_dict(),
                "box_unclipped": self.box.to_dict(), "center": list(self.center),
                "box_in_original": [round(v, 2) for v in self.original_box]}


def receptive_field(lab: LabModel, image: np.ndarray | Prepared, layer: str, unit: tuple[int, int, int]) -> FieldResult:
    """The theoretical receptive field of unit (c, y, x) of ``layer`` on ``image``'s input."""
    prepared = lab.prepare(image)
    node = lab.node(prepared, layer)
    c, y, x = require_unit(node, unit)
    field = field_or_error(node)
    box, clipped = field_box(field, (y, x), prepared.size)
    if isinstance(field, Field):
        center = field.center((y, x))
    else:
        center = ((prepared.size[0] - 1) / 2, (prepared.size[1] - 1) / 2)
    field_data = field.to_dict() if isinstance(field, Field) else field
    return FieldResult(layer, (c, y, x), field_data, box, clipped, tuple(float(v) for v in center),
                       prepared.to_original((clipped.top, clipped.left, clipped.bottom, clipped.right)))


@dataclass
class EffectiveField:
    layer: str
    unit: tuple[int, int, int]
    heatmap: np.ndarray  # H×W float32: |∂ unit / ∂ input| summed over channels
    support: Box | None  # bounding box of the non-zero gradient (None when it is zero everywhere)
    theoretical: Box  # the clipped theoretical box

    def to_json(self) -> dict:
        return {"layer": self.layer, "unit": list(self.unit), "shape": list(self.heatmap.shape),
                "max": float(self.heatmap.max()),
                "bbox": self.support.to_dict() if self.support else None,
                "theoretical_box": self.theoretical.to_dict()}


def nonzero_box(values: np.ndarray) -> Box | None:
    rows = np.flatnonzero(values.any(axis=1))
    cols = np.flatnonzero(values.any(axis=0))
    if rows.size == 0:
        return None
    return Box(int(rows[0]), int(cols[0]), int(rows[-1]) + 1, int(cols[-1]) + 1)


def input_gradient(lab: LabModel, prepared: Prepared, layer: str, unit: tuple[int, int, int]) -> torch.Tensor:
    """∂ unit / ∂ input (1×C×H×W) through Captum's ``NeuronGradient``."""
    from captum.attr import NeuronGradient

    graph = lab.graph(prepared)
    node = lab.node(prepared, layer)
    unit = require_unit(node, unit)
    module = module_for(lab.model, graph, node)
    x = prepared.tensor.to(lab.device).clone().requires_grad_(True)
    with no_inplace(lab.model):
        return NeuronGradient(lab.model, module).attribute(x, neuron_selector=unit).detach()


def effective_receptive_field(lab: LabModel, image: np.ndarray | Prepared, layer: str,
                              unit: tuple[int, int, int]) -> EffectiveField:
    """The effective receptive field of unit (c, y, x) of ``layer`` for ``image`` (module docstring)."""
    prepared = lab.prepare(image)
    field = receptive_field(lab, prepared, layer, unit)
    gradient = input_gradient(lab, prepared, layer, field.unit)
    heatmap = gradient[0].abs().sum(0).float().cpu().numpy()
    return EffectiveField(layer, field.unit, np.ascontiguousarray(heatmap), nonzero_box(heatmap), field.clipped)
