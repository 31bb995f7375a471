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

from cnn_explorer.models.analysis.layer_graph import LayerGraph, Node
from cnn_explorer.models.analysis.ops import ADAPTIVE_POOL, PADS, UPSAMPLING, pair

GLOBAL = "global"


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


def _union(fields: list[Field]) -> Field:
    size, stride, padding = [], [], []
    for axis in range(2):
        left = min(-f.padding[axis] for f in fields)
        right = max(-f.padding[axis] + f.size[axis] - 1 for f in fields)
        size.append(right - left + 1)
        stride.append(max(f.stride[axis] for f in fields))
        padding.append(-left)
    return Field(tuple(size), tuple(stride), tuple(padding))


def _spatial(value):
    """A kernel setting's height and width: a 3-D pooling's (D, H, W) has them last (an ONNX file's LRN pools
    over channels as a 3-D average pool of kernel (n, 1, 1))."""
    return pair(tuple(value[-2:])) if isinstance(value, (tuple, list)) and len(value) > 2 else pair(value)


def _through_kernel(field: Field, kernel, stride, padding, dilation) -> Field:
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = _spatial(kernel), _spatial(stride), _spatial(padding), _spatial(dilation)
    (rh, rw), (jh, jw), (qh, qw) = field.size, field.stride, field.padding
    return Field(size=(rh + dh * (kh - 1) * jh, rw + dw * (kw - 1) * jw), stride=(jh * sh, jw * sw),
                 padding=(qh + ph * jh, qw + pw * jw))


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


def _permuted_axes(node: Node, axes: tuple[int, int], in_ndim: int) -> tuple[int, int] | None:
    dims = node.settings.get("dims")
    if not dims or len(dims) != in_ndim:
        return None
    dims = [d % in_ndim for d in dims]
    return tuple(dims.index(a % in_ndim) - in_ndim for a in axes)


def _sizes(shape, axes) -> tuple[int, int] | None:
    """Height and width of a feature map; ``axes`` count from the end, so a map keeps them with or
    without its batch dimension. None when ``shape`` is no longer a map (flattened)."""
    if shape is None or axes is None or len(shape) < max(3, -min(axes)):
        return None
    return tuple(shape[a] for a in axes)


def node_field(node: Node, inputs: list[tuple[Node, object, tuple[int, int] | None]]):
    """The field of ``node``, and the axes of its output (from the end) that are the image's height and width.

    ``inputs`` holds, for each input node, (node, field, spatial axes)."""
    if node.kind == "input":
        shape = node.output_shape
        return (IDENTITY, (-2, -1)) if shape is not None and len(shape) in (3, 4) else (None, None)
    if not inputs:
        return None, None
    fields = [f for _, f, _ in inputs]
    if any(f == GLOBAL for f in fields):
        return GLOBAL, None
    if any(f is None for f in fields):
        return None, None
    maps = [(n, f, axes) for n, f, axes in inputs if axes is not None]
    if not maps:
        return GLOBAL, None
    first, first_field, axes = maps[0]
    in_hw = _sizes(first.output_shape, axes)
    op, s = node.op, node.settings
    if op in ("Permute", "permute"):
        new_axes = _permuted_axes(node, axes, len(first.output_shape))
        return (first_field, new_axes) if new_axes else (GLOBAL, None)
    if "kernel_size" in s and "stride" in s and op not in UPSAMPLING:
        return _through_kernel(first_field, s["kernel_size"], s["stride"], s.get("padding", 0),
                               s.get("dilation", 1)), axes
    if op in PADS:
        return _through_pad(first_field, s.get("pad", s.get("padding", 0))), axes
    out_hw = _sizes(node.output_shape, axes)
    if out_hw is None:
        return GLOBAL, None  # the map is gone (flatten): whatever follows mixes all of it
    if out_hw == in_hw:
        same = [f for n, f, a in maps if _sizes(n.output_shape, a) == out_hw]
        return (_union(same), axes) if len(same) == len(maps) else (None, None)
    if out_hw == (1, 1):
        return GLOBAL, None  # global pooling or reduction
    if op in ADAPTIVE_POOL and all(o <= i for o, i in zip(out_hw, in_hw)):
        return _adaptive(first_field, in_hw, out_hw), axes
    return None, None  # resized by upsampling or an operation of unknown geometry


def compute_receptive_fields(graph: LayerGraph) -> None:
    """Fill ``node.receptive_field`` for every node of ``graph`` (nodes are in execution order)."""
    axes: dict[int, tuple[int, int] | None] = {}
    for node in graph.nodes:
        inputs = [(graph.nodes[i], graph.nodes[i].receptive_field, axes[i]) for i in node.inputs]
        node.receptive_field, axes[node.id] = node_field(node, inputs)
