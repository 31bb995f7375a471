"""What an analysis found (``ModelSummary``), and the numbers and arithmetic read from it.

No torch here: a summary read back from the analysis cache (``summary_from_entry``) is printed and drawn
(``cnn-explorer summary``, ``graph``, ``figure``) without importing it. ``summary.analyze`` makes one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from cnn_explorer.models.analysis.layer_graph import LayerGraph, Node
from cnn_explorer.models.analysis.ops import WEIGHT_LAYERS, pair
from cnn_explorer.models.analysis.receptive_field import Field

if TYPE_CHECKING:  # pragma: no cover
    from torch import nn


@dataclass
class ModelSummary:
    model: str
    input_shape: tuple  # (N, C, H, W); one shape for each input of a model with several
    weights: str  # "pretrained", "random" or "file:PATH"
    graph: LayerGraph
    total_params: int
    trainable_params: int
    total_macs: int
    activation_bytes: int
    seconds: float
    cached: bool = False  # read from the analysis cache rather than recorded now

    @property
    def layers(self) -> list[Node]:
        return [n for n in self.graph.nodes if n.kind != "input"]

    def to_json(self) -> dict:
        return {
            "model": self.model,
            "input_shape": [list(s) for s in self.input_shape] if self.input_shape and not is_shape(self.input_shape)
            else list(self.input_shape),
            "weights": self.weights,
            "total_params": self.total_params,
            "trainable_params": self.trainable_params,
            "total_macs": self.total_macs,
            "activation_bytes": self.activation_bytes,
            "layers": [layer_json(n) for n in self.layers],
        }


def is_shape(value) -> bool:
    """True for one shape, ``(1, 3, 224, 224)``; False for a list of shapes, ``[(1, 1, 88, 88), (1, 1, 88, 88)]``."""
    return isinstance(value, (tuple, list)) and all(isinstance(d, int) for d in value)  # torch.Size is a tuple


def weight_layer_depth(graph: LayerGraph) -> int:
    """The depth the papers quote: convolutional and fully connected layers on the longest path from the
    input (GoogLeNet's 22, ResNet-152's 152). Parallel branches, such as a shortcut's projection, do not
    add to it."""
    depth: dict[int, int] = {}
    for node in graph.nodes:
        before = max((depth[i] for i in node.inputs), default=0)
        depth[node.id] = before + (node.op in WEIGHT_LAYERS)
    return max(depth.values(), default=0)


def layer_json(node: Node) -> dict:
    rf = node.receptive_field
    return {
        "name": node.name,
        "type": node.op,
        "output_shape": list(node.output_shape) if node.output_shape is not None else None,
        "params": node.params,
        "macs": node.macs,
        "receptive_field": rf.to_dict() if isinstance(rf, Field) else rf,
    }


# -- the arithmetic a teacher writes on the board ------------------------------------------------------

def shape_arithmetic(node: Node, input_shape) -> list[str]:
    """How the output size of a convolution or pooling follows from its input, one line per axis that differs
    (one line when both agree), e.g. ``(227 − 11 + 2·0)/4 + 1 = 55``."""
    s = node.settings
    if "kernel_size" not in s or "stride" not in s or input_shape is None or len(input_shape) != 4 \
            or node.output_shape is None or len(node.output_shape) != 4:
        return []
    k, st, p, d = pair(s["kernel_size"]), pair(s["stride"]), pair(s.get("padding", 0)), pair(s.get("dilation", 1))
    lines = []
    for axis in range(2):
        size_in, size_out = input_shape[2 + axis], node.output_shape[2 + axis]
        k_eff = d[axis] * (k[axis] - 1) + 1
        kernel = str(k_eff) if d[axis] == 1 else f"({d[axis]}·({k[axis]} − 1) + 1)"
        numerator = size_in - k_eff + 2 * p[axis]
        fraction = f"({size_in} − {kernel} + 2·{p[axis]})/{st[axis]}"
        if numerator % st[axis]:
            fraction = f"⌈{fraction}⌉" if s.get("ceil_mode") else f"⌊{fraction}⌋"
        lines.append(f"{fraction} + 1 = {size_out}")
    return lines[:1] if lines[0] == lines[1] else lines


def param_arithmetic(node: Node, module: nn.Module | None = None) -> str:
    """How the parameter count of a node is made, e.g. ``11·11·3·96 + 96 = 34,944``."""
    s = node.settings
    if not node.params:
        return "0"
    if node.op in ("Conv2d", "conv2d") and "kernel_size" in s:
        kh, kw = pair(s["kernel_size"])
        groups = s.get("groups", 1)
        c_in = f"{s['in_channels']}/{groups}" if groups > 1 else f"{s['in_channels']}"
        weights = kh * kw * s["in_channels"] // groups * s["out_channels"]
        text = f"{kh}·{kw}·{c_in}·{s['out_channels']}"
        if node.params > weights:
            text += f" + {s['out_channels']}"
        return f"{text} = {node.params:,}"
    if node.op == "Linear":
        text = f"{s['in_features']}·{s['out_features']}"
        if node.params > s["in_features"] * s["out_features"]:
            text += f" + {s['out_features']}"
        return f"{text} = {node.params:,}"
    if node.op.startswith("BatchNorm") and "num_features" in s:
        return f"2·{s['num_features']} = {node.params:,}"
    if module is not None:
        parts = ["·".join(str(d) for d in p.shape) or "1" for p in module.parameters(recurse=False)]
        if parts:
            return f"{' + '.join(parts)} = {node.params:,}"
    return f"{node.params:,}"


def summary_from_entry(entry: dict) -> ModelSummary:
    """The summary an analysis cache entry holds (``loader.cache_entry`` wrote it)."""
    data = entry["summary"]
    return ModelSummary(model=data["model"], input_shape=tuple(data["input_shape"]), weights=data["weights"],
                        graph=LayerGraph.from_dict(entry["graph"]), total_params=data["total_params"],
                        trainable_params=data["trainable_params"], total_macs=data["total_macs"],
                        activation_bytes=data["activation_bytes"], seconds=entry["seconds"], cached=True)
