"""Theoretical receptive fields of every node of a layer graph, after Araujo, Norris & Sim (Distill 2019).

A field is given per axis (height, width) as (size, effective stride, effective padding): the unit at index
``i`` of a feature map sees the input pixels from ``-padding + i·stride`` to that plus ``size - 1``.

* A convolution or pooling with kernel k, stride s, padding p and dilation d maps (r, j, q) to
  (r + d·(k-1)·j, j·s, q + p·j).
* Where paths merge (add, mul, cat ...) the field is the union of the fields of the paths.
* Global pooling, and everything that is no longer a feature map (flatten, linear layers), sees the whole
  image: ``GLOBAL``. So does anything a global value is mixed into, as in squeeze-and-excitation.
* Upsampling (transposed convolutions, unpooling, interpolation to a larger map) has no field of this
  form: ``None``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .graph import LayerGraph, Node

GLOBAL = "global"

_PADS = {"ZeroPad2d", "ConstantPad2d", "ReflectionPad2d", "ReplicationPad2d", "pad"}
_UPSAMPLING = {"ConvTranspose2d", "MaxUnpool2d", "Upsample", "UpsamplingNearest2d", "UpsamplingBilinear2d",
               "PixelShuffle", "conv_transpose2d", "max_unpool2d"}
_GLOBAL_REDUCTIONS = {"mean", "sum", "amax", "max", "adaptive_avg_pool2d", "adaptive_max_pool2d", "std", "var"}


@dataclass(frozen=True)
class Field:
    size: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[int, int]

    def to_dict(self) -> dict:
        return {"size": list(self.size), "stride": list(self.stride), "padding": list(self.padding)}

    def center(self, index: tuple[int, int]) -> tuple[float, float]:
        """Centre, in input pixels, of the field of the unit at ``index`` (row, column)."""
        return tuple(-p + i * s + (r - 1) / 2 for r, s, p, i in zip(self.size, self.stride, self.padding, index))


IDENTITY = Field((1, 1), (1, 1), (0, 0))


def _pair(value) -> tuple[int, int]:
    if isinstance(value, (tuple, list)):
        return (int(value[0]), int(value[-1])) if len(value) <= 2 else (int(value[0]), int(value[1]))
    return (int(value), int(value))


def _spatial(shape) -> tuple[int, int] | None:
    return tuple(shape[2:]) if shape is not None and len(shape) == 4 else None


def _union(fields: list[Field]) -> Field:
    size, stride, padding = [], [], []
    for axis in range(2):
        left = min(-f.padding[axis] for f in fields)
        right = max(-f.padding[axis] + f.size[axis] - 1 for f in fields)
        size.append(right - left + 1)
        stride.append(max(f.stride[axis] for f in fields))
        padding.append(-left)
    return Field(tuple(size), tuple(stride), tuple(padding))


def _through_kernel(field: Field, kernel, stride, padding, dilation) -> Field:
    k, s, p, d = _pair(kernel), _pair(stride), _pair(padding), _pair(dilation)
    return Field(
        size=tuple(field.size[a] + d[a] * (k[a] - 1) * field.stride[a] for a in range(2)),
        stride=tuple(field.stride[a] * s[a] for a in range(2)),
        padding=tuple(field.padding[a] + p[a] * field.stride[a] for a in range(2)),
    )


def _through_pad(field: Field, pad) -> Field:
    # nn.ZeroPad2d and F.pad give (left, right, top, bottom); only the leading side moves the field.
    pad = tuple(pad) if isinstance(pad, (tuple, list)) else (pad,) * 4
    left, top = pad[0], (pad[2] if len(pad) >= 4 else 0)
    return Field(field.size, field.stride,
                 (field.padding[0] + top * field.stride[0], field.padding[1] + left * field.stride[1]))


def _adaptive(field: Field, in_hw, out_hw) -> Field:
    # The widest bin of an adaptive pool, and the step between bins.
    kernel = tuple(math.ceil(i / o) + (0 if i % o == 0 else 1) for i, o in zip(in_hw, out_hw))
    stride = tuple(max(i // o, 1) for i, o in zip(in_hw, out_hw))
    return _through_kernel(field, kernel, stride, 0, 1)


def node_field(node: Node, inputs: list[tuple[Node, object]]):
    """The field of ``node`` given its input nodes and their fields."""
    if node.kind == "input":
        return IDENTITY if _spatial(node.output_shape) else None
    if not inputs:
        return None
    fields = [f for _, f in inputs]
    if any(f == GLOBAL for f in fields):
        return GLOBAL
    if any(f is None for f in fields):
        return None
    out_hw = _spatial(node.output_shape)
    if out_hw is None:
        return GLOBAL  # no longer a feature map: every output mixes the whole map
    maps = [(n, f) for n, f in inputs if _spatial(n.output_shape)]
    if not maps:
        return None
    in_hw = _spatial(maps[0][0].output_shape)
    s = node.settings
    op = node.op
    if op in _UPSAMPLING:
        return None
    if op in ("AdaptiveAvgPool2d", "AdaptiveMaxPool2d", "adaptive_avg_pool2d", "adaptive_max_pool2d") \
            or op in _GLOBAL_REDUCTIONS:
        if out_hw == (1, 1) and in_hw != (1, 1) or op in _GLOBAL_REDUCTIONS and out_hw == (1, 1):
            return GLOBAL
        return _adaptive(maps[0][1], in_hw, out_hw)
    if "kernel_size" in s and "stride" in s:
        return _through_kernel(maps[0][1], s["kernel_size"], s["stride"], s.get("padding", 0), s.get("dilation", 1))
    if op in _PADS:
        return _through_pad(maps[0][1], s.get("pad", s.get("padding", 0)))
    same_size = [f for n, f in maps if _spatial(n.output_shape) == out_hw]
    if not same_size:
        return None  # resized by an operation whose geometry is not known (e.g. interpolate up)
    if len(same_size) < len(maps):
        # A map of another size mixed in (a broadcast 1×1 scale is global and handled above).
        return None
    return _union(same_size)


def compute_receptive_fields(graph: LayerGraph) -> None:
    """Fill ``node.receptive_field`` for every node of ``graph`` (nodes are in execution order)."""
    for node in graph.nodes:
        inputs = [(graph.nodes[i], graph.nodes[i].receptive_field) for i in node.inputs]
        node.receptive_field = node_field(node, inputs)
